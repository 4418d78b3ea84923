/**
 * The explanation panel: typesets explain.js's TeX with KaTeX, lists its notes, and keeps the
 * plain-text statement beside each line for screen readers.
 *
 * A step's explanation is most of a step's cost (issue 14: a step must be drawn within a frame),
 * so the panel does as little as it can: KaTeX writes HTML only (its MathML copy doubled the
 * elements the browser styles and lays out every step; the plain-text statement, read by screen
 * readers, says the same), a line typeset before is reused from a small cache (stepping back and
 * forth, playing again), and the same explanation shown again (pause, play) is left as it is.
 */
import katex from 'katex';
import { appendHeatmaps } from './explain-heatmaps.js';

/** Typeset lines kept (TeX → HTML); a line is a few kB of HTML. */
const CACHE_LINES = 400;

/** KaTeX's HTML for `tex` (throws like katex.render), from `cache` when typeset before. */
export function typeset(tex, cache) {
  if (cache.has(tex)) {
    const html = cache.get(tex);
    // Recently used lines stay: a Map iterates in insertion order, the oldest goes first.
    cache.delete(tex);
    cache.set(tex, html);
    return html;
  }
  // strict 'ignore': KaTeX's default warns on the console for each unicode character (→, …) in a
  // \\text{}, which cost more than typesetting the line.
  const html = katex.renderToString(tex, { displayMode: true, throwOnError: true, output: 'html', strict: 'ignore' });
  cache.set(tex, html);
  if (cache.size > CACHE_LINES) cache.delete(cache.keys().next().value);
  return html;
}

/** Whether two explanations draw the same panel (heatmaps: the same tensors, by reference). */
export function sameExplanation(a, b) {
  const texts = (list) => JSON.stringify(list);
  const maps = (list) => list ?? [];
  return a.kind === b.kind && texts(a.lines) === texts(b.lines) && texts(a.notes) === texts(b.notes)
    && maps(a.heatmaps).length === maps(b.heatmaps).length
    && maps(a.heatmaps).every((map, i) => map.value === maps(b.heatmaps)[i].value && map.label === maps(b.heatmaps)[i].label);
}

export function createExplainPanel(root) {
  const cache = new Map();
  let shown = null;

  function show(explanation, heading) {
    if (shown && sameExplanation(shown.explanation, explanation) && shown.heading === heading) return;
    shown = { explanation, heading };
    const title = document.createElement('h2');
    title.className = `step-title ${explanation.kind}`;
    title.textContent = heading;
    const parts = [title];
    // Matrices make tall lines: set them a size smaller so a step fits the panel.
    root.classList.toggle('has-matrix', explanation.lines.some((line) => line.tex.includes('bmatrix')));
    for (const line of explanation.lines) {
      const math = document.createElement('div');
      math.className = line.wide ? 'math wide' : 'math'; // wide: below the floated heatmaps
      math.dataset.text = line.text;
      // A wide line scrolls sideways: focusable, so a keyboard can scroll it too.
      math.tabIndex = 0;
      try {
        const html = typeset(line.tex, cache);
        const spoken = document.createElement('span');
        spoken.className = 'visually-hidden';
        spoken.textContent = line.text;
        math.innerHTML = html;
        // The typeset line is for the eyes; the statement is what a screen reader reads.
        math.firstElementChild?.setAttribute('aria-hidden', 'true');
        math.append(spoken);
      } catch {
        // A label KaTeX cannot set is still worth showing as text.
        math.textContent = line.text;
      }
      parts.push(math);
    }
    if (explanation.notes.length) {
      const notes = document.createElement('ul');
      notes.className = 'notes';
      for (const text of explanation.notes) {
        const item = document.createElement('li');
        item.textContent = text;
        if (/undo the broadcast/.test(text)) item.className = 'broadcast';
        notes.append(item);
      }
      parts.push(notes);
    }
    root.replaceChildren(...parts);
    appendHeatmaps(root, explanation.heatmaps);
  }
  /** A new run: its lines are new numbers, the old ones are not typeset again. */
  function forget() {
    cache.clear();
    shown = null;
  }
  return { show, forget };
}
