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
echo "== official LeRobot/robomimic readers for the conformance tests (.venv-lerobot)" >&2
bash scripts/lerobot_env.sh
echo "== pytest" >&2
exec uv run --frozen pytest -p no:cacheprovider --cov=bp_sdk --cov-report=term --cov-fail-under=90 "$@"
