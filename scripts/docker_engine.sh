#!/usr/bin/env bash
# Make sure a Docker engine answers: if `docker info` fails, install the engine from Debian
# (docker.io, when dockerd is missing) and start dockerd in the background, then wait until
# it is ready. For machines without systemd (CI runners, containers-as-VMs); needs root to
# install or start the engine. Idempotent: does nothing when an engine already answers.
#
#   DOCKERD_LOG      where dockerd logs (default /var/log/bp-dockerd.log)
#   DOCKERD_TIMEOUT  seconds to wait for the engine (default 90)
set -euo pipefail

LOG="${DOCKERD_LOG:-/var/log/bp-dockerd.log}"
TIMEOUT="${DOCKERD_TIMEOUT:-90}"

say() { echo "docker_engine: $*" >&2; }

engine_ready() { timeout 20 docker info >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && engine_ready; then
  say "engine ready ($(timeout 20 docker version --format '{{.Server.Version}}' 2>/dev/null))"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  say "no Docker engine answers and this is not root: start one (or run this script as root)"
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
  say "installing the engine from Debian (docker.io; log: $LOG.apt)"
  mkdir -p "$(dirname "$LOG")"
  export DEBIAN_FRONTEND=noninteractive
  if ! { timeout 600 apt-get update -qq && timeout 600 apt-get install -y -qq \
           --no-install-recommends docker.io; } >"$LOG.apt" 2>&1; then
    tail -n 20 "$LOG.apt" >&2
    say "installing docker.io failed"
    exit 1
  fi
fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
  say "starting dockerd (log: $LOG)"
  mkdir -p "$(dirname "$LOG")"
  # its own session, so it outlives this script and the shell that ran it
  setsid nohup dockerd >>"$LOG" 2>&1 </dev/null &
  disown || true
fi

for _ in $(seq "$TIMEOUT"); do
  if engine_ready; then
    say "engine ready ($(timeout 20 docker version --format '{{.Server.Version}}' 2>/dev/null))"
    exit 0
  fi
  sleep 1
done
say "the engine did not answer within ${TIMEOUT}s; last lines of $LOG:"
tail -n 20 "$LOG" >&2 || true
exit 1
