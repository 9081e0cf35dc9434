#!/usr/bin/env bash
# The test command: sets up .venv, starts the local WordPress (Debian packages, loopback only)
# and runs the whole test suite. Extra arguments go to pytest (e.g. scripts/test.sh -k render).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/wordpress.sh install
bash scripts/wordpress.sh start
exec .venv/bin/python -m pytest "$@"
