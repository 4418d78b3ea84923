/**
 * ESLint (flat config) over the UI's sources (static/src), its Node tests (tests/ui) and the
 * build and helper scripts. `make lint` runs it; scripts/lint-fix.sh applies its autofixes.
 *
 * eslint:recommended catches the real mistakes (undefined and unused names, unreachable code,
 * duplicate keys, a caught error thrown away without its cause). On top of it, rules chosen for
 * this code:
 *   eqeqeq (smart)        == only against null: the stepper compares ids and numbers that may be 0
 *   no-var, prefer-const  block scoping; a const says the binding never changes
 *   no-shadow             a name hiding an outer one has misled readers of render.js and explain.js
 *                         ('hoist: never': a later top-level function does not count)
 *   no-eval, no-implied-eval, no-new-func  the UI never runs text as code (SECURITY.md)
 *   no-console            the page logs nothing; errors are shown to the user where they happen
 *   object-shorthand, curly (multi-line)  the style the sources already use, autofixed
 * Left off: no-use-before-define (module constants are read inside functions defined above them,
 * which runs only after the module has loaded); no-loop-func (with no-var every loop variable is
 * block-scoped, so the stale-closure bug it guards against cannot happen, and what it still reports
 * are callbacks that deliberately add to an outer total); formatting rules (no JS formatter yet).
 */
import js from '@eslint/js';
import globals from 'globals';

export default [
  { ignores: ['static/dist/**', 'node_modules/**', 'test-output/**', 'bench/results/**', '.venv/**'] },
  js.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: 'module' },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      eqeqeq: ['error', 'smart'],
      'no-var': 'error',
      'prefer-const': 'error',
      'no-shadow': ['error', { hoist: 'never' }],
      'no-eval': 'error',
      'no-implied-eval': 'error',
      'no-new-func': 'error',
      'no-console': 'error',
      'no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'object-shorthand': 'error',
      curly: ['error', 'multi-line'],
    },
  },
  {
    // The page's modules run in the browser.
    files: ['static/src/**/*.js'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    // Node: the UI's unit tests, the bundler script, this file and the helper scripts.
    files: ['tests/ui/**/*.js', 'tests/ui/**/*.mjs', 'static/build.mjs', 'eslint.config.js', 'scripts/**/*.mjs'],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    // Command-line scripts report on the console.
    files: ['scripts/**/*.mjs', 'static/build.mjs'],
    rules: { 'no-console': 'off' },
  },
];
