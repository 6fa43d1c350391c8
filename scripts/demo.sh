#!/usr/bin/env bash
# Set up and run the whole pipeline on the embedded default: workflows/pipeline.yaml
# through the local interpreter, file:// storage under ./bp-data, jobs as subprocesses.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export PATH="$HOME/.local/bin:$PATH"

SCENE="${1:-examples/scenes/kitchen_counter}"
STORAGE="file://$PWD/bp-data"
# a short demo: 2 variants, one episode per task on the first variant, 2 shards
SETTINGS=(--set VARIATIONS_COUNT=2 --set EPISODES_PER_TASK=1 --set EPISODES_MAX_VARIANTS=1
  --set EPISODES_TASKS="${DEMO_TASKS:-pick_place}" --set EPISODES_MIN_SUCCESS_RATE=0.3)

# 1. blueprint -> episodes -> LeRobot v3.0 + robomimic dataset -> gate -> deliver.
#    Exit 4 means the gate failed threshold checks and delivery waits for an approval.
code=0
uv run --frozen bp run "$SCENE" --storage "$STORAGE" --tasks 2 "${SETTINGS[@]}" || code=$?

SCENE_ID="$(basename "$SCENE")"
RUN_ID="$(ls -t bp-data/scenes/"$SCENE_ID"/runs | head -n1)"
DATASET="$SCENE_ID-$RUN_ID"
if [ "$code" = 4 ]; then
  # 2. the gate judged this deliberately tiny dataset (one episode per task, one variant):
  #    record an audited approval of the failed threshold checks, as a person would, and
  #    run the pipeline again: every committed stage is skipped, deliver now runs
  FAILED="$(uv run --frozen python scripts/gate_failed_checks.py "$STORAGE" "$DATASET")"
  uv run --frozen bp approve --storage "$STORAGE" --dataset "$DATASET" --checks "$FAILED" \
    --expires-in 1d --local-identity \
    --reason "Demo dataset: one episode per task on one variant by design, to show the whole pipeline quickly"
  uv run --frozen bp run "$SCENE" --storage "$STORAGE" --tasks 2 "${SETTINGS[@]}"
elif [ "$code" != 0 ]; then
  exit "$code"
fi

# 3. verify the delivered copy as a lab would
uv run --frozen bp verify "bp-data/deliveries/internal/$DATASET"
