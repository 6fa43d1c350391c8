#!/usr/bin/env bash
# Set up and run the whole pipeline (every installed stage, in order) on the embedded
# default: file:// storage under ./bp-data, jobs as local subprocesses.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export PATH="$HOME/.local/bin:$PATH"

SCENE="${1:-examples/scenes/kitchen_counter}"
STORAGE="file://$PWD/bp-data"
# a short demo: 2 variants, one episode per task on the first variant, 2 shards
SETTINGS=(--set VARIATIONS_COUNT=2 --set EPISODES_PER_TASK=1 --set EPISODES_MAX_VARIANTS=1
  --set EPISODES_TASKS="${DEMO_TASKS:-pick_place}" --set EPISODES_MIN_SUCCESS_RATE=0.3)

# 1. blueprint -> episodes -> LeRobot v3.0 + robomimic dataset -> quality gate
uv run --frozen bp run "$SCENE" --storage "$STORAGE" --tasks 2 --until gate "${SETTINGS[@]}"

# 2. the gate judges this deliberately tiny dataset (one episode per task, one variant):
#    when it fails a threshold, record an audited approval, as a person would
SCENE_ID="$(basename "$SCENE")"
RUN_ID="$(ls -t bp-data/scenes/"$SCENE_ID"/runs | head -n1)"
DATASET="$SCENE_ID-$RUN_ID"
FAILED="$(uv run --frozen python scripts/gate_failed_checks.py "$STORAGE" "$DATASET")"
if [ -n "$FAILED" ]; then
  uv run --frozen bp approve --storage "$STORAGE" --dataset "$DATASET" --checks "$FAILED" \
    --expires-in 1d --local-identity \
    --reason "Demo dataset: one episode per task on one variant by design, to show the whole pipeline quickly"
fi

# 3. deliver (copy + verify against SHA256SUMS + delivery record), then verify as a lab would
uv run --frozen bp run "$SCENE" --storage "$STORAGE" --tasks 2 "${SETTINGS[@]}"
uv run --frozen bp verify "bp-data/deliveries/internal/$DATASET"
