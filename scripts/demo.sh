#!/usr/bin/env bash
# Set up and run the whole pipeline (every installed stage, in order) on the embedded
# default: file:// storage under ./bp-data, jobs as local subprocesses.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export PATH="$HOME/.local/bin:$PATH"

SCENE="${1:-examples/scenes/kitchen_counter}"
# a short demo: 2 variants, one episode per task on the first variant, 2 shards
uv run --frozen bp run "$SCENE" --tasks 2 \
  --set VARIATIONS_COUNT=2 --set EPISODES_PER_TASK=1 --set EPISODES_MAX_VARIANTS=1 \
  --set EPISODES_TASKS="${DEMO_TASKS:-pick_place}" --set EPISODES_MIN_SUCCESS_RATE=0.3
