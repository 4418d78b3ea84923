/**
 * The Train form's values ↔ the request's `train` object (docs/api.md, Training). The form shows
 * the optimizer, its numbers, the batch size, the steps and the record interval; everything else
 * of the example's config (params, eval, the batch seed) is carried through unchanged. Pure.
 */

const OPTIMIZER_DEFAULTS = {
  sgd: { lr: 0.01, momentum: 0, weight_decay: 0 },
  adam: { lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0 },
};

/** Every form field, with what it may hold (checked before anything is sent). */
export const FIELDS = {
  optimizer: { label: 'optimizer' },
  lr: { label: 'learning rate', positive: true },
  momentum: { label: 'momentum', min: 0, below: 1 },
  beta1: { label: 'β1', min: 0, below: 1 },
  beta2: { label: 'β2', min: 0, below: 1 },
  eps: { label: 'eps', positive: true },
  weight_decay: { label: 'weight decay', min: 0 },
  batch_size: { label: 'batch size', integer: true, positive: true, optional: true },
  steps: { label: 'steps', integer: true, positive: true },
  record_every: { label: 'record every', integer: true, positive: true },
};

/** The form's values (strings, as inputs hold them) for an example's `train` config. */
export function formFromConfig(train = {}) {
  const optimizer = train.optimizer || { name: 'sgd' };
  const name = optimizer.name === 'adam' ? 'adam' : 'sgd';
  const defaults = OPTIMIZER_DEFAULTS[name];
  const betas = optimizer.betas || [OPTIMIZER_DEFAULTS.adam.beta1, OPTIMIZER_DEFAULTS.adam.beta2];
  const steps = train.steps ?? 1000;
  return {
    optimizer: name,
    lr: String(optimizer.lr ?? defaults.lr),
    momentum: String(optimizer.momentum ?? 0),
    beta1: String(betas[0]),
    beta2: String(betas[1]),
    eps: String(optimizer.eps ?? OPTIMIZER_DEFAULTS.adam.eps),
    weight_decay: String(optimizer.weight_decay ?? 0),
    batch_size: train.batch ? String(train.batch.size) : '',
    steps: String(steps),
    record_every: String(train.record_every ?? Math.max(1, Math.floor(steps / 100))),
  };
}

function readNumber(values, key) {
  const rule = FIELDS[key];
  const text = String(values[key] ?? '').trim();
  if (text === '' && rule.optional) return { value: null };
  const value = Number(text);
  const fail = (message) => ({ error: { field: key, message: `${rule.label} ${message}` } });
  if (text === '' || !Number.isFinite(value)) return fail(`must be a number, got "${text}"`);
  if (rule.integer && !Number.isInteger(value)) return fail(`must be a whole number, got ${text}`);
  if (rule.positive && value <= 0) return fail(`must be above 0, got ${text}`);
  if (rule.min !== undefined && value < rule.min) return fail(`must be at least ${rule.min}, got ${text}`);
  if (rule.below !== undefined && value >= rule.below) return fail(`must be below ${rule.below}, got ${text}`);
  return { value };
}

/**
 * The `train` object for the form's values, built on the example's config (`base`), or
 * `{error: {field, message}}` naming the first field that does not hold a valid number.
 */
export function configFromForm(values, base = {}) {
  const name = values.optimizer === 'adam' ? 'adam' : 'sgd';
  const keys = name === 'adam' ? ['lr', 'beta1', 'beta2', 'eps', 'weight_decay'] : ['lr', 'momentum', 'weight_decay'];
  const read = {};
  for (const key of [...keys, 'batch_size', 'steps', 'record_every']) {
    const result = readNumber(values, key);
    if (result.error) return result;
    read[key] = result.value;
  }
  // The example's own optimizer options (dampening, nesterov) stay when the optimizer stays.
  const kept = base.optimizer && base.optimizer.name === name ? { ...base.optimizer } : { name };
  const optimizer = name === 'adam'
    ? { ...kept, name, lr: read.lr, betas: [read.beta1, read.beta2], eps: read.eps, weight_decay: read.weight_decay }
    : { ...kept, name, lr: read.lr, momentum: read.momentum, weight_decay: read.weight_decay };
  if (name === 'sgd') {
    delete optimizer.betas;
    delete optimizer.eps;
  }
  const train = { ...base, optimizer, steps: read.steps, record_every: Math.min(read.record_every, read.steps) };
  if (read.batch_size === null) delete train.batch;
  else train.batch = { seed: 0, ...(base.batch || {}), size: read.batch_size };
  return { train };
}
