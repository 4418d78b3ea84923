#!/usr/bin/env bash
# Applies the linters' mechanical fixes to the whole tree, then reports what is left for a person:
#
#   bash scripts/lint-fix.sh            (from anywhere; runs at the repository root)
#
# 1. ruff check --fix   safe autofixes only (import order, pyupgrade spellings, comprehensions)
# 2. ruff format        the formatter (line length 120; pyproject.toml's [tool.ruff])
# 3. eslint --fix       the autofixable ESLint rules (eslint.config.js)
# then `make lint`'s checks, each reporting rather than stopping, with a count per rule or code.
# What remains after it needs hand fixes: missing annotations (ANN), long strings and comments
# (E501), mypy's findings, and ESLint's non-fixable rules. Review the diff before committing: the
# formatter rewrites continuation lines in most files (no behaviour changes; `git diff -w` is
# shorter). PYTHON=/path/to/python selects the interpreter (default: .venv/bin/python, else python3).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[[ -x $PY ]] || PY=python3
for module in ruff mypy; do
  "$PY" -c "import $module" 2>/dev/null || { echo "lint-fix: $module is missing: pip install -e '.[lint]'"; exit 2; }
done
[[ -x node_modules/.bin/eslint ]] || { echo "lint-fix: eslint is missing: npm ci"; exit 2; }

"$PY" -m ruff check --fix-only --quiet .
"$PY" -m ruff format --quiet .
# Formatting may leave fixable import blocks (and fixes may reflow lines): one more round settles both.
"$PY" -m ruff check --fix-only --quiet .
"$PY" -m ruff format --quiet .
node_modules/.bin/eslint --fix . >/dev/null || true

status=0
echo "== ruff check (left for hand fixes)"
"$PY" -m ruff check --statistics . || status=1
"$PY" -m ruff check --output-format concise . | grep -oE '^[^:]+\.py' | sort | uniq -c | sort -rn
echo "== ruff format --check"
"$PY" -m ruff format --check . || status=1
echo "== mypy (errors per code)"
if ! out=$("$PY" -m mypy 2>&1); then
  status=1
  grep -oE '\[[a-z-]+\]$' <<<"$out" | sort | uniq -c | sort -rn
  tail -n 1 <<<"$out"
else
  echo "$out"
fi
echo "== eslint"
node_modules/.bin/eslint . || status=1
exit $status
