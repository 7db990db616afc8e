#!/usr/bin/env bash
# Set up a virtual environment from nothing and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test,anthropic,trl]'
# BFCL's checker for tests/test_matching_bfcl.py, without its dependencies (torch, provider SDKs,
# numpy==1.26.4): the test loads only ast_checker and the wheel's data, which need none of them.
.venv/bin/python -m pip install --quiet --no-deps bfcl-eval==2026.3.23
exec .venv/bin/python -m pytest -q "$@"
