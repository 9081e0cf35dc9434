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
# Byte-code for the package, as an installed package has it: the environment may set
# PYTHONDONTWRITEBYTECODE=1 (CI's machines do), and without this every `pipeline` process
# (hundreds in the tests) compiles the package from source again (~0.2 s CPU each). A .pyc older
# than its source is recompiled in memory, so this is never stale; it writes what is out of date.
.venv/bin/python -m compileall -q pipeline >/dev/null
