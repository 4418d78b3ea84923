/**
 * The break-it view's two timelines: the correct backward pass and the replayed mistake, side by
 * side, matched edge by edge, with the first step where they part. Pure; panel.js draws it.
 */
import { edgeKey } from '../stepper.js';
import { formatValueShort } from '../tensor.js';

export const MISTAKES = {
  'naive-recursion': 'the recursive backward (re-sends accumulated gradients)',
  overwrite: 'the overwriting backward (= instead of +=)',
};

/** The backward steps of a response as rows: {index (into steps), key, text}. */
export function backwardRows(response) {
  // Once per response: the panel asks at every step of a break-it replay.
  if (!rowsOf.has(response)) rowsOf.set(response, readRows(response));
  return rowsOf.get(response);
}
const rowsOf = new WeakMap();

function readRows(response) {
  const rows = [];
  response.steps.forEach((step, index) => {
    if (step.phase !== 'backward') return;
    const source = response.nodes[step.node];
    const target = response.nodes[step.input];
    rows.push({
      index,
      key: edgeKey(step.input, step.node, step.slot),
      text: `${source.label} → ${target.label}: ${formatValueShort(step.contribution, target.shape)}`,
      total: formatValueShort(step.accumulated, target.shape),
    });
  });
  return rows;
}

/**
 * Both timelines and where they stand at a replay position (as the stepper counts: p steps
 * applied, the current one is steps[p - 1]): the current replay row, the correct row of the same
 * edge, and the rows at and after the first departure.
 */
export function sideBySide(correct, replay, position) {
  const left = backwardRows(correct);
  const right = backwardRows(replay);
  const { first_step: firstStep, correct_step: correctStep } = replay.diverges;
  const current = replay.steps[position - 1];
  const currentRow = current && current.phase === 'backward' ? right.find((row) => row.index === position - 1) : null;
  const matching = currentRow ? left.find((row) => row.key === currentRow.key) : null;
  return {
    left: left.map((row) => ({ ...row, current: Boolean(matching && row.index === matching.index), parted: row.index === correctStep })),
    right: right.map((row) => ({
      ...row,
      current: Boolean(currentRow && row.index === currentRow.index),
      parted: row.index === firstStep,
      after: firstStep !== null && row.index > firstStep,
    })),
    atDeparture: firstStep !== null && position === firstStep + 1,
    departurePosition: firstStep === null ? null : firstStep + 1,
  };
}

/** Nodes whose replayed gradient is wrong, with the right one: [{id, label, wrong, right}]. */
export function wrongGradients(correct, replay) {
  return replay.nodes
    .filter((node) => replay.diverges.nodes[node.id])
    .map((node) => ({ id: node.id, label: node.label, wrong: node.grad, right: correct.nodes[node.id].grad, shape: node.shape }));
}
