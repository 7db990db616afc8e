#!/usr/bin/env bash
# Set up a virtual environment from nothing and run the main job on the shipped sample.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[trl]'
exec .venv/bin/deepeyes run examples/quickstart.toml "$@"
