import { fromColumns } from './columns.js';

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

async function send(path, options) {
  try {
    return await fetch(path, options);
  } catch (cause) {
    if (cause.name === 'AbortError') throw cause;
    throw new ApiError({ kind: 'network', message: `The server did not answer (${cause.message}). Is chainlens still running?` }, 0);
  }
}

/** Reads a JSON body (or the text, with asText); a 4xx/5xx becomes the ApiError carrying the body's `error`. */
async function jsonBody(response, { asText = false } = {}) {
  const text = await response.text();
  let body;
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

async function request(path, options = {}, reading = {}) {
  return jsonBody(await send(path, options), reading);
}

/**
 * A route that answers a graph: asked for the column layout (about a third of the bytes on long
 * timelines; the browser takes it gzipped), handed to the UI in the object layout (columns.js).
 */
async function graphRequest(path, options) {
  return fromColumns(await request(`${path}?format=columns`, options));
}

/** POST /graph/backward: the graph, values, gradients and the step timeline. */
export function runBackward({ expression, inputs, grad_output: gradOutput = null, expand = null }) {
  // `expand`: the composites to open into their primitives (null, "all" or a list of op names).
  const body = expand ? { expression, inputs, grad_output: gradOutput, expand } : { expression, inputs, grad_output: gradOutput };
  return graphRequest('/graph/backward', {
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

function postJson(body, signal) {
  return { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal };
}

/**
 * POST /train: resolves to the streaming Response once the server accepted the run (read it
 * with train/ndjson.js); a refused run (4xx before anything streams) throws ApiError as above.
 */
export async function openTrainingStream(body, signal) {
  const response = await send('/train', postJson(body, signal));
  if (!response.ok) await jsonBody(response);
  return response;
}

/** POST /train/graph: the ordinary graph response of the run's step `at`. */
export function fetchTrainGraph(body, at, signal) {
  return graphRequest('/train/graph', postJson({ ...body, at }, signal));
}

export function fetchDatasets() {
  return request('/datasets').then((body) => body.datasets);
}

/** POST /graph/forward: values only (the inspector's nudge). */
export function runForward(body) {
  return graphRequest('/graph/forward', postJson(body));
}

/** POST /graph/backward with `mode`: a replay of one of the tutorial's mistakes, with `diverges`. */
export function runReplay(body, mode) {
  return graphRequest('/graph/backward', postJson({ ...body, mode }));
}

/** POST /graph/gradcheck: numeric against analytic gradients per input. */
export function runGradcheck(body) {
  return request('/graph/gradcheck', postJson(body));
}

/** POST /train/gradcheck: the same answer for the batch of a training run's step `at` (the first without it). */
export function runTrainGradcheck(body) {
  return request('/train/gradcheck', postJson(body));
}

/** POST /graph/pytorch or /graph/dot: the export's text. */
export function fetchExport(kind, body) {
  return request(`/graph/${kind}`, postJson(body), { asText: true });
}
