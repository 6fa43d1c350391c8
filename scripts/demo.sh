#!/usr/bin/env bash
# Set up and run the pipeline on the embedded default (file:// storage under ./bp-data).
# Today the pipeline is the ingest stage; later stages join as they land.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export PATH="$HOME/.local/bin:$PATH"

SCENE="${1:-examples/scenes/kitchen_counter}"
uv run --frozen bp stage ingest --scene "$SCENE"

scene_id="$(basename "$SCENE")"
echo
echo "Committed outputs are under bp-data/scenes/${scene_id}/runs/<run>/ingest/ ;"
echo "the commit record (_SUCCESS.json) names the attempt folder that holds scene_manifest.json."
