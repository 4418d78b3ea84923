import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLineSplitter, readNdjson } from '../../static/src/train/ndjson.js';

const start = { type: 'start', steps: 40, params: ['W', 'b'] };
const record = { type: 'record', step: 20, losses: [3.5, 2.25], eval: null };
const done = { type: 'done', params: { W: [[1.5, -2]], b: [0.25] } };
const text = [start, record, done].map((line) => JSON.stringify(line)).join('\n') + '\n';

function splitEverywhere(chunkSize) {
  const splitter = createLineSplitter();
  const lines = [];
  for (let at = 0; at < text.length; at += chunkSize) lines.push(...splitter.push(text.slice(at, at + chunkSize)));
  lines.push(...splitter.end());
  return lines;
}

test('lines split across chunks of every size come out whole and in order', () => {
  for (const size of [1, 2, 3, 7, 16, 50, text.length]) {
    assert.deepEqual(splitEverywhere(size), [start, record, done], `chunks of ${size}`);
  }
});

test('a last line without a newline is delivered at the end; blank lines are skipped', () => {
  const splitter = createLineSplitter();
  assert.deepEqual(splitter.push('{"type":"start"}\n\n{"type":"re'), [{ type: 'start' }]);
  assert.deepEqual(splitter.push('cord","step":1}'), []);
  assert.deepEqual(splitter.end(), [{ type: 'record', step: 1 }]);
  assert.deepEqual(splitter.end(), []);
});

test('a line that is not JSON is reported with its line number', () => {
  const splitter = createLineSplitter();
  splitter.push('{"type":"start"}\n');
  assert.throws(() => splitter.push('{"type": rec\n'), /line 2 of the stream is not JSON/);
});

test('readNdjson decodes UTF-8 characters split between network chunks', async () => {
  const bytes = new TextEncoder().encode(`${JSON.stringify({ type: 'error', message: 'diverged at step 312: ∂L/∂W is NaN' })}\n`);
  const cut = bytes.indexOf(0xe2) + 1; // inside the three bytes of ∂
  const body = new ReadableStream({
    start(controller) {
      controller.enqueue(bytes.slice(0, cut));
      controller.enqueue(bytes.slice(cut));
      controller.close();
    },
  });
  const lines = [];
  await readNdjson(new Response(body), (line) => lines.push(line));
  assert.deepEqual(lines, [{ type: 'error', message: 'diverged at step 312: ∂L/∂W is NaN' }]);
});

test('readNdjson rejects with the AbortError of a stopped run, after the lines already read', async () => {
  let pulls = 0;
  const body = new ReadableStream({
    pull(stream) {
      pulls += 1;
      // What a fetch body does when its AbortController aborts: the next read rejects.
      if (pulls === 3) stream.error(new DOMException('The user aborted a request.', 'AbortError'));
      else stream.enqueue(new TextEncoder().encode(`{"type":"record","step":${pulls}}\n`));
    },
  });
  const lines = [];
  const error = await readNdjson(new Response(body), (line) => lines.push(line)).catch((caught) => caught);
  assert.equal(error.name, 'AbortError');
  assert.deepEqual(lines.map((line) => line.step), [1, 2]);
});

test('readNdjson lets other tasks run during a long backlog of buffered lines, keeping every line in order', async () => {
  const chunks = 200;
  const body = new ReadableStream({
    start(controller) { // all buffered at once: every read() resolves without waiting
      for (let i = 1; i <= chunks; i += 1) controller.enqueue(new TextEncoder().encode(`{"step":${i}}\n`));
      controller.close();
    },
  });
  let timerRan = false;
  let linesBeforeTimer = null;
  const lines = [];
  setTimeout(() => { timerRan = true; linesBeforeTimer = lines.length; }, 0);
  // a negative slice: yield after every chunk, as a page whose work per chunk is past the slice
  await readNdjson(new Response(body), (line) => lines.push(line), { sliceMs: -1 });
  assert.ok(timerRan, 'the timer ran before the stream was read to its end');
  assert.ok(linesBeforeTimer < chunks, `${linesBeforeTimer} lines were read before the timer ran`);
  assert.deepEqual(lines.map((line) => line.step), Array.from({ length: chunks }, (_, i) => i + 1));
});
