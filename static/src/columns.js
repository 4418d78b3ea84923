/**
 * The column layout of a graph response (`?format=columns`, docs/api.md "Large responses") turned
 * back into the object layout that the rest of the UI reads. No DOM, no fetch: api.js calls it.
 *
 * Why the UI asks for columns at all: a 40,000-step timeline is about a third of the bytes
 * (no field names per step, each formula text once), so it arrives and parses sooner; building
 * the objects here costs less than JSON.parse spent on the object layout's field names
 * (bench/ui_columns.py measures both).
 */

/** The object layout of `body`; a body that is not in the column layout is answered as it is. */
export function fromColumns(body) {
  if (!body || body.format !== 'columns') return body;
  const { nodes: columns, steps: stepColumns, formulas, format: _format, ...rest } = body;
  return { nodes: nodeObjects(columns), output: rest.output, forward: rest.forward, steps: stepObjects(body.forward, stepColumns, formulas), ...rest };
}

function nodeObjects(columns) {
  const { op, name, label, shape, value, grad, inputs, params } = columns;
  const { line, column, end_line: endLine, end_column: endColumn } = columns.span;
  const groups = columns.group || null;
  const nodes = new Array(op.length);
  for (let i = 0; i < op.length; i += 1) {
    const node = {
      id: i, op: op[i], name: name[i], label: label[i], shape: shape[i], value: value[i], grad: grad[i],
      inputs: inputs[i], span: { line: line[i], column: column[i], end_line: endLine[i], end_column: endColumn[i] },
    };
    // The object layout leaves these keys out where the column holds null.
    if (params[i] !== null) node.params = params[i];
    if (groups !== null && groups[i] !== null) node.group = groups[i];
    nodes[i] = node;
  }
  return nodes;
}

/** The forward steps are `forward`'s ids in order; the columns hold the backward steps. */
function stepObjects(forward, columns, formulas) {
  const { node, input, slot, upstream, contribution, accumulated, summed_axes: summedAxes } = columns;
  const { formula, value } = columns.local;
  const steps = new Array(forward.length + node.length);
  for (let i = 0; i < forward.length; i += 1) steps[i] = { phase: 'forward', node: forward[i] };
  for (let i = 0, at = forward.length; i < node.length; i += 1, at += 1) {
    steps[at] = {
      phase: 'backward', node: node[i], input: input[i], slot: slot[i], upstream: upstream[i],
      local: { formula: formulas[formula[i]], value: value[i] },
      contribution: contribution[i], accumulated: accumulated[i], summed_axes: summedAxes[i],
    };
  }
  return steps;
}
