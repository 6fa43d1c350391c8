#!/bin/sh
# Install one dependency tier inside the image's build stage: exactly the files its
# requirements.txt names (exported from uv.lock, every sha256 checked), offline from the
# wheels beside it, wheels only (nothing is compiled). An empty tier installs nothing.
#   install_tier.sh DIR [pip install options, e.g. --target /opt/deps/common]
set -eu
dir="$1"
shift
if grep -q "==" "$dir/requirements.txt"; then
  exec /opt/pip/bin/pip --python /opt/venv/bin/python install --no-deps --require-hashes \
    --only-binary=:all: --no-index --find-links "$dir" -r "$dir/requirements.txt" "$@"
fi
