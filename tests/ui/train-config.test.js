import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configFromForm, formFromConfig } from '../../static/src/train/train-config.js';

// The digits example's train config, as GET /examples serves it.
const digits = {
  params: ['W1', 'b1', 'W2', 'b2', 'W3', 'b3'],
  optimizer: { name: 'sgd', lr: 0.1, momentum: 0.9 },
  steps: 1000,
  batch: { size: 32, seed: 0 },
  record_every: 20,
  eval: { x: { dataset: 'digits', field: 'images', split: 'test' }, labels: { dataset: 'digits', field: 'labels', split: 'test' } },
};

test("the form is prefilled from the example's config", () => {
  const values = formFromConfig(digits);
  assert.deepEqual(
    { optimizer: values.optimizer, lr: values.lr, momentum: values.momentum, batch_size: values.batch_size, steps: values.steps, record_every: values.record_every },
    { optimizer: 'sgd', lr: '0.1', momentum: '0.9', batch_size: '32', steps: '1000', record_every: '20' },
  );
  assert.equal(formFromConfig({ steps: 500 }).record_every, '5');
});

test('unchanged values give back the same config; params and eval are carried through', () => {
  const { train } = configFromForm(formFromConfig(digits), digits);
  assert.deepEqual(train, { ...digits, optimizer: { name: 'sgd', lr: 0.1, momentum: 0.9, weight_decay: 0 } });
});

test('Adam with its betas and eps; a blank batch size trains on all rows', () => {
  const values = { ...formFromConfig(digits), optimizer: 'adam', lr: '0.002', beta1: '0.8', beta2: '0.99', eps: '1e-7', batch_size: ' ' };
  const { train } = configFromForm(values, digits);
  assert.deepEqual(train.optimizer, { name: 'adam', lr: 0.002, betas: [0.8, 0.99], eps: 1e-7, weight_decay: 0 });
  assert.equal('batch' in train, false);
});

test('a record interval past the steps is the steps', () => {
  const { train } = configFromForm({ ...formFromConfig(digits), steps: '10', record_every: '20' }, digits);
  assert.equal(train.record_every, 10);
});

test('bad numbers name their field', () => {
  const bad = (change) => configFromForm({ ...formFromConfig(digits), ...change }, digits).error;
  assert.deepEqual(bad({ lr: '0' }), { field: 'lr', message: 'learning rate must be above 0, got 0' });
  assert.deepEqual(bad({ lr: 'fast' }), { field: 'lr', message: 'learning rate must be a number, got "fast"' });
  assert.deepEqual(bad({ steps: '2.5' }), { field: 'steps', message: 'steps must be a whole number, got 2.5' });
  assert.deepEqual(bad({ momentum: '1' }), { field: 'momentum', message: 'momentum must be below 1, got 1' });
  assert.deepEqual(bad({ weight_decay: '-1' }), { field: 'weight_decay', message: 'weight decay must be at least 0, got -1' });
  // Fields of the other optimizer are not read.
  assert.equal(bad({ beta1: 'x' }), undefined);
});
