/**
 * Folded repetitions on the page (fold.js finds them and builds the drawn graph): which folds are
 * closed, the layout of the drawn graph, the boxes' look and "open" control (render.js's
 * decorateNodes: cards come and go with culling), a frame with a "fold" control around each
 * repetition opened among closed ones, the "Fold all / Open all" button, and the marker that
 * names the current step's node on its box.
 *
 * A step inside a closed box does not open it: the box is highlighted as the step's node would
 * be, and a marker above it names that node ("now: h₃ * w"); the explanation shows the step's
 * math in full. Opening boxes by themselves would lay the graph out again and move every card
 * at each repetition while playing; a student opens the one they want to look into.
 */
import * as d3 from 'd3';
import { columnFrames, drawnLayout, drawnView, findFolds, foldedByDefault, foldedGraph, stepInsideBox } from './fold.js';
import { groupBoxes, layoutWithGroups } from './groups.js';
import { badgeWidth, layoutGraph, QUICK_LAYOUT_NODES, quickLayout } from './layout.js';

const SVG = 'http://www.w3.org/2000/svg';

/** A small pill button in SVG (the boxes' "open", the frames' "fold"). */
function pill(className, text, width, label, onPress, height = 18) {
  const button = d3.select(document.createElementNS(SVG, 'g'))
    .attr('class', className).attr('role', 'button').attr('tabindex', 0).attr('aria-label', label);
  button.append('rect').attr('width', width).attr('height', height).attr('rx', height / 2);
  button.append('text').attr('x', width / 2).attr('y', height / 2 + 4).attr('text-anchor', 'middle').text(text);
  button.append('title').text(label);
  button
    .on('click', (event) => {
      event.stopPropagation();
      onPress();
    })
    .on('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        event.stopPropagation();
        onPress();
      }
    });
  return button;
}

/**
 * `onChange({fold, all})` asks main.js to lay out and draw the shown response again (a fold
 * opened or closed: `fold` its id, or `all` for the button).
 */
export function createFoldControls(svgElement, graph, toolbar, { onChange }) {
  const svg = d3.select(svgElement);
  let response = null;
  let folds = [];
  let closed = new Set();
  let folded = null; // foldedGraph(...) while any fold is closed
  let layout = null;
  let lastIn = null;
  let lastOut = null;
  let marker = null;

  const allButton = document.createElement('button');
  allButton.type = 'button';
  allButton.id = 'fold-all';
  allButton.className = 'fold-all';
  allButton.hidden = true;
  allButton.addEventListener('click', () => {
    const fold = closed.size < folds.length;
    closed = fold ? new Set(folds.map((item) => item.id)) : new Set();
    rebuild();
    onChange({ all: true });
  });
  toolbar?.append(allButton);

  graph.setFolding({
    view: (view) => viewFor(view),
    node: (id) => (folded ? folded.drawnId[id] : id),
  });

  /**
   * A response to show: its folds found again unless it has the same structure as the last one
   * (`keep`, a training step: the same folds stay closed), and closed by default on big graphs.
   */
  function prepare(nextResponse, { source = null, keep = false } = {}) {
    response = nextResponse;
    if (!keep) {
      folds = findFolds(response, { source });
      closed = foldedByDefault(response, folds) ? new Set(folds.map((fold) => fold.id)) : new Set();
    }
    rebuild();
  }

  function rebuild() {
    folded = closed.size ? foldedGraph(response, folds, closed) : null;
    lastIn = null;
    lastOut = null;
  }

  function toggle(foldId, open) {
    if (open) closed.delete(foldId);
    else closed.add(foldId);
    rebuild();
    onChange({ fold: foldId });
  }

  /**
   * The layout of the drawn graph, in the drawing's ids; null while nothing is folded (the caller
   * lays out the response as it always does). Graphs that took the quick layout unfolded take it
   * folded too (ELK on a few hundred boxes with their shared weights' copies is slower than the
   * columns), with each opened repetition's frame around its cards.
   */
  async function layoutFolded(elk) {
    if (!folded) return null;
    const { compact } = folded;
    let laidOut;
    if (response.nodes.length > QUICK_LAYOUT_NODES) {
      laidOut = quickLayout(compact);
      laidOut.groups = [
        ...groupBoxes(compact, laidOut).filter((box) => !folded.frames.has(box.id)),
        ...columnFrames(compact, laidOut, folded.frames),
      ];
    } else {
      laidOut = compact.groups.length ? await layoutWithGroups(elk, compact) : await layoutGraph(elk, compact);
    }
    return drawnLayout(laidOut, folded);
  }

  /** The response as drawn: boxes in place of their outputs. */
  function drawn(shown) {
    // New numbers for the same nodes (a drag, a replay): the boxes show them, and a later toggle too.
    if (shown !== response) {
      response = shown;
      if (closed.size) rebuild();
    }
    return folded ? { ...shown, nodes: folded.nodes } : shown;
  }

  /** Draws the frames, the boxes' look and controls, and the button, after render.js drew `drawnLayout`. */
  function draw(nextLayout) {
    layout = nextLayout;
    allButton.hidden = !folds.length;
    const anyOpen = closed.size < folds.length;
    allButton.textContent = anyOpen ? 'Fold all' : 'Open all';
    allButton.title = anyOpen
      ? `Fold each of the ${folds.length} repetitions (steps of a recurrence, layers) into one box`
      : 'Open every folded repetition into its nodes';

    const viewport = svg.select('g.viewport');
    let layer = viewport.select('g.fold-frames');
    if (layer.empty()) layer = viewport.insert('g', 'g.edges').attr('class', 'fold-frames');
    const frames = layer.selectAll('g.fold-frame')
      .data(folded ? layout.frames || [] : [], (frame) => frame.fold)
      .join((enter) => {
        const group = enter.append('g').attr('class', 'fold-frame');
        group.append('rect').attr('class', 'frame').attr('rx', 12);
        group.append('text').attr('class', 'fold-label').attr('x', 12).attr('y', 19);
        group.append('title');
        return group;
      });
    frames
      .attr('data-fold', (frame) => frame.fold)
      .attr('transform', (frame) => `translate(${frame.x},${frame.y})`)
      .each(function drawFrame(frame) {
        const group = d3.select(this);
        const fold = folds[frame.fold];
        group.select('rect.frame').attr('width', frame.width).attr('height', frame.height);
        // The label is cut to the frame, leaving room for the control on the right.
        const room = Math.max(4, Math.floor((frame.width - 84) / 7));
        group.select('text.fold-label').text(fold.label.length > room ? `${fold.label.slice(0, room - 1)}…` : fold.label);
        group.select('title').text(fold.label);
        group.select('g.fold-close').remove();
        group.append(() => pill('fold-close', 'fold', 50, `Fold ${fold.title} back into one box`, () => toggle(fold.id, false)).node())
          .attr('transform', `translate(${frame.width - 58},6)`);
      });

    // Every box: a stacked look and an "open" control (made again whenever a card is created).
    graph.decorateNodes('fold-box', folded ? (node, box) => {
      if (node.fold === undefined || !box) return null;
      const group = d3.select(document.createElementNS(SVG, 'g')).attr('class', 'fold-decoration');
      // Two edges behind the card's lower right: a pile of cards, one per node inside.
      group.append('path').attr('class', 'fold-stack')
        .attr('d', `M6,${box.height + 3} H${box.width + 3} V6 M10,${box.height + 6} H${box.width + 6} V10`);
      // Over the card's badge (fold.js leaves "open" there, so the title keeps clear of it).
      const badge = badgeWidth('open');
      group.append(() => pill('fold-open', 'open', badge, `Open ${folds[node.fold].label}`, () => toggle(node.fold, true), 16).node())
        .attr('transform', `translate(${box.width - badge - 8},8)`);
      return group.node();
    } : null);
    for (const fold of folds) graph.classNode(fold.output, 'fold-box', Boolean(folded) && closed.has(fold.id));
    if (!marker) {
      // Not a live region: the stepper's label already says each step; this would repeat it.
      marker = viewport.append('g').attr('class', 'fold-now').attr('aria-hidden', 'true');
      marker.append('rect').attr('height', 20).attr('rx', 10);
      marker.append('text').attr('x', 10).attr('y', 14);
    }
    marker.raise().attr('display', 'none').datum(null);
    lastIn = null;
  }

  /** A stepper view in the drawing's ids; moves the marker when the step is inside a closed box. */
  function viewFor(view) {
    if (!folded || !view) return view;
    if (view === lastIn || view === lastOut) return lastOut;
    lastIn = view;
    lastOut = drawnView(view, folded);
    showMarker(stepInsideBox(view, folded, response));
    return lastOut;
  }

  function showMarker(inside) {
    if (!marker) return;
    const box = inside ? boxOf(inside.box) : null;
    if (!box) {
      if (marker.datum() !== null) marker.attr('display', 'none').datum(null);
      return;
    }
    const width = Math.min(420, inside.text.length * 7 + 20);
    marker.datum(inside).attr('display', null).attr('transform', `translate(${box.x},${box.y - 26})`);
    marker.select('rect').attr('width', width);
    marker.select('text').text(inside.text);
  }

  function boxOf(id) {
    return graph.boxes.get(id) ?? null;
  }

  /** Where a fold stands now (its box, or its frame when open), for keeping it still on screen. */
  function placeOf(foldId) {
    const fold = folds[foldId];
    if (!fold || !layout) return null;
    const frame = (layout.frames || []).find((item) => item.fold === foldId);
    return frame ?? boxOf(fold.output);
  }

  return {
    prepare, layout: layoutFolded, drawn, draw, placeOf,
    get folds() { return folds; },
    get closed() { return closed; },
    get folded() { return folded; },
  };
}
