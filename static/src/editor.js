/**
 * A code box: a plain textarea with a line-number gutter and an overlay that underlines the
 * span an API error names. The overlay is a <pre> behind the (transparent-background) textarea
 * holding the same text, so marks line up with the characters without a heavy editor.
 * Long lines wrap (no sideways scrolling); a hidden copy of the lines, one block each, measures
 * how tall each wrapped line is so the gutter's numbers stay beside their lines.
 * What the user typed is never touched, except when they click a suggested fix.
 */

/** 1-based (line, column) → offset into text; columns past the line's end clamp to it. */
export function offsetOf(text, line, column) {
  const lines = text.split('\n');
  const lineIndex = Math.min(Math.max(line, 1), lines.length) - 1;
  let offset = 0;
  for (let i = 0; i < lineIndex; i += 1) offset += lines[i].length + 1;
  return offset + Math.min(Math.max(column - 1, 0), lines[lineIndex].length);
}

/** Offset → 1-based {line, column}. */
export function positionOf(text, offset) {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: before[before.length - 1].length + 1 };
}

export function createEditor(root, { label, onSubmit, onInput }) {
  root.classList.add('code-editor');
  root.innerHTML = `
    <div class="gutter" aria-hidden="true"></div>
    <div class="code-area">
      <pre class="overlay" aria-hidden="true"></pre>
      <div class="measure" aria-hidden="true"></div>
      <textarea spellcheck="false" autocapitalize="off" autocomplete="off" wrap="soft"></textarea>
    </div>`;
  const gutter = root.querySelector('.gutter');
  const measure = root.querySelector('.measure');
  const overlay = root.querySelector('.overlay');
  const textarea = root.querySelector('textarea');
  textarea.setAttribute('aria-label', label);
  let mark = null; // {start, end, line, column, message}

  function paint() {
    const text = textarea.value;
    const lineCount = text.split('\n').length;
    const errorLine = mark ? mark.line : -1;
    gutter.innerHTML = Array.from({ length: lineCount }, (_, i) => (
      `<div class="${i + 1 === errorLine ? 'error-line' : ''}">${i + 1}</div>`)).join('');
    sizeGutter(text);
    overlay.replaceChildren();
    if (!mark) {
      overlay.append(document.createTextNode(`${text}\n`));
    } else {
      const marked = document.createElement('mark');
      marked.className = 'error-mark';
      marked.dataset.line = String(mark.line);
      marked.dataset.column = String(mark.column);
      marked.title = mark.message;
      // A zero-width span (a missing value at the end) still gets a visible caret-sized mark.
      marked.textContent = text.slice(mark.start, mark.end) || ' ';
      if (mark.start === mark.end) marked.classList.add('empty');
      overlay.append(document.createTextNode(text.slice(0, mark.start)), marked,
        document.createTextNode(`${text.slice(mark.end)}\n`));
    }
    syncScroll();
  }

  /** Each line number as tall as its (wrapped) line. */
  function sizeGutter(text) {
    measure.style.width = `${textarea.clientWidth}px`;
    measure.replaceChildren(...text.split('\n').map((line) => {
      const block = document.createElement('div');
      block.textContent = line || ' ';
      return block;
    }));
    const heights = Array.from(measure.children, (block) => block.offsetHeight);
    Array.from(gutter.children).forEach((number, i) => {
      number.style.height = heights[i] ? `${heights[i]}px` : '';
    });
    measure.replaceChildren();
  }

  // The box's width changes with the window: wrapped lines change height.
  if (typeof ResizeObserver !== 'undefined') new ResizeObserver(() => sizeGutter(textarea.value)).observe(textarea);

  function syncScroll() {
    overlay.style.transform = `translate(${-textarea.scrollLeft}px, ${-textarea.scrollTop}px)`;
    gutter.scrollTop = textarea.scrollTop;
  }

  textarea.addEventListener('scroll', syncScroll);
  textarea.addEventListener('input', () => {
    // The marked span no longer matches the text once it changes.
    mark = null;
    root.classList.remove('has-error');
    paint();
    if (onInput) onInput();
  });
  textarea.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      onSubmit();
    }
  });

  return {
    textarea,
    get value() {
      return textarea.value;
    },
    set value(text) {
      textarea.value = text;
      mark = null;
      root.classList.remove('has-error');
      paint();
    },
    /** Underlines line:column..end_line:end_column (1-based, end exclusive); null clears. */
    markError(error) {
      if (!error || !error.line) {
        // Every run clears the marks: with none there, nothing is drawn again (a 1,666-line
        // program's line numbers took 65 ms to measure and draw).
        if (!mark) return;
        mark = null;
        root.classList.remove('has-error');
        paint();
        return;
      }
      const text = textarea.value;
      const start = offsetOf(text, error.line, error.column ?? 1);
      const end = Math.max(start, offsetOf(text, error.end_line ?? error.line, error.end_column ?? (error.column ?? 1) + 1));
      mark = { start, end, line: error.line, column: error.column ?? 1, message: error.message };
      root.classList.add('has-error');
      paint();
    },
    /** Puts the caret at a position and scrolls it into view. */
    focusAt(line, column) {
      const offset = offsetOf(textarea.value, line, column);
      textarea.focus();
      textarea.setSelectionRange(offset, offset);
    },
    /** Replaces the marked span (a suggested fix) and keeps the rest as typed. */
    replaceMark(replacement) {
      if (!mark) return;
      const text = textarea.value;
      textarea.value = text.slice(0, mark.start) + replacement + text.slice(mark.end);
      mark = null;
      root.classList.remove('has-error');
      paint();
    },
  };
}
