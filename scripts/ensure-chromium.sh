#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (Playwright's own browser download is not reachable
# from every machine we run on). Install it when it is missing and we are allowed to.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || [[ -n "${CHAINLENS_CHROMIUM:-}" ]]; then
  exit 0
fi
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "installing chromium from Debian's packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "chromium is missing: install it (apt-get install chromium) or set CHAINLENS_CHROMIUM" >&2
  exit 1
fi
