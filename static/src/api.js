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
    this.detail = { error }; // the 4xx body, as a viewer's compute function rejects with it
  }
}

/** What a viewer without a compute function (a saved file) answers every tool that needs one. */
export const OFFLINE_MESSAGE = 'This view shows a saved graph: this needs chainlens running '
  + '(pip install chainlens, then chainlens, or chainlens.show in a notebook).';

/**
 * An error from a viewer's compute function as an ApiError: the 4xx body's `error` when it
 * carries one (`.detail`), else its message.
 */
function asApiError(error) {
  if (error instanceof ApiError) return error;
  const detail = error && error.detail;
  const body = detail && typeof detail === 'object' && detail.error ? detail.error
    : { kind: 'compute', message: String((error && error.message) || error) };
  return new ApiError(body, (error && error.status) || 0);
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

/** The server as a viewer's compute function: POST `path` with `body`, the JSON answer. */
export function serverCompute(path, body) {
  return request(path, postJson(body));
}

/**
 * The graph routes the viewer uses, over a compute function `(path, body) => Promise<json>` (the
 * server's, a notebook kernel's; none for a saved file: every call then says it needs chainlens
 * running). Errors come back as ApiError, whoever computed.
 */
export function graphApi(compute) {
  const ask = async (path, body) => {
    if (!compute) throw new ApiError({ kind: 'offline', message: OFFLINE_MESSAGE }, 503);
    try {
      return await compute(path, body);
    } catch (error) {
      throw asApiError(error);
    }
  };
  const graph = async (path, body) => fromColumns(await ask(`${path}?format=columns`, body));
  return {
    /** POST /graph/backward: the graph, values, gradients and the step timeline. */
    runBackward: (body) => graph('/graph/backward', backwardBody(body)),
    /** POST /graph/forward: values only (the inspector's nudge). */
    runForward: (body) => graph('/graph/forward', body),
    /** POST /graph/backward with `mode`: a replay of one of the tutorial's mistakes, with `diverges`. */
    runReplay: (body, mode) => graph('/graph/backward', { ...body, mode }),
    /** POST /graph/gradcheck: numeric against analytic gradients per input. */
    runGradcheck: (body) => ask('/graph/gradcheck', body),
  };
}

/** A backward request's body; `expand`: the composites to open (null, "all" or a list of op names). */
function backwardBody({ expression, inputs, grad_output: gradOutput = null, expand = null }) {
  return expand ? { expression, inputs, grad_output: gradOutput, expand } : { expression, inputs, grad_output: gradOutput };
}

const server = graphApi(serverCompute);

export const { runBackward, runForward, runReplay, runGradcheck } = server;

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

/** POST /train/gradcheck: the same answer for the batch of a training run's step `at` (the first without it). */
export function runTrainGradcheck(body) {
  return request('/train/gradcheck', postJson(body));
}

/** POST /graph/pytorch, /graph/dot or /graph/html: the export's text. */
export function fetchExport(kind, body) {
  return request(`/graph/${kind}`, postJson(body), { asText: true });
}

/** POST /train/html: the standalone HTML file of a training run's step `at` (in the body). */
export function fetchTrainHtml(body) {
  return request('/train/html', postJson(body), { asText: true });
}
