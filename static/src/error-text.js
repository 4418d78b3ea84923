/**
 * Error titles in words users know, from the API's machine-readable `kind`, and the message
 * without the place when the page shows the place as a button already (said once, not twice).
 * Pure: no DOM.
 */

const TITLES = {
  syntax_error: 'The program has a syntax error',
  unknown_name: 'Unknown name',
  unknown_function: 'Unknown function',
  shape_mismatch: 'The shapes do not fit',
  bad_arguments: 'Wrong arguments',
  forbidden: 'Not allowed in a program',
  invalid_input: 'A problem with an input',
  missing_input: 'An input is missing',
  invalid_request: 'The request is not what the server expects',
  limit_exceeded: 'Too large for this server',
  not_found: 'Not found',
  method_not_allowed: 'Not allowed',
  offline: 'This needs chainlens running',
};

/** `kind` (and the message, for JSON errors, which say which box) → a title in plain words. */
export function errorTitle(error) {
  if (error.kind === 'invalid_json') {
    const which = /^The upstream gradient/.test(error.message || '') ? 'upstream gradient' : 'inputs';
    return `The ${which} are not valid JSON`.replace('gradient are', 'gradient is');
  }
  if (TITLES[error.kind]) return TITLES[error.kind];
  const words = String(error.kind || 'error').replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The message with "(line 2, column 5)" / "at line 2, column 5" taken out: the button says it. */
export function messageWithoutPlace(message) {
  return String(message || '')
    .replace(/\s*\(\s*(?:at\s+)?line \d+,? column \d+\s*\)/gi, '')
    .replace(/\s*,?\s*at line \d+,? column \d+/gi, '')
    .replace(/\s*\bon line \d+,? column \d+/gi, '')
    .trim();
}

/** The message under a title: without the place (when a button shows it) and without repeating the title. */
export function errorBody(error, title, placeShown) {
  let text = placeShown ? messageWithoutPlace(error.message) : String(error.message || '');
  // "The inputs are not valid JSON: …" under the title "The inputs are not valid JSON".
  if (text.toLowerCase().startsWith(`${title.toLowerCase()}:`)) text = text.slice(title.length + 1).trim();
  return text;
}
