#!/usr/bin/env bash
# Set up and run the whole pipeline (every installed stage, in order) on the embedded
# default: file:// storage under ./bp-data, jobs as local subprocesses.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export PATH="$HOME/.local/bin:$PATH"

SCENE="${1:-examples/scenes/kitchen_counter}"
uv run --frozen bp run "$SCENE"
