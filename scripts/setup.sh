#!/usr/bin/env bash
# Creates .venv (if missing) and installs pipeline with its test extras into it.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -x .venv/bin/python ]]; then
    python3 -m venv .venv
fi
if ! .venv/bin/python -c "import pipeline, pytest, ruff" 2>/dev/null \
    || [[ pyproject.toml -nt .venv/.installed ]]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e '.[test]'
    touch .venv/.installed
fi
# Byte-code for the package, as an installed package has it: where PYTHONDONTWRITEBYTECODE is set
# (as on CI's machines), every `pipeline` command would otherwise compile each module it imports.
.venv/bin/python -m compileall -q pipeline >/dev/null
