#!/usr/bin/env bash
# Set up and run every check: lint, format, types, then the test suite (last line:
# pytest's summary). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export PATH="$HOME/.local/bin:$PATH"

echo "== ruff check" >&2
uv run --frozen ruff check .
echo "== ruff format --check" >&2
uv run --frozen ruff format --check sdk cli dataset jobs
echo "== mypy" >&2
uv run --frozen mypy
echo "== Chromium for the browser tests (scripts/chromium.sh)" >&2
bash scripts/chromium.sh
echo "== official LeRobot/robomimic readers for the conformance tests (.venv-lerobot)" >&2
bash scripts/lerobot_env.sh
echo "== checkov and the Google provider schema for the infra tests (.venv-infra)" >&2
bash scripts/infra_tools_env.sh
# container tests (tests/containers): a Docker engine and the job images they run.
# BP_DOCKER_TESTS=0 skips them; BP_DOCKER_JOBS picks the images (default below; "all" for every
# image). Outside CI an engine that cannot start only skips them.
if [ "${BP_DOCKER_TESTS:-1}" != 0 ]; then
  echo "== Docker engine and job images (scripts/build_images.sh)" >&2
  if bash scripts/docker_engine.sh || [ -n "${CI:-}" ]; then
    read -r -a images <<<"${BP_DOCKER_JOBS:-ingest simready assemble variations tasks episodes export gate deliver report episodes-gpu}"
    [ "${images[*]}" != all ] || images=()
    bash scripts/build_images.sh "${images[@]}"
    [ "${#images[@]}" -gt 0 ] || mapfile -t images < <(bash scripts/build_images.sh --list)
    BP_DOCKER_IMAGES="$(IFS=,; echo "${images[*]}")"
    export BP_DOCKER_IMAGES
  fi
fi
# bounded fuzzing of the parsers of untrusted input (scripts/fuzz.sh, docs/FAULTS.md):
# BP_FUZZ_SECONDS is its budget (default 120 s); 0 skips it, outside CI only. A finding (a
# traceback, a hang, a commit from bad input) fails the command, each one listed.
fuzz_seconds="${BP_FUZZ_SECONDS:-120}"
if [ "$fuzz_seconds" = 0 ] && [ -z "${CI:-}" ]; then
  echo "== fuzz: skipped (BP_FUZZ_SECONDS=0)" >&2
elif [ "$fuzz_seconds" = 0 ]; then
  echo "BP_FUZZ_SECONDS=0 skips fuzzing outside CI only; unset it (or give seconds) in CI" >&2
  exit 2
else
  echo "== fuzz (scripts/fuzz.sh $fuzz_seconds)" >&2
  bash scripts/fuzz.sh "$fuzz_seconds"
fi
echo "== pytest" >&2
exec uv run --frozen pytest -p no:cacheprovider --cov=bp_sdk --cov-report=term --cov-fail-under=90 "$@"
