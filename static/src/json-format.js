/**
 * Inputs as people read them: JSON with one key per line and one matrix row per line, and the
 * place of a JSON syntax error as line:column (so the inputs box can underline it too).
 */
import { positionOf } from './editor.js';

/** Pretty JSON: short arrays of numbers stay on one line; arrays of arrays get a row per line. */
export function formatJson(value, indent = '') {
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.every((item) => !Array.isArray(item) && (item === null || typeof item !== 'object'))) {
      return `[${value.map((item) => JSON.stringify(item)).join(', ')}]`;
    }
    return `[\n${value.map((item) => inner + formatJson(item, inner)).join(',\n')}\n${indent}]`;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0) return '{}';
    const oneLine = `{${entries.map(([key, item]) => `${JSON.stringify(key)}: ${formatJson(item, inner)}`).join(', ')}}`;
    if (!oneLine.includes('\n') && oneLine.length <= 60 && indent) return oneLine;
    return `{\n${entries.map(([key, item]) => `${inner}${JSON.stringify(key)}: ${formatJson(item, inner)}`).join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(value);
}

/** Parses JSON; on failure returns {error: {message, line, column}} instead of throwing. */
export function parseJson(text, what) {
  try {
    return { value: JSON.parse(text) };
  } catch (cause) {
    const message = String(cause.message);
    let place = null;
    const lineColumn = /line (\d+) column (\d+)/.exec(message);
    const position = /position (\d+)/.exec(message);
    if (lineColumn) place = { line: Number(lineColumn[1]), column: Number(lineColumn[2]) };
    else if (position) place = positionOf(text, Number(position[1]));
    else if (/end of JSON input/.test(message)) place = positionOf(text, text.length);
    const where = place ? ` (line ${place.line}, column ${place.column})` : '';
    return {
      error: {
        kind: 'invalid_json',
        message: `${what} are not valid JSON: ${message.replace(/\s*\(line \d+ column \d+\)/, '').replace(/ in JSON at position \d+/, '')}${where}`,
        ...(place ? { line: place.line, column: place.column, end_line: place.line, end_column: place.column + 1 } : {}),
      },
    };
  }
}
