/**
 * The API client: the only module that speaks HTTP. Errors come back as values, not throws,
 * so callers handle the 4xx body (`{"error": {kind, message, line, column, ...}}`) in one place.
 */

export class ApiError extends Error {
  constructor(error, status) {
    super(error.message);
    this.error = error;
    this.status = status;
  }
}

async function request(path, options = {}, { asText = false } = {}) {
  let response;
  try {
    response = await fetch(path, options);
  } catch (cause) {
    throw new ApiError({ kind: 'network', message: `The server did not answer (${cause.message}). Is chainlens still running?` }, 0);
  }
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    const error = body && body.error ? body.error
      : { kind: 'http', message: `The server answered ${response.status} ${response.statusText}.` };
    throw new ApiError(error, response.status);
  }
  return asText ? text : body;
}

/** POST /graph/backward: the graph, values, gradients and the step timeline. */
export function runBackward({ expression, inputs, grad_output: gradOutput = null }) {
  return request('/graph/backward', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ expression, inputs, grad_output: gradOutput }),
  });
}

export function fetchExamples() {
  return request('/examples').then((body) => body.examples);
}

export function fetchOps() {
  return request('/ops');
}

function post(body) {
  return { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/** POST /graph/forward: values only (the inspector's nudge). */
export function runForward(body) {
  return request('/graph/forward', post(body));
}

/** POST /graph/backward with `mode`: a replay of one of the tutorial's mistakes, with `diverges`. */
export function runReplay(body, mode) {
  return request('/graph/backward', post({ ...body, mode }));
}

/** POST /graph/gradcheck: numeric against analytic gradients per input. */
export function runGradcheck(body) {
  return request('/graph/gradcheck', post(body));
}

/** POST /graph/pytorch or /graph/dot: the export's text. */
export function fetchExport(kind, body) {
  return request(`/graph/${kind}`, post(body), { asText: true });
}
