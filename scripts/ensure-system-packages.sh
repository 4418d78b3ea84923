#!/usr/bin/env bash
# Debian packages the tests need besides Python's and Node's: Graphviz's `dot` renders the DOT
# export in tests/test_check_export.py. Installed when missing and we are allowed to.
set -euo pipefail
missing=()
command -v dot >/dev/null 2>&1 || missing+=(graphviz)
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]} from Debian's packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "missing system packages: ${missing[*]} (apt-get install ${missing[*]})" >&2
  exit 1
fi
