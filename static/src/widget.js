import { kernelCompute, parsed } from './kernel-compute.js';
import { mountViewer } from './viewer.js';

/**
 * The notebook widget's front end (anywidget's ES module; chainlens/widget.py is its Python side):
 * the viewer mounted in the output cell (in its own shadow root: neither the notebook's styles
 * reach it nor its own reach the notebook), computing through the kernel instead of a server.
 *
 * compute(path, request) sends the kernel {type: "compute", id, path, body: JSON text}; the kernel
 * answers {type: "answer", id, status, body: JSON text}: what the HTTP route answers for the same
 * path (query string included: the viewer asks graphs in the column layout) and request, 4xx
 * errors included (chainlens/messages.py; kernel-compute.js). The widget's own graph body is in
 * the column layout too.
 */

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
