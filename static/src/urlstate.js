/**
 * The view's state in the URL hash, so a copied link reopens the same program, inputs, step and
 * selected node: #e=<program>&i=<inputs JSON>&g=<grad_output JSON>&s=<step>&n=<node>.
 * Pure encode/decode; main.js reads location.hash and calls history.replaceState.
 */

/** State → hash string (with its leading '#'). Empty fields are left out. */
export function encodeState({ expression, inputs, gradOutput, step, node }) {
  const params = new URLSearchParams();
  params.set('e', expression);
  params.set('i', inputs);
  if (gradOutput && gradOutput.trim() && gradOutput.trim() !== 'null') params.set('g', gradOutput);
  if (Number.isInteger(step)) params.set('s', String(step));
  if (Number.isInteger(node)) params.set('n', String(node));
  return `#${params.toString()}`;
}

/** Hash → state, or null when the hash holds no program. Bad numbers are dropped, not guessed. */
export function decodeState(hash) {
  const params = new URLSearchParams(String(hash || '').replace(/^#/, ''));
  if (!params.has('e')) return null;
  return {
    expression: params.get('e'),
    inputs: params.get('i') ?? '{}',
    gradOutput: params.get('g') ?? '',
    step: parseIndex(params.get('s')),
    node: parseIndex(params.get('n')),
  };
}

function parseIndex(text) {
  if (text === null || !/^\d+$/.test(text)) return null;
  return Number(text);
}
