#!/usr/bin/env bash
# Install Chromium from Debian's packages for the report's browser test
# (tests/report/test_browser.py drives it headless through Playwright's Python API).
# Idempotent: does nothing when `chromium` is already on PATH. Needs root (or sudo) for apt.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
  echo "chromium: already installed ($(chromium --version 2>/dev/null || echo 'version unknown'))" >&2
  exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "chromium: not installed and not root (no sudo): run this script as root" >&2
    exit 1
  fi
  SUDO=(sudo)
fi

echo "chromium: installing the Debian package (apt-get)" >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq >&2
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2

if ! command -v chromium >/dev/null 2>&1; then
  echo "chromium: the package installed but 'chromium' is not on PATH" >&2
  exit 1
fi
echo "chromium: $(chromium --version 2>/dev/null || echo installed)" >&2
