import { mountViewer } from './viewer.js';

/**
 * The notebook widget's front end (anywidget's ES module; chainlens/widget.py is its Python side):
 * the viewer mounted in the output cell (in its own shadow root: neither the notebook's styles
 * reach it nor its own reach the notebook), computing through the kernel instead of a server.
 *
 * compute(path, request) sends the kernel {type: "compute", id, path, body: JSON text}; the kernel
 * answers {type: "answer", id, status, body: JSON text}: what the HTTP route answers for the same
 * path (query string included: the viewer asks graphs in the column layout) and request, 4xx
 * errors included (chainlens/messages.py). The widget's own graph body is in the column layout too.
 */
// A kernel that never answers (stopped, restarted, or a notebook opened without one): the request
// fails with this message instead of leaving the viewer waiting.
const KERNEL_TIMEOUT_MS = 120_000;

/** JSON text's value; null for none or for text that is not JSON. */
function parsed(text) {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

function kernelError(status, body) {
  const detail = body && body.error ? body
    : { error: { kind: 'http', message: `The kernel answered ${status}.` } };
  const error = new Error(detail.error.message);
  error.status = status;
  error.detail = detail;
  error.error = detail.error;
  return error;
}

/** The viewer's compute function over the widget's messages, and `close` to stop listening. */
export function kernelCompute(model, timeoutMs = KERNEL_TIMEOUT_MS) {
  let next = 0;
  const pending = new Map();
  const settle = (id) => {
    const waiting = pending.get(id);
    pending.delete(id);
    clearTimeout(waiting.timer);
    return waiting;
  };
  const onMessage = (message) => {
    if (!message || message.type !== 'answer' || !pending.has(message.id)) return;
    const { resolve, reject } = settle(message.id);
    const body = parsed(message.body);
    if (message.status >= 200 && message.status < 300 && body) resolve(body);
    else reject(kernelError(message.status, body));
  };
  model.on('msg:custom', onMessage);

  const compute = (path, request) => new Promise((resolve, reject) => {
    next += 1;
    const id = next;
    const timer = setTimeout(() => {
      settle(id);
      reject(kernelError(0, { error: { kind: 'network',
        message: 'The Python kernel did not answer: is it still running? Run the cell again to reconnect.' } }));
    }, timeoutMs);
    pending.set(id, { resolve, reject, timer });
    model.send({ type: 'compute', id, path: String(path), body: JSON.stringify(request ?? {}) });
  });

  const close = () => {
    model.off('msg:custom', onMessage);
    for (const id of [...pending.keys()]) {
      settle(id).reject(kernelError(0, { error: { kind: 'network', message: 'The widget was closed.' } }));
    }
  };
  return { compute, close };
}

function render({ model, el }) {
  const host = document.createElement('div');
  host.className = 'chainlens-widget';
  // JupyterLab's shortcuts (arrows, j/k, space, a/b/x/d...) would act on the notebook while the
  // viewer has focus: Lumino skips this subtree, and a keydown the viewer leaves stops here in
  // any other host.
  host.setAttribute('data-lm-suppress-shortcuts', 'true');
  host.addEventListener('keydown', (event) => event.stopPropagation());
  el.appendChild(host);

  const kernel = kernelCompute(model);
  const height = () => `${model.get('height')}px`;
  const viewer = mountViewer(host, {
    body: parsed(model.get('body')),
    request: model.get('request'),
    compute: kernel.compute,
    height: height(),
    torchGrads: parsed(model.get('torch_grads')),
    ops: parsed(model.get('ops'))?.ops ?? null,
  });
  // Viewer.show(...) in Python: another graph, with its own PyTorch gradients (or none).
  const update = () => viewer.setBody(parsed(model.get('body')), model.get('request'),
    { torchGrads: parsed(model.get('torch_grads')) });
  const resize = () => {
    for (const holder of host.children) holder.style.height = height();
  };
  model.on('change:body', update);
  model.on('change:height', resize);
  return () => {
    model.off('change:body', update);
    model.off('change:height', resize);
    kernel.close();
    viewer.destroy();
  };
}

export default { render };
