/**
 * The notebook widget's compute function over anywidget's messages (widget.js mounts the viewer
 * with it; no DOM here, tests/ui/kernel-compute.test.js drives it with a fake model).
 *
 * compute(path, request) sends the kernel {type: "compute", id, path, body: the request's JSON
 * text} and settles the promise of that id when {type: "answer", id, status, body: JSON text}
 * comes back (chainlens/messages.py): resolved with the body for a 2xx, rejected with an Error
 * carrying `.status` and `.detail` (the 4xx body, `{"error": {...}}`) otherwise, as the viewer's
 * graphApi expects of any host. Answers to other ids and other messages are ignored.
 */

// A kernel that never answers (stopped, restarted, or a notebook opened without one): the request
// fails with this message instead of leaving the viewer waiting.
const KERNEL_TIMEOUT_MS = 120_000;

/** JSON text's value; null for none or for text that is not JSON. */
export function parsed(text) {
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
