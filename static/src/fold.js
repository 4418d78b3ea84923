/**
 * Folding repeated structure: the unrolled steps of a recurrence (`h = tanh(h * w + b)` written
 * 200 times) or the layers of an MLP (`h1 = relu(x @ W1 + b1)`, `h2 = relu(h1 @ W2 + b2)`, also
 * opened into primitives) drawn as one box per repetition, opened on demand. Pure: no DOM. The
 * drawing side (boxes' controls, frames, the "now" marker) is fold-view.js.
 *
 * The detection rule (deterministic: only ids and the response's own fields are read):
 *
 * 1. Statements. Ids are creation order, so a statement's nodes are the id range that ends at
 *    its assigned (named) op node; the final unnamed expression is the last range. Inputs and
 *    constants fall in the range of their first use; an opened composite's primitives (`group`)
 *    all fall in the range of the call's statement.
 * 2. Signature of a block of consecutive statements: for each op node in id order, its op, its
 *    `params` (an index's key without its numbers: a loop's `X[t]`) and its rank, and for each
 *    operand either "the k-th op of this block" or "outside" with the operand's rank. Names, values and sizes are left out, so `h1 = relu(x @
 *    W1 + b1)` and `h2 = relu(h1 @ W2 + b2)` (100 and 200 units) match, and the first step of a
 *    recurrence (fed by the input h0) matches the others (fed by the step before).
 * 3. Runs. Scanning the statements in order, at each one the block length k (1..MAX_PERIOD
 *    statements) that covers the most statements with at least two equal blocks in a row wins
 *    (ties: the shorter block), with at least MIN_REPEATS blocks or two blocks of two ops or more
 *    (two MLP layers); every block must use an op node of the block before it (a chain,
 *    not just look-alike statements), and nothing outside a block may use one of its nodes
 *    before the block's last op (so a box can stand where that op stood: ids stay a topological
 *    order). The scan goes on after the run, or at the next statement if none starts here.
 * 4. Members. A block's fold holds its op nodes and the inputs/constants used only inside it
 *    where every block of the run has one in that operand place (per-step weights, literal
 *    constants); parameters shared across blocks (`w`, `b` of a recurrence) and a first block's
 *    own start (`h0`, where later blocks read the block before) stay outside, drawn once.
 *
 * A fold: {id, run, index, count, kind ('step' when the blocks share a parameter or reassign a
 * name, else 'layer'), title ("step 3 of 200"), source ("h = tanh(h * w + b)"), label (both),
 * nodes (member ids), ops (how many of them are ops), inputs (ids outside that members read,
 * first use first), outputs (members read outside, or the graph's output), output (the last op:
 * the box stands in its place)}.
 *
 * `foldedGraph` turns a response and the set of closed folds into the graph that is drawn: a
 * compact response for the layout (a box node per closed fold, edges rerouted to it), the ids
 * the drawing uses (a box keeps its output's id, every other node its own), and the maps that
 * translate a stepper view into those ids (`drawnView`) so a step still touches only what
 * changes.
 */
import { edgeKey } from './stepper.js';

/** The longest block tried, in statements (an LSTM cell written out is a handful of lines). */
export const MAX_PERIOD = 6;
/**
 * A run needs this many blocks, or two blocks of at least two ops each (two MLP layers): two
 * single-op statements in a row (`q = x * a; y = q * q`) are not a structure worth a box.
 */
export const MIN_REPEATS = 3;
/** Graphs open folded past this many nodes, or with a run of at least this many repetitions. */
export const FOLD_BY_DEFAULT = { nodes: 300, repetitions: 50 };

const LEAF_OPS = new Set(['input', 'constant']);
const isLeaf = (node) => LEAF_OPS.has(node.op);
const INFIX = { add: '+', sub: '-', mul: '*', div: '/', pow: '**', matmul: '@' };
/** The name a node was assigned to as written (names.js puts h₁, h₂ in `name`, the server's in `sourceLabel`). */
const writtenName = (node) => (node.name ? String(node.sourceLabel ?? node.name) : null);

/** Statement ranges [first, last] of ids; last is the statement's own (named) op node. */
export function statements(response) {
  const ranges = [];
  let first = 0;
  for (const node of response.nodes) {
    if (node.name && !isLeaf(node)) {
      ranges.push([first, node.id]);
      first = node.id + 1;
    }
  }
  // The final expression when it is not assigned: the ops after the last assignment.
  const rest = response.nodes.slice(first).filter((node) => !isLeaf(node));
  if (rest.length) ranges.push([first, response.nodes.length - 1]);
  return ranges;
}

/** Who reads each node: consumers[id] = [consumer ids] (ascending). */
function consumersOf(response) {
  const consumers = response.nodes.map(() => []);
  for (const node of response.nodes) {
    for (const source of node.inputs) {
      const list = consumers[source];
      if (list[list.length - 1] !== node.id) list.push(node.id);
    }
  }
  return consumers;
}

/** The op nodes of statements [s, s + k) in id order. */
function blockOps(response, ranges, s, k) {
  const ops = [];
  for (let i = s; i < s + k; i += 1) {
    const [first, last] = ranges[i];
    for (let id = first; id <= last; id += 1) if (!isLeaf(response.nodes[id])) ops.push(id);
  }
  return ops;
}

/** The block's signature (rule 2) and, per operand place, the operand's id. */
function signature(response, ops) {
  const index = new Map(ops.map((id, k) => [id, k]));
  const parts = [];
  const places = [];
  for (const id of ops) {
    const node = response.nodes[id];
    const operands = node.inputs.map((source) => {
      if (index.has(source)) return `#${index.get(source)}`;
      places.push(source);
      return `o${response.nodes[source].shape.length}`;
    });
    parts.push(`${node.op}${paramsSignature(node)}:${node.shape.length}(${operands.join(',')})`);
  }
  return { text: parts.join(' '), places };
}

/** A node's params as its signature reads them. An index's positions are left out (its key's
 * structure stays): the steps of a loop over `X[t]` read X at a different t each time. */
function paramsSignature(node) {
  if (!node.params) return '';
  if (node.op !== 'index' || !Array.isArray(node.params.key)) return JSON.stringify(node.params);
  const shape = (item) => (Array.isArray(item) ? item.map(shape) : typeof item === 'number' ? '#' : item);
  return JSON.stringify({ ...node.params, key: shape(node.params.key) });
}

/** Finds the folds of a response (see the rule above). `source`: the program text, for labels. */
export function findFolds(response, { source = null } = {}) {
  const lines = source ? source.split('\n') : null;
  const ranges = statements(response);
  const consumers = consumersOf(response);
  const cache = new Map();
  const block = (s, k) => {
    const key = `${s}:${k}`;
    if (!cache.has(key)) {
      const ops = blockOps(response, ranges, s, k);
      cache.set(key, { s, k, ops, ...signature(response, ops) });
    }
    return cache.get(key);
  };
  const chained = (before, after) => after.places.some((id) => !isLeaf(response.nodes[id]) && before.ops.includes(id));
  const folds = [];
  let s = 0;
  let run = 0;
  while (s < ranges.length) {
    let best = null;
    // A longer block can only win by covering more: stop once a run reaches the end.
    for (let k = 1; k <= MAX_PERIOD && s + 2 * k <= ranges.length && !(best && best.length * best[0].k >= ranges.length - s); k += 1) {
      const blocks = [block(s, k)];
      while (s + (blocks.length + 1) * k <= ranges.length) {
        const next = block(s + blocks.length * k, k);
        if (next.text !== blocks[0].text || !chained(blocks[blocks.length - 1], next)) break;
        blocks.push(next);
      }
      const repeated = blocks.length >= MIN_REPEATS || (blocks.length >= 2 && blocks[0].ops.length >= 2);
      if (repeated && (!best || blocks.length * k > best.length * best[0].k)) best = blocks;
    }
    const accepted = best && foldRun(response, consumers, best, run, lines);
    if (accepted) {
      for (const fold of accepted) folds.push({ ...fold, id: folds.length });
      run += 1;
      s += best.length * best[0].k;
    } else s += 1;
  }
  return folds;
}

/** The folds of one run of equal blocks (rule 4), or null if a block cannot stand as a box. */
function foldRun(response, consumers, blocks, run, lines) {
  const { nodes } = response;
  const placeCount = blocks[0].places.length;
  // Operand places where every block reads a leaf of its own: those leaves fold in.
  const ownPlace = [];
  for (let p = 0; p < placeCount; p += 1) {
    ownPlace.push(blocks.every((b) => {
      const id = b.places[p];
      return isLeaf(nodes[id]) && consumers[id].every((c) => b.ops.includes(c));
    }));
  }
  const shared = blocks[0].places.some((id, p) => !ownPlace[p] && isLeaf(nodes[id]) && blocks.every((b) => b.places[p] === id));
  const names = blocks.map((b) => b.ops.filter((id) => nodes[id].name).map((id) => writtenName(nodes[id])).join(','));
  const kind = shared || names.every((name) => name === names[0]) ? 'step' : 'layer';
  const folds = [];
  for (const [index, b] of blocks.entries()) {
    const members = new Set(b.ops);
    b.places.forEach((id, p) => { if (ownPlace[p]) members.add(id); });
    const output = b.ops[b.ops.length - 1];
    const memberIds = [...members].sort((x, y) => x - y);
    // A box standing for a single node hides nothing.
    if (memberIds.length < 2) return null;
    const outputs = [];
    for (const id of memberIds) {
      const outside = consumers[id].filter((c) => !members.has(c));
      // A box stands where its last op stood: nothing may read a member before that.
      if (outside.some((c) => c < output)) return null;
      if (outside.length || id === response.output) outputs.push(id);
    }
    const inputs = [];
    for (const id of memberIds) {
      for (const sourceId of nodes[id].inputs) {
        if (!members.has(sourceId) && !inputs.includes(sourceId)) inputs.push(sourceId);
      }
    }
    const title = `${kind} ${index + 1} of ${blocks.length}`;
    const text = statementText(response, b, lines);
    folds.push({ run, index: index + 1, count: blocks.length, kind, title, source: text, label: `${title}: ${text}`, nodes: memberIds, ops: b.ops.length, inputs, outputs, output });
  }
  return folds;
}

/** The block's statements as written ("h = tanh(h * w + b)"), from the program's lines when given. */
function statementText(response, b, lines) {
  const parts = [];
  for (const id of b.ops) {
    const node = response.nodes[id];
    if (!node.name) continue;
    const span = node.span;
    let text = null;
    if (lines && span && span.line === span.end_line && lines[span.line - 1]) {
      text = lines[span.line - 1].slice(span.column - 1, span.end_column - 1);
    }
    parts.push(`${writtenName(node)} = ${text || opText(response, node)}`);
  }
  if (!parts.length) parts.push(opText(response, response.nodes[b.ops[b.ops.length - 1]]));
  return parts.join('; ');
}

function opText(response, node) {
  const operand = (id) => {
    const operandNode = response.nodes[id];
    return String(operandNode.sourceLabel ?? operandNode.label ?? operandNode.name ?? operandNode.op);
  };
  if (INFIX[node.op] && node.inputs.length === 2) return `${operand(node.inputs[0])} ${INFIX[node.op]} ${operand(node.inputs[1])}`;
  return `${node.op}(${node.inputs.map(operand).join(', ')})`;
}

/** Whether a response opens folded: a big graph, or a long run of repetitions. */
export function foldedByDefault(response, folds) {
  if (!folds.length) return false;
  return response.nodes.length > FOLD_BY_DEFAULT.nodes || folds.some((fold) => fold.count >= FOLD_BY_DEFAULT.repetitions);
}

/** The fold holding a node, by id (null when none). */
export function foldIndex(response, folds) {
  const owner = new Int32Array(response.nodes.length).fill(-1);
  for (const fold of folds) for (const id of fold.nodes) owner[id] = fold.id;
  return owner;
}

/**
 * The drawn graph with the folds in `closed` (a Set of fold ids) shut:
 * - `compact`: a response for the layout, ids 0..M-1 in the original order, a box node where each
 *   closed fold's output stood, edges rerouted to it (a box's inputs: what its members read from
 *   outside, once each). `groups` keeps the composites whose nodes are all drawn and adds a frame
 *   per fold shown open while others are closed (`frames`: their ids in `groups`).
 * - `drawnIds[c]`: the id the drawing uses for compact node c (a box uses its output's id).
 * - `nodes`: the drawing's nodes by id (boxes in place of their outputs; hidden members keep
 *   their records but get no position, so they are never drawn).
 * - `drawnId[id]`: where each original node is drawn (its box when hidden).
 * - `keyOf(originalKey)` → the drawn edge's key (null inside a box), and `originalKeys(drawnKey)`
 *   → the original edges it stands for; both computed when asked.
 */
export function foldedGraph(response, folds, closed) {
  const { nodes } = response;
  const owner = foldIndex(response, folds);
  const drawnId = new Int32Array(nodes.length);
  for (const node of nodes) {
    const fold = owner[node.id] >= 0 && closed.has(owner[node.id]) ? folds[owner[node.id]] : null;
    drawnId[node.id] = fold ? fold.output : node.id;
  }
  const boxInputs = new Map();
  for (const fold of folds) {
    if (!closed.has(fold.id)) continue;
    const drawnInputs = [];
    for (const source of fold.inputs) if (!drawnInputs.includes(drawnId[source])) drawnInputs.push(drawnId[source]);
    boxInputs.set(fold.output, drawnInputs);
  }
  // Edge keys are translated on demand (a step asks for a few), never for the whole graph.
  const keyOf = (original) => {
    const [source, target, slot] = original.split('-').map(Number);
    const from = drawnId[source];
    const to = drawnId[target];
    if (from === to) return null;
    const inputs = boxInputs.get(to);
    return edgeKey(from, to, inputs ? inputs.indexOf(from) : slot);
  };
  const boxEdges = new Map(); // box id → per input slot, the original keys it stands for
  const originalKeys = (key) => {
    const [from, to, slot] = key.split('-').map(Number);
    if (!boxInputs.has(to)) return [edgeKey(nodes[to]?.inputs[slot] ?? from, to, slot)];
    if (!boxEdges.has(to)) {
      const perSlot = boxInputs.get(to).map(() => []);
      for (const id of folds[owner[to]].nodes) {
        nodes[id].inputs.forEach((source, operand) => {
          const index = boxInputs.get(to).indexOf(drawnId[source]);
          if (index >= 0) perSlot[index].push(edgeKey(source, id, operand));
        });
      }
      boxEdges.set(to, perSlot);
    }
    return boxEdges.get(to)[slot] ?? [];
  };
  const drawnNodes = nodes.slice();
  for (const fold of folds) {
    if (closed.has(fold.id)) drawnNodes[fold.output] = boxNode(response, fold, boxInputs.get(fold.output));
  }
  // The compact graph for the layout: what is drawn, renumbered 0..M-1 in the same order.
  const drawnIds = [];
  const compactId = new Int32Array(nodes.length).fill(-1);
  for (const node of nodes) {
    if (drawnId[node.id] !== node.id) continue;
    compactId[node.id] = drawnIds.length;
    drawnIds.push(node.id);
  }
  const compactNodes = drawnIds.map((id, c) => ({ ...drawnNodes[id], id: c, inputs: drawnNodes[id].inputs.map((source) => compactId[drawnId[source]]), group: undefined }));
  const { groups, frames } = compactGroups(response, folds, closed, compactId, compactNodes, drawnIds);
  const compact = { ...response, nodes: compactNodes, output: compactId[drawnId[response.output]], groups, steps: [] };
  return { compact, drawnIds, drawnId, nodes: drawnNodes, keyOf, originalKeys, frames, closed, folds };
}

/** A box's record: its output's value and gradient, its own card text (layout.cardText). */
function boxNode(response, fold, inputs) {
  const output = response.nodes[fold.output];
  // Written out rather than spread from the output's record: a thousand spreads cost more than the rest.
  return {
    id: output.id,
    op: 'fold',
    name: null,
    label: fold.title,
    sourceLabel: fold.label,
    shape: output.shape,
    value: output.value,
    grad: output.grad,
    inputs,
    span: output.span,
    fold: fold.id,
    // The badge's place holds the "open" control (fold-view.js); the title says how many ops fold.
    card: { title: `${fold.title} · ${fold.ops} ops`, badge: 'open', shape: fold.source, value: '', grad: '' },
  };
}

/** Composite groups still drawn whole (renumbered), then a frame per fold opened among closed ones. */
function compactGroups(response, folds, closed, compactId, compactNodes, drawnIds) {
  const groups = [];
  const renumbered = new Map();
  for (const group of response.groups || []) {
    if (!group.nodes.every((id) => compactId[id] >= 0)) continue;
    renumbered.set(group.id, groups.length);
    groups.push({ ...group, id: groups.length, nodes: group.nodes.map((id) => compactId[id]), inputs: [], output: compactId[group.output] });
  }
  for (const group of groups) group.parent = group.parent === null || group.parent === undefined ? null : renumbered.get(group.parent) ?? null;
  // Each node in its innermost composite still drawn (the API names the innermost one).
  compactNodes.forEach((node, c) => { node.group = renumbered.get(response.nodes[drawnIds[c]].group); });
  const frames = new Map();
  if (closed.size) {
    for (const fold of folds) {
      if (closed.has(fold.id)) continue;
      const frameId = groups.length;
      frames.set(frameId, fold.id);
      const members = fold.nodes.map((id) => compactId[id]);
      groups.push({ id: frameId, op: 'fold', label: fold.label, nodes: members, inputs: [], output: compactId[fold.output], parent: null });
      for (const group of groups) if (group.id !== frameId && group.parent === null && group.nodes.every((c) => members.includes(c))) group.parent = frameId;
      for (const c of members) if (compactNodes[c].group === undefined) compactNodes[c].group = frameId;
    }
  }
  return { groups, frames };
}

/** An opened fold's frame padding: the composite boxes' (groups.js), with room for the title row. */
const FRAME_PADDING = { top: 30, left: 14, bottom: 14, right: 14 };

function padded(box) {
  return { x: box.x - FRAME_PADDING.left, y: box.y - FRAME_PADDING.top, width: box.width + FRAME_PADDING.left + FRAME_PADDING.right, height: box.height + FRAME_PADDING.top + FRAME_PADDING.bottom };
}

function union(a, b) {
  const x = Math.min(a.x, b.x);
  const y = Math.min(a.y, b.y);
  return { x, y, width: Math.max(a.x + a.width, b.x + b.width) - x, height: Math.max(a.y + a.height, b.y + b.height) - y };
}

const overlap = (a, b) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

/**
 * The frames of opened folds in a layout without compound nodes (layout.quickLayout's columns of
 * `compact`): around the fold's ops, then each of its own inputs and constants taken in where the
 * grown frame covers no other card or copy. In columns a step's own weight sits beside the box of
 * the step before; a frame must never seem to hold another step's node.
 */
export function columnFrames(compact, layout, frames) {
  const result = [];
  for (const [frameId, foldId] of frames) {
    const group = compact.groups[frameId];
    const members = new Set(group.nodes);
    const others = [...layout.nodes.filter((box) => box && !members.has(box.id)), ...(layout.aliases || [])];
    let frame = null;
    for (const c of group.nodes) if (!isLeaf(compact.nodes[c])) frame = frame ? union(frame, padded(layout.nodes[c])) : padded(layout.nodes[c]);
    for (const c of group.nodes) {
      if (!isLeaf(compact.nodes[c])) continue;
      const grown = union(frame, padded(layout.nodes[c]));
      if (!others.some((box) => overlap(box, grown))) frame = grown;
    }
    result.push({ ...frame, id: frameId, op: 'fold', label: group.label, depth: 0, fold: foldId });
  }
  return result;
}

/** A layout of `compact` in the drawing's ids (boxes as their outputs' ids), frames apart. */
export function drawnLayout(layout, folded) {
  const { drawnIds, frames } = folded;
  const id = (c) => drawnIds[c];
  const rekey = (key) => {
    const [source, target, slot] = key.split('-');
    return edgeKey(id(Number(source)), id(Number(target)), slot);
  };
  const groups = layout.groups || [];
  return {
    ...layout,
    nodes: layout.nodes.map((box) => ({ ...box, id: id(box.id) })),
    edges: layout.edges.map((edge) => ({ ...edge, key: edgeKey(id(edge.source), id(edge.target), edge.slot), source: id(edge.source), target: id(edge.target) })),
    aliases: (layout.aliases || []).map((alias) => ({ ...alias, key: rekey(alias.key), source: id(alias.source) })),
    groups: groups.filter((box) => !frames.has(box.id)),
    frames: groups.filter((box) => frames.has(box.id)).map((box) => ({ ...box, fold: frames.get(box.id) })),
  };
}

/**
 * A stepper view (stepper.viewAt) in the drawing's ids: the current step's ends become their
 * boxes (a step inside a closed box has both ends on it), and the edges done are read through
 * the key maps. O(1) per step: nothing is copied but the current step.
 */
export function drawnView(view, folded) {
  if (!folded || !folded.closed.size) return view;
  const { drawnId, keyOf: mapKey, originalKeys } = folded;
  const mapStep = (step) => {
    if (!step) return step;
    if (step.phase === 'forward') return { ...step, node: drawnId[step.node] };
    const key = mapKey(edgeKey(step.input, step.node, step.slot));
    const slot = key ? Number(key.split('-')[2]) : step.slot;
    return { ...step, node: drawnId[step.node], input: drawnId[step.input], slot };
  };
  const { edgesDone, contributions } = view;
  const current = mapStep(view.current);
  return {
    ...view,
    current,
    currentNode: current ? current.node : null,
    currentEdge: view.currentEdge ? mapKey(view.currentEdge) : null,
    edgesDone: {
      has: (key) => originalKeys(key).some((original) => edgesDone.has(original)),
      get size() { return edgesDone.size; },
      * [Symbol.iterator]() {
        for (const original of edgesDone) {
          const key = mapKey(original);
          if (key) yield key;
        }
      },
    },
    contributions: {
      get: (id) => contributions.get(id)?.map(({ step, index }) => ({ step: mapStep(step), index })),
      has: (id) => contributions.has(id),
    },
  };
}

/**
 * What the user must still see when the current step is inside a closed box: the box and the
 * step's node ({box, text}), or null.
 */
export function stepInsideBox(view, folded, response) {
  if (!folded || !folded.closed.size || !view?.current) return null;
  const { current } = view;
  const boxOf = (id) => (folded.nodes[folded.drawnId[id]].fold !== undefined ? folded.drawnId[id] : null);
  const label = (id) => response.nodes[id].label;
  if (current.phase === 'forward') {
    const box = boxOf(current.node);
    return box === null ? null : { box, text: `now: ${label(current.node)}` };
  }
  // A backward step: the gradient flows from `node` into `input`; the box that holds the
  // receiving end is marked, else the one that sends it (a shared weight outside its boxes).
  const box = boxOf(current.input) ?? boxOf(current.node);
  return box === null ? null : { box, text: `now: ∂ into ${label(current.input)} from ${label(current.node)}` };
}
