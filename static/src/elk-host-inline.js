/**
 * elk-host.js for the standalone viewer bundle: the worker's source is part of the bundle (the
 * build's `elk-worker-source` module) and the worker starts from a Blob URL, so one file holds
 * everything (a notebook widget, a saved HTML file opened from disk).
 */
import ELK from 'elkjs/lib/elk-api.js';
import source from 'elk-worker-source';

let workerUrl = null;

export function createElk() {
  workerUrl ??= URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
  return new ELK({ workerUrl });
}
