/**
 * The layout engine's host: ELK's API on a Web Worker (layout runs off the main thread), its
 * script served beside the bundle (static/dist/elk-worker.min.js). The standalone viewer bundle
 * (static/dist/viewer.js) is built with elk-host-inline.js in this module's place: the worker's
 * source inlined, started from a Blob URL (static/build.mjs).
 */
import ELK from 'elkjs/lib/elk-api.js';

export function createElk() {
  return new ELK({ workerUrl: new URL('./elk-worker.min.js', import.meta.url).href });
}
