#!/usr/bin/env bash
# Bounded coverage-guided fuzzing (tests/fuzz): the blueprint reader (the real ingest stage),
# simready's mesh loader and `bp verify` on mutated datasets, each from its seed corpus in
# tests/fuzz/corpus/<target>/. Usage: scripts/fuzz.sh [SECONDS]  (total budget, default 120,
# split evenly between the three targets; the dataset target first builds its base dataset
# once, ~30 s, kept in $TMPDIR/bp-fuzz-cache-<uid>/).
# Exit 0: no crash, hang or commit from bad input; 1: findings (their inputs are kept and
# listed, each with the end of what happened); 2: usage. Uses atheris (libFuzzer) when
# installed, else the built-in engine. BP_FUZZ_TARGET=<target> runs that one target alone
# (blueprint, mesh, dataset, or selftest: the engine's planted faults) for the whole budget.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.local/bin:$PATH"

total="${1:-120}"
if ! [[ "$total" =~ ^[0-9]+$ ]] || [ "$total" -lt 3 ]; then
  echo "usage: scripts/fuzz.sh [SECONDS >= 3]" >&2
  exit 2
fi
target="${BP_FUZZ_TARGET:-all}"
per_target=$((total / 3))
[ "$target" = all ] || per_target="$total"

tmp_root="${TMPDIR:-/tmp}"
work="$(mktemp -d "$tmp_root/bp-fuzz.XXXXXX")"
case "$work" in
  "$tmp_root"/bp-fuzz.*) ;;
  *) echo "fuzz: refusing work folder $work" >&2; exit 2 ;;
esac
# hypothesis and the jobs' caches stay in the work folder too
export HYPOTHESIS_STORAGE_DIRECTORY="$work/hypothesis"
export MUJOCO_GL="${MUJOCO_GL:-egl}"

if [ "$target" = all ]; then
  echo "== fuzz: ${per_target}s per target (blueprint, mesh, dataset) in $work" >&2
else
  echo "== fuzz: ${per_target}s on target $target in $work" >&2
fi
status=0
uv run --frozen python -m tests.fuzz.engine "$target" --seconds "$per_target" --out "$work" || status=$?
if [ "$status" -eq 0 ]; then
  rm -rf -- "$work"
  echo "fuzz: no findings" >&2
else
  echo "fuzz: findings kept in $work/findings (inputs and what happened)" >&2
  for what in "$work"/findings/*.txt; do
    [ -e "$what" ] || continue
    echo "-- finding ${what%.txt}.bin:" >&2
    tail -n 5 -- "$what" >&2
  done
fi
exit "$status"
