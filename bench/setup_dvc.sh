#!/usr/bin/env bash
# Create bench/.venv-dvc with DVC in it, for the store and pipeline benchmarks.
# The venv is gitignored (bench/.venv*/ is never committed). Idempotent.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv-dvc"
if [ ! -x "$venv/bin/dvc" ]; then
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  "$venv/bin/python" -m pip install --quiet "dvc>=3,<4"
fi
"$venv/bin/dvc" --version
