#!/usr/bin/env bash
# Set up a fresh machine: uv (from PyPI) and the locked workspace environment.
# Idempotent; safe to run repeatedly. Needs Python 3.11 on the machine.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v uv >/dev/null 2>&1; then
  if ! python3 -m pip --version >/dev/null 2>&1; then
    echo "bootstrap: installing pip (apt)" >&2
    (apt-get update -qq && apt-get install -y -qq python3-pip) >&2
  fi
  echo "bootstrap: installing uv from PyPI" >&2
  python3 -m pip install --quiet --disable-pip-version-check uv >&2 \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages uv >&2
  export PATH="$HOME/.local/bin:$PATH"
fi

# MuJoCo renders offscreen through EGL (Mesa's llvmpipe on a CPU): make sure it is there
if ! ldconfig -p 2>/dev/null | grep -q "libEGL_mesa.so.0"; then
  echo "bootstrap: installing Mesa EGL (apt) for offscreen rendering" >&2
  (apt-get update -qq && apt-get install -y -qq libegl1 libegl-mesa0 libgl1-mesa-dri libgbm1) >&2
fi

echo "bootstrap: syncing the locked environment (uv sync --frozen)" >&2
uv sync --frozen --quiet
