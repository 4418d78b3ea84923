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

async function request(path, options = {}) {
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
  return body;
}

/** POST /graph/backward: the graph, values, gradients and the step timeline. */
export function runBackward({ expression, inputs, grad_output: gradOutput = null, expand = null }) {
  // `expand`: the composites to open into their primitives (null, "all" or a list of op names).
  const body = expand ? { expression, inputs, grad_output: gradOutput, expand } : { expression, inputs, grad_output: gradOutput };
  return request('/graph/backward', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

export function fetchExamples() {
  return request('/examples').then((body) => body.examples);
}

export function fetchOps() {
  return request('/ops');
}
