/**
 * NDJSON (one JSON object a line) read from a streaming fetch body. A network chunk may end in the
 * middle of a line, or in the middle of a UTF-8 character, so text is decoded in stream mode and
 * lines are cut only at '\n'. No DOM, no fetch here: the caller opens the response (api.js).
 */

/**
 * Feeds text chunks in, gets whole parsed lines out. A partial line is kept as pieces and joined
 * once its newline arrives, so a long line (the `done` line with trained parameters) split over
 * many chunks is not re-scanned for every chunk.
 */
export function createLineSplitter() {
  let pending = [];
  let lineNumber = 0;

  function parse(text) {
    lineNumber += 1;
    try {
      return JSON.parse(text);
    } catch (cause) {
      throw new Error(`line ${lineNumber} of the stream is not JSON (${cause.message}): ${text.slice(0, 80)}`, { cause });
    }
  }

  function push(chunk) {
    const lines = [];
    let start = 0;
    let newline = chunk.indexOf('\n');
    while (newline !== -1) {
      pending.push(chunk.slice(start, newline));
      const text = pending.join('');
      pending = [];
      if (text.trim()) lines.push(parse(text));
      start = newline + 1;
      newline = chunk.indexOf('\n', start);
    }
    if (start < chunk.length) pending.push(chunk.slice(start));
    return lines;
  }

  /** The last line when the stream ends without a newline. */
  function end() {
    const text = pending.join('');
    pending = [];
    return text.trim() ? [parse(text)] : [];
  }

  return { push, end };
}

// Lines handled in one go before the reader lets the page paint: chunks already buffered resolve
// reader.read() at once, as microtasks of one task, so a backlog of thousands of records (a page
// that was busy, a run recorded every step) was one long task without this.
const SLICE_MS = 8;

function nextTask() {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Reads a fetch Response body line by line, calling onLine(object) for each line in order,
 * yielding to the page every SLICE_MS of work. Resolves when the body ends; rejects with the
 * fetch's AbortError when its signal aborts.
 */
export async function readNdjson(response, onLine, { sliceMs = SLICE_MS } = {}) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  const splitter = createLineSplitter();
  let sliceStart = performance.now();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    for (const line of splitter.push(decoder.decode(value, { stream: true }))) onLine(line);
    if (performance.now() - sliceStart > sliceMs) {
      await nextTask();
      sliceStart = performance.now();
    }
  }
  for (const line of splitter.push(decoder.decode())) onLine(line);
  for (const line of splitter.end()) onLine(line);
}
