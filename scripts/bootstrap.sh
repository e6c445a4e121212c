#!/usr/bin/env bash
# Create .venv/ at the repo root and install kb into it, once. torch==2.13.0 goes first: it is the local CPU
# build; any other torch pulls gigabytes of CUDA packages. Re-runs do nothing until pyproject.toml changes.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
stamp="$venv/.kb-installed"
if [ -f "$stamp" ] && [ "$stamp" -nt "$root/pyproject.toml" ]; then
  exit 0
fi
python="$(command -v python3.11 || command -v python3)"
echo "kb: setting up $venv (first run only)..." >&2
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip >&2
"$venv/bin/python" -m pip install -q torch==2.13.0 >&2
"$venv/bin/python" -m pip install -q -e "$root[test,milvus]" >&2
touch "$stamp"
