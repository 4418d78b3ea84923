/**
 * Counts, per curated example, the timeline steps whose explanation shows a placeholder instead
 * of its math: a tensor named only by its shape ("[15 tensor]", "3×15 tensor") or an unexpanded
 * "vjp(...)". Reads the real API responses in tests/ui/fixtures (regenerate.py writes one per
 * example of app/examples.py, plus `.expanded` ones):
 *   node scripts/count_placeholders.mjs
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { explainView } from '../static/src/explain.js';
import { buildTimeline, viewAt } from '../static/src/stepper.js';

const FIXTURES = fileURLToPath(new URL('../tests/ui/fixtures/', import.meta.url));
export const PLACEHOLDER = /\btensor\b|\bvjp\b/;

/** The fixtures that are graph responses (not error bodies or gradient checks), by name. */
export function graphFixtures(folder = FIXTURES) {
  return readdirSync(folder).filter((name) => name.endsWith('.json')).sort()
    .map((name) => [name.replace(/\.json$/, ''), JSON.parse(readFileSync(join(folder, name), 'utf8'))])
    .filter(([, body]) => Array.isArray(body.steps));
}

/** {steps, backward, placeholders: [positions]} for one response. */
export function countPlaceholders(response) {
  const timeline = buildTimeline(response);
  const positions = [];
  let backward = 0;
  for (let position = 1; position <= timeline.total; position += 1) {
    const view = viewAt(timeline, position);
    if (view.current.phase === 'backward') backward += 1;
    const explanation = explainView(response, view);
    if (explanation.lines.some((line) => PLACEHOLDER.test(line.text) || PLACEHOLDER.test(line.tex))) positions.push(position);
  }
  return { steps: timeline.total, backward, placeholders: positions };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const [name, response] of graphFixtures()) {
    const { steps, backward, placeholders } = countPlaceholders(response);
    console.log(`${name.padEnd(28)} ${String(placeholders.length).padStart(3)} of ${String(steps).padStart(3)} steps (${backward} backward) show a placeholder`);
  }
}
