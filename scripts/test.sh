#!/usr/bin/env bash
# Set up a virtual environment from nothing and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test,anthropic,trl]'
exec .venv/bin/python -m pytest -q "$@"
