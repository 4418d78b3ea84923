/**
 * The explanation panel: typesets explain.js's TeX with KaTeX, lists its notes, and keeps the
 * plain-text statement beside it for screen readers (KaTeX's MathML is there too).
 */
import katex from 'katex';
import { appendHeatmaps } from './explain-heatmaps.js';

export function createExplainPanel(root) {
  function show(explanation, heading) {
    root.innerHTML = '';
    const title = document.createElement('h2');
    title.className = `step-title ${explanation.kind}`;
    title.textContent = heading;
    root.append(title);
    // Matrices make tall lines: set them a size smaller so a step fits the panel.
    root.classList.toggle('has-matrix', explanation.lines.some((line) => line.tex.includes('bmatrix')));
    for (const line of explanation.lines) {
      const math = document.createElement('div');
      math.className = 'math';
      math.dataset.text = line.text;
      try {
        katex.render(line.tex, math, { displayMode: true, throwOnError: true, output: 'htmlAndMathml' });
      } catch {
        // A label KaTeX cannot set is still worth showing as text.
        math.textContent = line.text;
      }
      root.append(math);
    }
    appendHeatmaps(root, explanation.heatmaps);
    if (explanation.notes.length) {
      const notes = document.createElement('ul');
      notes.className = 'notes';
      for (const text of explanation.notes) {
        const item = document.createElement('li');
        item.textContent = text;
        if (/undo the broadcast/.test(text)) item.className = 'broadcast';
        notes.append(item);
      }
      root.append(notes);
    }
  }
  return { show };
}
