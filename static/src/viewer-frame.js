/**
 * A mounted viewer's frame (viewer.js mountViewer outside the page): a new element in the host's
 * element, a shadow root on it holding the viewer's styles and markup, so that nothing of the
 * host's styles reaches in and nothing of the viewer's reaches out. KaTeX's @font-face rules go
 * to the document once: browsers do not read @font-face inside a shadow root.
 */
import { fontCss, shadowCss } from './viewer-css.js';
import { FRAME } from './viewer-markup.js';

/** A viewer's own frame: a shadow root on a new element in `element`, its styles and markup in it. */
export function mountFrame(element, height) {
  addFonts();
  const holder = document.createElement('div');
  holder.className = 'chainlens-viewer-host';
  // Nothing of the host's inherited text styles (a cell's text-align, a notebook's font) reaches
  // in: the holder starts from the initial values, the frame sets its own.
  const cssHeight = typeof height === 'number' ? `${height}px` : height ?? '100%';
  holder.style.cssText = `all: initial; display: block; height: ${cssHeight};`;
  // JupyterLab leaves keys pressed inside this element to it (its arrows, Space and letters
  // would otherwise move between cells).
  holder.dataset.lmSuppressShortcuts = 'true';
  element.append(holder);
  const shadow = holder.attachShadow({ mode: 'open' });
  const style = document.createElement('style');
  style.textContent = shadowCss ?? '';
  const frame = document.createElement('div');
  frame.className = 'cl-body cl-viewer';
  frame.tabIndex = -1; // a click on the viewer's background gives it focus (and its keys)
  frame.innerHTML = FRAME;
  shadow.append(style, frame);
  return { root: shadow, frame, host: null, holder };
}

/** KaTeX's @font-face rules, once per document: browsers do not read them inside a shadow root. */
function addFonts() {
  if (!fontCss || document.querySelector('style[data-chainlens-fonts]')) return;
  const style = document.createElement('style');
  style.dataset.chainlensFonts = '';
  style.textContent = fontCss;
  document.head.append(style);
}
