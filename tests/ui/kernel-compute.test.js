// The notebook widget's compute function over anywidget's messages (static/src/kernel-compute.js),
// with a fake model standing in for anywidget's: what is sent to the kernel, answers matched to
// their requests by id (in any order), 4xx answers rejected as the viewer's graphApi expects
// (an Error with .status and .detail), stray and malformed answers ignored, a silent kernel timed
// out, and close() rejecting what still waits and no longer listening.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kernelCompute, parsed } from '../../static/src/kernel-compute.js';

function fakeModel() {
  const handlers = new Set();
  const sent = [];
  return {
    sent,
    on(event, handler) { assert.equal(event, 'msg:custom'); handlers.add(handler); },
    off(event, handler) { handlers.delete(handler); },
    send(content) { sent.push(content); },
    answer(content) { for (const handler of [...handlers]) handler(content); },
    listening: () => handlers.size,
  };
}

const REQUEST = { expression: 'q = x + y\nf = q * z', inputs: { x: -2, y: 5, z: -4 }, grad_output: null };

test('a request goes to the kernel as JSON text and its answer resolves it', async () => {
  const model = fakeModel();
  const { compute } = kernelCompute(model);
  const promise = compute('/graph/backward?format=columns', REQUEST);
  assert.equal(model.sent.length, 1);
  const [message] = model.sent;
  assert.deepEqual({ ...message, body: JSON.parse(message.body) },
    { type: 'compute', id: message.id, path: '/graph/backward?format=columns', body: REQUEST });
  model.answer({ type: 'answer', id: message.id, status: 200, body: '{"max_rel_error": 1e-10}' });
  assert.deepEqual(await promise, { max_rel_error: 1e-10 });
});

test('answers are matched by id, in any order; strays and malformed messages are ignored', async () => {
  const model = fakeModel();
  const { compute } = kernelCompute(model);
  const first = compute('/graph/forward?format=columns', REQUEST);
  const second = compute('/graph/gradcheck', REQUEST);
  const [a, b] = model.sent.map((message) => message.id);
  assert.notEqual(a, b);
  for (const stray of [null, 'text', {}, { type: 'answer', id: 999, status: 200, body: '{}' },
    { type: 'other', id: a, status: 200, body: '{}' }]) {
    model.answer(stray);
  }
  model.answer({ type: 'answer', id: b, status: 200, body: '{"which": "second"}' });
  model.answer({ type: 'answer', id: a, status: 200, body: '{"which": "first"}' });
  assert.deepEqual(await first, { which: 'first' });
  assert.deepEqual(await second, { which: 'second' });
  model.answer({ type: 'answer', id: a, status: 200, body: '{"which": "again"}' }); // already settled: ignored
});

test('a 4xx answer rejects with .status and .detail, the error body', async () => {
  const model = fakeModel();
  const { compute } = kernelCompute(model);
  const promise = compute('/graph/backward?format=columns', { ...REQUEST, expression: 'q = x +' });
  const error = { kind: 'syntax_error', message: 'the expression is incomplete (line 1, column 8)', line: 1, column: 8 };
  model.answer({ type: 'answer', id: model.sent[0].id, status: 422, body: JSON.stringify({ error }) });
  await assert.rejects(promise, (rejected) => {
    assert.equal(rejected.message, error.message);
    assert.equal(rejected.status, 422);
    assert.deepEqual(rejected.detail, { error });
    return true;
  });
});

test('a body that is not JSON, or a 2xx without one, rejects naming the status', async () => {
  const model = fakeModel();
  const { compute } = kernelCompute(model);
  const bad = compute('/graph/gradcheck', REQUEST);
  const empty = compute('/graph/gradcheck', REQUEST);
  model.answer({ type: 'answer', id: model.sent[0].id, status: 500, body: '<html>' });
  model.answer({ type: 'answer', id: model.sent[1].id, status: 200, body: '' });
  await assert.rejects(bad, (error) => error.status === 500 && /500/.test(error.message));
  await assert.rejects(empty, (error) => error.status === 200);
});

test('a kernel that never answers: the request is rejected after the timeout', async () => {
  const model = fakeModel();
  const { compute } = kernelCompute(model, 20);
  await assert.rejects(compute('/graph/gradcheck', REQUEST),
    (error) => error.status === 0 && /kernel did not answer/.test(error.message));
  model.answer({ type: 'answer', id: model.sent[0].id, status: 200, body: '{}' }); // too late: ignored
});

test('close() rejects what still waits and stops listening', async () => {
  const model = fakeModel();
  const { compute, close } = kernelCompute(model);
  const waiting = compute('/graph/gradcheck', REQUEST);
  assert.equal(model.listening(), 1);
  close();
  assert.equal(model.listening(), 0);
  await assert.rejects(waiting, (error) => error.status === 0 && /closed/.test(error.message));
});

test('parsed: JSON text, or null for none and for text that is not JSON', () => {
  assert.deepEqual(parsed('{"a": [1, "NaN"]}'), { a: [1, 'NaN'] });
  assert.equal(parsed(''), null);
  assert.equal(parsed(undefined), null);
  assert.equal(parsed('{'), null);
});
