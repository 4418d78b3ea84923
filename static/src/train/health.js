/**
 * A training record's `health` and `params` (docs/api.md, POST /train) → marks on graph nodes:
 * ReLU nodes with dead units, saturated sigmoid/tanh nodes, and parameters whose update ratio
 * |θ(s) − θ(s−1)| / |θ(s−1)| is more than ten times away from 1e-3. Each mark has a short text
 * for the node's card, worded to stay the same from record to record (redrawing the graph's text
 * every frame of a run costs a repaint of the whole graph), and a sentence with the numbers for
 * the inspector. Pure: no DOM.
 */

/** A ReLU node is marked when at least this share of its units is dead (0 for every row). */
export const DEAD_SHARE = 0.5;
/** A sigmoid/tanh node is marked when at least this share of its outputs sits at a bound. */
export const SATURATED_SHARE = 0.5;
/** The rule of thumb for a healthy step: the update moves a parameter by about 1e-3 of its size. */
export const HEALTHY_UPDATE_RATIO = 1e-3;
/** Marked when the ratio is more than this factor above or below 1e-3. */
export const UPDATE_RATIO_FACTOR = 10;

const percent = (share) => `${Math.round(share * 100)}%`;

function shortNumber(value) {
  return value >= 0.01 && value < 1000 ? value.toPrecision(2) : value.toExponential(1);
}

function unitCount(node) {
  return node && node.shape && node.shape.length ? node.shape[node.shape.length - 1] : 1;
}

/**
 * marks: Map(node id → [{kind, card, detail}]) for one record.
 * `paramNodes` maps parameter names to their node ids (the `start` line's params[name].node);
 * `nodes` (optional) are the graph's nodes, for unit counts in the explanations.
 */
export function healthMarks(record, paramNodes, nodes = []) {
  const marks = new Map();
  const add = (id, mark) => {
    if (!marks.has(id)) marks.set(id, []);
    marks.get(id).push(mark);
  };
  for (const [key, health] of Object.entries((record && record.health) || {})) {
    const id = Number(key);
    const node = nodes[id];
    if (typeof health.dead === 'number' && health.dead >= DEAD_SHARE) {
      const units = unitCount(node);
      add(id, {
        kind: 'dead',
        card: `dead ${percent(health.dead)}`,
        detail: `${percent(health.dead)} of its ${units} units output 0 for every row of step ${record.step}'s batch: `
          + 'no gradient flows back through them, so the weights feeding them stop learning. '
          + 'A large negative bias or a too-high learning rate does this; a lower lr or another initialization helps.',
      });
    }
    if (typeof health.saturated === 'number' && health.saturated >= SATURATED_SHARE) {
      add(id, {
        kind: 'saturated',
        card: `saturated ${percent(health.saturated)}`,
        detail: `${percent(health.saturated)} of its outputs are within 0.01 of the function's bounds at step ${record.step}: `
          + 'there the local derivative is almost 0 and the gradient vanishes. Smaller weights or inputs bring it back to its slope.',
      });
    }
  }
  for (const [name, stats] of Object.entries((record && record.params) || {})) {
    const id = paramNodes[name];
    const ratio = stats.update_ratio;
    if (id === undefined || typeof ratio !== 'number') continue;
    const factor = ratio / HEALTHY_UPDATE_RATIO;
    if (ratio === 0) {
      add(id, {
        kind: 'update-ratio',
        card: 'no update',
        detail: `step ${record.step} left ${name} unchanged: its gradient is 0 (is everything upstream of it dead?), `
          + 'so it cannot learn.',
      });
    } else if (factor > UPDATE_RATIO_FACTOR) {
      add(id, {
        kind: 'update-ratio',
        card: 'updates too large',
        detail: `step ${record.step} changed ${name} by ${shortNumber(ratio)} of its size, ${Math.round(factor)}× the healthy 1e-3: `
          + 'steps this large make the loss jump or diverge; a lower learning rate shrinks them.',
      });
    } else if (factor < 1 / UPDATE_RATIO_FACTOR) {
      add(id, {
        kind: 'update-ratio',
        card: 'updates too small',
        detail: `step ${record.step} changed ${name} by ${shortNumber(ratio)} of its size, ${Math.round(1 / factor)}× below the healthy 1e-3: `
          + `${name} is hardly learning; a higher learning rate (or a gradient that is not vanishing upstream) would move it.`,
      });
    }
  }
  return marks;
}

/** The parameter name → node id map of a `start` line. */
export function paramNodesOf(start) {
  return Object.fromEntries(Object.entries((start && start.params) || {}).map(([name, info]) => [name, info.node]));
}

/** A key that changes exactly when the marks drawn on the graph would change. */
export function marksKey(marks) {
  return Array.from(marks, ([id, list]) => `${id}:${list.map((mark) => mark.card).join('|')}`).join(';');
}
