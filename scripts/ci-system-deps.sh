#!/usr/bin/env bash
# System packages the test suite needs beyond Python: Debian's chromium, which tests/api/test_web.py drives
# headless through playwright (no `playwright install`: that downloads a browser). Does nothing when present.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo -n)
else
  echo "ci-system-deps: /usr/bin/chromium is missing and this is not root (no sudo); the browser test will skip" >&2
  exit 0
fi
echo "ci-system-deps: installing chromium..." >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends chromium
