#!/usr/bin/env bash
# Create the TEST-ONLY environment `.venv-infra/` for the offline checks of infra/terraform:
# checkov and the prebuilt Google provider bindings for CDK for Terraform (whose bundled
# jsii assembly carries the provider's schema). It is a separate uv project,
# infra/tools/pyproject.toml with its own infra/tools/uv.lock, never part of the workspace:
# nothing the pipeline runs imports it. tests/infra/ finds it and skips (fails under CI)
# when it is missing.
#
# Idempotent: the stamp `.venv-infra/.bp-infra-env.stamp` holds the sha256 of this script and
# of infra/tools/{pyproject.toml,uv.lock}, written only after the smoke check passed; when it
# matches, the script does nothing (~0.05 s). Otherwise `uv sync --frozen` brings the venv to
# the lock (uv reuses what is already installed).
#
# Usage: bash scripts/infra_tools_env.sh     (~30 s fresh with a warm uv cache; ~350 MB)
# Env:   INFRA_VENV  where to create it (default: <repo>/.venv-infra)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
VENV="${INFRA_VENV:-$ROOT/.venv-infra}"
STAMP="${VENV:?}/.bp-infra-env.stamp"
export PATH="$HOME/.local/bin:$PATH"

say() { echo "infra_tools_env: $*" >&2; }

HASH="$(cat "$0" infra/tools/pyproject.toml infra/tools/uv.lock | sha256sum | cut -d' ' -f1)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$HASH" ] && [ -x "$VENV/bin/checkov" ]; then
  say "up to date ($VENV)"
  exit 0
fi

command -v uv >/dev/null 2>&1 || { say "uv is required (scripts/bootstrap.sh installs it)"; exit 1; }
if [ -e "$VENV" ] && [ ! -f "$VENV/pyvenv.cfg" ]; then
  say "$VENV exists and is not a virtual environment: refusing to replace it"
  exit 1
fi

mkdir -p "$(dirname "$VENV")"
# one run at a time per venv (the lock file lives outside the repository)
exec 9>"${TMPDIR:-/tmp}/bp-infra-env.$(echo "$VENV" | sha256sum | cut -c1-16).lock"
flock 9

START=$(date +%s)
rm -f "$STAMP"
say "uv sync --frozen --project infra/tools into $VENV"
UV_PROJECT_ENVIRONMENT="$VENV" uv sync --quiet --frozen --no-dev --project infra/tools

say "checking checkov and the provider bundle"
"$VENV/bin/checkov" --version >/dev/null
compgen -G "$VENV/lib/python3.11/site-packages/cdktf_cdktf_provider_google/_jsii/provider-google@*.jsii.tgz" >/dev/null \
  || { say "the provider bundle (cdktf_cdktf_provider_google/_jsii/*.jsii.tgz) is missing"; exit 1; }
echo "$HASH" >"$STAMP"
say "done in $(($(date +%s) - START)) s ($VENV, $(du -sh "$VENV" | cut -f1))"
