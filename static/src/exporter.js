/**
 * Exports: the graph as a standalone SVG (styles inlined, whole graph, not just the visible
 * part) or PNG, and the API response as JSON. Runs only on user request.
 */

/**
 * The graph's own CSS rules, collected from the page's stylesheets: those scoped under svg.graph
 * and the edge animation's keyframes; nothing of the page around it (.graph-wrap, KaTeX, ...).
 */
function graphCss() {
  const rules = [];
  for (const sheet of document.styleSheets) {
    let cssRules;
    try {
      cssRules = sheet.cssRules;
    } catch {
      continue;
    }
    for (const rule of cssRules) {
      if (isGraphRule(rule)) rules.push(rule.cssText);
    }
  }
  return rules.join('\n');
}

export function isGraphRule(rule) {
  const text = rule.cssText;
  return text.startsWith('svg.graph') || text.startsWith('@keyframes chainlens-');
}

/** Canvas limits of browsers (Chromium: 32,767 px a side, about 268 M pixels in all). */
export const MAX_CANVAS_SIDE = 16_384;
export const MAX_CANVAS_PIXELS = 100_000_000;

/**
 * The PNG's scale for a graph of width × height: the wanted scale, lowered until the canvas
 * fits the browser's limits; null when even a tenth of the size would not fit (then the SVG
 * export is the way).
 */
export function pngScale(width, height, wanted = 2) {
  const scale = Math.min(wanted, MAX_CANVAS_SIDE / width, MAX_CANVAS_SIDE / height, Math.sqrt(MAX_CANVAS_PIXELS / (width * height)));
  return scale >= 0.1 ? scale : null;
}

export function graphSvgString(svgElement, layout) {
  const clone = svgElement.cloneNode(true);
  clone.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  clone.setAttribute('viewBox', `0 0 ${layout.width} ${layout.height}`);
  clone.setAttribute('width', String(Math.ceil(layout.width)));
  clone.setAttribute('height', String(Math.ceil(layout.height)));
  clone.querySelector('g.viewport').removeAttribute('transform');
  // The whole drawing is exported: labels hidden because the view's edge cut them show.
  for (const label of clone.querySelectorAll('g.edge-label.cut')) label.classList.remove('cut');
  const style = document.createElementNS('http://www.w3.org/2000/svg', 'style');
  style.textContent = graphCss();
  clone.insertBefore(style, clone.firstChild);
  const background = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
  background.setAttribute('width', '100%');
  background.setAttribute('height', '100%');
  background.setAttribute('fill', '#ffffff');
  clone.insertBefore(background, style.nextSibling);
  return new XMLSerializer().serializeToString(clone);
}

export function download(filename, blob) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function exportSvg(svgElement, layout) {
  download('chainlens-graph.svg', new Blob([graphSvgString(svgElement, layout)], { type: 'image/svg+xml' }));
}

/** Resolves with {scale} once the PNG is handed to the browser; rejects with a reason to show. */
export function exportPng(svgElement, layout, wanted = 2) {
  const scale = pngScale(layout.width, layout.height, wanted);
  if (scale === null) {
    return Promise.reject(new Error(`the graph is ${Math.round(layout.width)} × ${Math.round(layout.height)} px, too large for one image`));
  }
  const source = graphSvgString(svgElement, layout);
  const image = new Image();
  const url = URL.createObjectURL(new Blob([source], { type: 'image/svg+xml' }));
  return new Promise((resolve, reject) => {
    image.onload = () => {
      const canvas = document.createElement('canvas');
      canvas.width = Math.ceil(layout.width * scale);
      canvas.height = Math.ceil(layout.height * scale);
      const context = canvas.getContext('2d');
      context.scale(scale, scale);
      context.drawImage(image, 0, 0);
      URL.revokeObjectURL(url);
      canvas.toBlob((blob) => {
        if (!blob) {
          reject(new Error('the browser could not encode an image this large'));
          return;
        }
        download('chainlens-graph.png', blob);
        resolve({ scale });
      }, 'image/png');
    };
    image.onerror = () => {
      URL.revokeObjectURL(url);
      reject(new Error('the SVG could not be drawn as an image'));
    };
    image.src = url;
  });
}

export function exportJson(response) {
  download('chainlens-response.json', new Blob([`${JSON.stringify(response, null, 2)}\n`], { type: 'application/json' }));
}
