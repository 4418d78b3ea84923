/**
 * The viewer's markup, in parts: the page places each part where its layout wants it (a
 * `data-viewer-part` placeholder in templates/index.html), a mounted viewer puts them in its own
 * frame (viewer.js). One copy of the markup for both: the ids are the page's, and in a mounted
 * viewer they live in its shadow root, so two viewers on one page never share one.
 */

export const PLAY_ICON = '<svg class="icon" viewBox="0 0 16 16" aria-hidden="true"><path d="M4 2.5v11l9-5.5z"/></svg>';
export const PAUSE_ICON = '<svg class="icon" viewBox="0 0 16 16" aria-hidden="true"><path d="M4 3h3v10H4zM9 3h3v10H9z"/></svg>';

export const PARTS = {
  'check-tools': `
    <div class="button-group check-tools" role="group" aria-label="Check and break">
      <button id="check-gradients" type="button" aria-keyshortcuts="G" title="Check every gradient against finite differences (G)">Check gradients</button>
      <button id="break-it" type="button" aria-pressed="false" aria-keyshortcuts="X" title="Replay a backward mistake beside the correct run (X)">Break it</button>
      <select id="break-mode" aria-label="The mistake to replay">
        <option value="naive-recursion">recursion</option>
        <option value="overwrite">overwrite</option>
      </select>
    </div>`,
  graph: `
      <div class="graph-wrap">
        <p id="stale-note" class="stale-note" role="status" hidden>Out of date: this graph is from the last program that ran. Fix the error and run again.</p>
        <div class="graph-canvas">
        <svg id="graph" tabindex="-1" aria-label="Computation graph: inputs on the left, the output on the right"></svg>
        <div class="graph-tools" role="group" aria-label="View">
          <button id="fit" type="button" aria-label="Fit the graph to the screen" title="Fit to screen">⤢</button>
          <button id="zoom-in" type="button" aria-label="Zoom in" title="Zoom in">+</button>
          <button id="zoom-out" type="button" aria-label="Zoom out" title="Zoom out">−</button>
          <button id="present" type="button" class="present" aria-pressed="false" aria-keyshortcuts="P" title="Presentation view for a projector: the graph and the explanation, large (P; Esc leaves)">Present</button>
        </div>
        </div>
        <div class="graph-footer">
          <ul class="graph-legend" aria-label="Legend">
            <li><span class="swatch pending"></span>not computed yet</li>
            <li><span class="swatch computing"></span>forward step</li>
            <li><span class="swatch gradient"></span>gradient flowing back</li>
          </ul>
          <div id="graph-status" class="graph-status" role="status" hidden></div>
          <canvas id="minimap" class="minimap" width="240" height="44" role="img" aria-label="Overview of the whole graph: the frame marks the part on screen; click to move there" hidden></canvas>
        </div>
      </div>`,
  stepper: `
      <div class="stepper" role="group" aria-label="Stepper">
        <button id="step-first" type="button" aria-label="First step (Home)" title="First (Home)"><svg class="icon" viewBox="0 0 16 16" aria-hidden="true"><path d="M3 3h2v10H3zM13 3v10L6 8z"/></svg></button>
        <button id="step-prev" type="button" aria-label="Previous step (Left arrow)" title="Previous (←)"><svg class="icon" viewBox="0 0 16 16" aria-hidden="true"><path d="M12 3v10L4 8z"/></svg></button>
        <button id="step-play" type="button" class="play" aria-label="Play (Space)" title="Play / pause (Space)" aria-pressed="false">${PLAY_ICON}</button>
        <button id="step-next" type="button" aria-label="Next step (Right arrow)" title="Next (→)"><svg class="icon" viewBox="0 0 16 16" aria-hidden="true"><path d="M4 3v10l8-5z"/></svg></button>
        <button id="step-last" type="button" aria-label="Last step (End)" title="Last (End)"><svg class="icon" viewBox="0 0 16 16" aria-hidden="true"><path d="M11 3h2v10h-2zM3 3v10l7-5z"/></svg></button>
        <input id="step-slider" type="range" min="0" max="0" value="0" aria-label="Step">
        <span class="step-position">
          <input id="step-input" type="number" min="0" max="0" value="0" aria-label="Go to step number">
          <output id="step-label" for="step-slider" aria-live="off">/ 0</output>
        </span>
        <label class="visually-hidden" for="step-speed">Playback speed</label>
        <select id="step-speed">
          <option value="0.5">0.5×</option>
          <option value="1" selected>1×</option>
          <option value="2">2×</option>
          <option value="4">4×</option>
          <option value="16">16×</option>
          <option value="100">100×</option>
          <option value="1000">1000×</option>
        </select>
        <button id="step-backward-start" type="button" title="Jump to the start of the backward pass (B)" aria-label="Jump to the start of the backward pass (B)" aria-keyshortcuts="B">⇤∇</button>
        <button id="step-touching" type="button" title="Next step that touches the selected node (N)" aria-label="Next step that touches the selected node (N)" aria-keyshortcuts="N" disabled>⇥●</button>
      </div>`,
  explain: `
      <section id="check-panel" class="check-panel" aria-label="Gradient check and break-it" hidden></section>
      <div id="explain" class="explain" role="region" tabindex="0" aria-label="Explanation of the current step"></div>
      <p id="step-announce" class="visually-hidden" role="status" aria-live="polite" aria-atomic="true"></p>`,
  inspector: `
      <h2 class="panel-title">Inspector</h2>
      <form class="node-search" id="node-search" role="search">
        <label for="node-search-input" class="visually-hidden">Find a node by name</label>
        <input id="node-search-input" type="search" list="node-names" placeholder="Find a node (name or text)…" autocomplete="off">
        <datalist id="node-names"></datalist>
      </form>
      <div id="inspector" class="inspector"></div>`,
};

/**
 * A mounted viewer's frame: the check tools over the graph and stepper, the inspector beside
 * them. The export buttons the check tools drive are the page's: here they are absent (hidden).
 */
export const FRAME = `
  <div class="viewer-bar">
    ${PARTS['check-tools']}
    <div id="input-scrubbers" class="scrubbers" aria-label="Scalar inputs: drag to change" hidden></div>
    <button id="export-pytorch" type="button" hidden></button>
    <button id="export-dot" type="button" hidden></button>
  </div>
  <div id="error-box" class="error-box" role="alert" hidden></div>
  <div class="workspace">
    <section class="center" aria-label="Graph and stepper">
      ${PARTS.graph}
      ${PARTS.stepper}
      ${PARTS.explain}
    </section>
    <aside class="panel right" aria-label="Node inspector">
      ${PARTS.inspector}
    </aside>
  </div>`;

/** Replaces each `[data-viewer-part]` placeholder under `root` with that part's markup. */
export function placeParts(root) {
  for (const placeholder of root.querySelectorAll('[data-viewer-part]')) {
    const template = document.createElement('template');
    template.innerHTML = PARTS[placeholder.dataset.viewerPart];
    placeholder.replaceWith(template.content);
  }
}
