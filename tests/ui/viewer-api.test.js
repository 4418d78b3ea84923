// The viewer's graph routes over a host's compute function (static/src/api.js graphApi): what the
// notebook widget and a saved file rely on. The paths and bodies the function is asked, column
// bodies decoded, a 4xx rejection (an Error with .status and .detail) turned into the ApiError the
// tools show, and no compute function at all: every tool answers that it needs chainlens running.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError, OFFLINE_MESSAGE, graphApi } from '../../static/src/api.js';
import { fixture } from './load.js';

function recording(answer) {
  const asked = [];
  const compute = async (path, body) => {
    asked.push([path, body]);
    return answer(path, body);
  };
  return { asked, compute };
}

const REQUEST = { expression: 'q = x + y\nf = q * z', inputs: { x: -2, y: 5, z: -4 }, grad_output: null };

test('runs ask /graph/backward for columns and answer the object layout', async () => {
  const { asked, compute } = recording(() => fixture('chain-rule.columns'));
  const body = await graphApi(compute).runBackward({ ...REQUEST, expand: ['sigmoid'] });
  assert.deepStrictEqual(body, fixture('chain-rule'));
  assert.deepStrictEqual(asked, [['/graph/backward?format=columns', { ...REQUEST, expand: ['sigmoid'] }]]);
});

test('a compute function that answers the object layout is taken as it is', async () => {
  const { compute } = recording(() => fixture('chain-rule'));
  assert.deepStrictEqual(await graphApi(compute).runBackward(REQUEST), fixture('chain-rule'));
});

test('replays, the forward pass and the gradient check go to their routes', async () => {
  const { asked, compute } = recording(() => ({ ok: true }));
  const api = graphApi(compute);
  await api.runReplay(REQUEST, 'overwrite');
  await api.runForward(REQUEST);
  await api.runGradcheck(REQUEST);
  assert.deepStrictEqual(asked.map(([path]) => path), [
    '/graph/backward?format=columns', '/graph/forward?format=columns', '/graph/gradcheck',
  ]);
  assert.equal(asked[0][1].mode, 'overwrite');
});

test('a 4xx rejection becomes the ApiError of its body', async () => {
  const detail = fixture('error-unknown-function');
  const compute = async () => { throw Object.assign(new Error('refused'), { status: 422, detail }); };
  await assert.rejects(graphApi(compute).runBackward(REQUEST), (error) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 422);
    assert.deepStrictEqual(error.error, detail.error);
    return true;
  });
});

test('an error without a body keeps its message', async () => {
  const compute = async () => { throw new Error('the kernel is gone'); };
  await assert.rejects(graphApi(compute).runGradcheck(REQUEST), (error) => {
    assert.ok(error instanceof ApiError);
    assert.deepStrictEqual([error.status, error.error.kind, error.error.message], [0, 'compute', 'the kernel is gone']);
    return true;
  });
});

test('without a compute function every route says it needs chainlens running', async () => {
  const api = graphApi(null);
  for (const call of [api.runBackward(REQUEST), api.runForward(REQUEST), api.runGradcheck(REQUEST), api.runReplay(REQUEST, 'overwrite')]) {
    await assert.rejects(call, (error) => error instanceof ApiError && error.status === 503
      && error.error.kind === 'offline' && error.error.message === OFFLINE_MESSAGE);
  }
  assert.match(OFFLINE_MESSAGE, /needs chainlens running/);
});
