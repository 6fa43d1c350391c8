#!/usr/bin/env bash
# Build the job images locally (no registry needed):
#
#   bash scripts/build_images.sh                 # the base, every job, and episodes-gpu
#   bash scripts/build_images.sh ingest episodes # only these (the base if missing)
#   bash scripts/build_images.sh --list          # the names it knows
#
# bp-base:bookworm   Debian bookworm minbase + Python 3.11 (debootstrap, `docker import`),
#                    with security updates; bp-base-build:bookworm adds python3-venv for the
#                    build stages. Built once and reused (BP_REBUILD_BASE=1 rebuilds them).
# bp-<job>           docker/Dockerfile, JOB=<job>: that job's locked dependencies only
# bp-episodes-gpu    docker/Dockerfile.gpu: the episodes code on libglvnd for NVIDIA EGL, plus
#                    the warp extra (EPISODES_BACKEND=warp: mujoco-warp, warp-lang)
#
# Each image is tagged :<git short revision> (with -dirty for a modified tree) and :local.
# Jobs are every jobs/<job>/ whose pyproject declares the console script bp-<job> and whose
# bp_<job>/main.py exists. A job that selects an OpenGL backend (bp_sim.gl.select_gl) renders
# and gets Mesa's EGL (llvmpipe) and MUJOCO_GL=egl.
#
# Re-runs are fast: wheels come from a shared wheelhouse (build/docker/wheelhouse, checked
# against uv.lock's hashes), build contexts hold only what the image installs, and layers are
# ordered so that only changed code is rebuilt.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.local/bin:$PATH"

BASE_IMAGE="bp-base:bookworm"              # runtime base: no venv/ensurepip, no pip wheels
BUILD_BASE_IMAGE="bp-base-build:bookworm"  # the build stages' base: + python3-venv
# package sources: a setting, else this machine's own configuration (apt sources, pip/uv
# index settings); no host name is written here. DEBIAN_MIRROR / DEBIAN_SECURITY_MIRROR /
# BP_INDEX_URL override them.
MIRROR="${DEBIAN_MIRROR:-}"
SECURITY_MIRROR="${DEBIAN_SECURITY_MIRROR:-}"
INDEX_URL="${BP_INDEX_URL:-}"
OUT="build/docker"
WHEELHOUSE="$OUT/wheelhouse"
# Mesa EGL with the llvmpipe software rasteriser, reached through libglvnd
EGL_PACKAGES="libegl1 libegl-mesa0 libgl1-mesa-dri libopengl0"

say() { echo "build_images: $*" >&2; }
die() { say "$*"; exit 1; }

jobs_available() {
  local p job
  for p in jobs/*/pyproject.toml; do
    job="$(basename "$(dirname "$p")")"
    if grep -Eq "^bp-${job} *=" "$p" && [ -f "jobs/$job/src/bp_${job}/main.py" ]; then
      echo "$job"
    fi
  done
}

renders() { grep -rqs --include='*.py' "select_gl" "jobs/$1/src"; }

revision() {
  local rev
  rev="$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
  if [ "$rev" != unknown ] && [ -n "$(git status --porcelain 2>/dev/null | head -n 1)" ]; then
    rev="${rev}-dirty"
  fi
  echo "$rev"
}

pip_host() {
  # pip on this machine without its configuration or PIP_* variables (local mirrors may hold
  # other builds of the same version); every file is checked against uv.lock's hashes anyway
  local cert=() unset=() v
  [ -f /etc/ssl/certs/ca-certificates.crt ] && cert=(--cert /etc/ssl/certs/ca-certificates.crt)
  for v in $(compgen -e | grep '^PIP_' || true); do unset+=(-u "$v"); done
  if python3 -m pip --version >/dev/null 2>&1; then
    env "${unset[@]}" PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1 python3 -m pip --isolated --disable-pip-version-check "$@" "${cert[@]}"
  else
    env "${unset[@]}" PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1 uvx --from pip pip --isolated --disable-pip-version-check "$@" "${cert[@]}"
  fi
}

# wheel tags the image accepts: CPython 3.11 on glibc 2.36 (bookworm) and older manylinux
platform_args() {
  local v
  for v in $(seq 36 -1 17); do echo "--platform=manylinux_2_${v}_x86_64"; done
  printf '%s\n' --platform=manylinux2014_x86_64 --platform=manylinux2010_x86_64 --platform=manylinux1_x86_64
}

# the URIs of this machine's apt sources (one-line .list and deb822 .sources files), one per
# line as "URI SUITE..."
apt_source_lines() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] && sed -nE 's/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+)[[:space:]]+(.*)$/\2 \3/p' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && awk '
      /^URIs:/ { n = split(substr($0, 6), uris, " ") }
      /^Suites:/ { suites = substr($0, 8) }
      /^[[:space:]]*$/ { for (i = 1; i <= n; i++) print uris[i], suites; n = 0; suites = "" }
      END { for (i = 1; i <= n; i++) print uris[i], suites }' "$f"
  done
}

# the Debian mirrors the rootfs uses: settings first, else this machine's apt sources
find_mirrors() {
  local uri suites
  if [ -z "$MIRROR" ] || [ -z "$SECURITY_MIRROR" ]; then
    while read -r uri suites; do
      case " $suites " in
        *-security*) [ -n "$SECURITY_MIRROR" ] || SECURITY_MIRROR="$uri" ;;
        *) [ -n "$MIRROR" ] || MIRROR="$uri" ;;
      esac
    done < <(apt_source_lines)
  fi
  [ -n "$MIRROR" ] || die "no Debian mirror: this machine has no apt source; set DEBIAN_MIRROR=<URL of a Debian mirror>"
  [ -n "$SECURITY_MIRROR" ] || die "no Debian security mirror in this machine's apt sources; set DEBIAN_SECURITY_MIRROR=<URL>"
}

# the package index wheels come from: BP_INDEX_URL, else uv's or pip's configured index, else
# nothing (pip's own default)
find_index() {
  [ -n "$INDEX_URL" ] && return 0
  INDEX_URL="${UV_DEFAULT_INDEX:-${UV_INDEX_URL:-${PIP_INDEX_URL:-}}}"
  [ -n "$INDEX_URL" ] && return 0
  if python3 -m pip --version >/dev/null 2>&1; then
    INDEX_URL="$(python3 -m pip config get global.index-url 2>/dev/null || true)"
  fi
}

make_base() {
  find_mirrors
  if ! command -v debootstrap >/dev/null 2>&1; then
    [ "$(id -u)" -eq 0 ] || die "debootstrap is missing: install it (apt-get install debootstrap)"
    say "installing debootstrap (apt)"
    DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq --no-install-recommends debootstrap >&2 \
      || { timeout 600 apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive timeout 600 \
             apt-get install -y -qq --no-install-recommends debootstrap >&2; }
  fi
  local rootfs version
  rootfs="$(mktemp -d /tmp/bp-rootfs.XXXXXX)"
  # every path below goes through ${rootfs:?}: an empty value stops the script instead of
  # touching the host's own /etc or /usr
  [ -d "${rootfs:?}" ] || die "could not make a temporary folder"
  # shellcheck disable=SC2064
  trap "rm -rf '${rootfs:?}'" EXIT
  say "debootstrap bookworm (minbase + python3) into $rootfs"
  timeout 1200 debootstrap --variant=minbase --include=python3,ca-certificates \
    bookworm "${rootfs:?}" "$MIRROR" >"$OUT/debootstrap.log" 2>&1 \
    || { tail -n 20 "$OUT/debootstrap.log" >&2; die "debootstrap failed (log: $OUT/debootstrap.log)"; }
  printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb %s bookworm-security main\n' \
    "$MIRROR" "$MIRROR" "$SECURITY_MIRROR" >"${rootfs:?}/etc/apt/sources.list"
  # later apt installs (in job images) skip documentation, manuals and translations
  cp docker/dpkg-excludes "${rootfs:?}/etc/dpkg/dpkg.cfg.d/bp-excludes"
  say "security updates"
  in_root "$rootfs" update -qq
  in_root "$rootfs" upgrade -y -qq
  version="$(chroot "${rootfs:?}" python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  [ "$version" = "3.11" ] || die "the base has Python $version; the project needs 3.11"
  rm -rf "${rootfs:?}"/usr/share/man/* "${rootfs:?}"/usr/share/info/* "${rootfs:?}"/usr/share/locale/*
  find "${rootfs:?}/usr/share/doc" -mindepth 2 ! -name copyright ! -type d -delete
  find "${rootfs:?}/usr/share/doc" -mindepth 1 -type d -empty -delete
  import_rootfs "$rootfs" "$BASE_IMAGE" "debootstrap --variant=minbase bookworm + python3 ca-certificates"
  # the build stages' base adds venv (and ensurepip); runtime images never hold them
  in_root "$rootfs" install -y -qq --no-install-recommends python3-venv
  import_rootfs "$rootfs" "$BUILD_BASE_IMAGE" "$BASE_IMAGE + python3-venv"
  rm -rf "${rootfs:?}"
  trap - EXIT
}

# apt-get inside the debootstrapped tree (its output to the log)
in_root() {
  local rootfs="${1:?}"
  shift
  chroot "$rootfs" env DEBIAN_FRONTEND=noninteractive timeout 600 \
    apt-get -o APT::Sandbox::User=root "$@" >>"$OUT/debootstrap.log" 2>&1 \
    || { tail -n 20 "$OUT/debootstrap.log" >&2; die "apt-get $* failed in the base"; }
}

# the tree as an image, without apt's lists, caches and logs, nor the host's resolv.conf and
# hostname that debootstrap copied (the engine provides both to every container)
import_rootfs() {
  local rootfs="${1:?}" tag="$2" message="$3"
  say "importing $tag"
  tar --numeric-owner -C "$rootfs" --exclude='./var/lib/apt/lists/*' \
      --exclude='./var/cache/apt/*' --exclude='./var/log/*' \
      --exclude=./etc/resolv.conf --exclude=./etc/hostname -c . \
    | docker import --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' \
        --message "$message" - "$tag" >/dev/null
}

# the wheelhouse's index: "sha256  file" for every wheel in it (new files hashed once)
index_wheelhouse() {
  local f
  touch "$WHEELHOUSE/SHA256SUMS"
  for f in "$WHEELHOUSE"/*.whl; do
    [ -e "$f" ] || continue
    f="$(basename "$f")"
    grep -q "  $f\$" "$WHEELHOUSE/SHA256SUMS" || (cd "$WHEELHOUSE" && sha256sum "$f" >>SHA256SUMS)
  done
}

# for each pinned requirement of a requirements file, one wheelhouse file whose sha256 it
# allows, or "MISSING <name>"
matching_wheels() {
  awk 'FILENAME == ARGV[1] { file[$1] = $2; next }
       /^[A-Za-z0-9._-]+==/ { name = $1; sub(/==.*/, "", name); names[++n] = name }
       { m = split($0, parts, "sha256:")
         for (i = 2; i <= m; i++) { h = substr(parts[i], 1, 64); if ((h in file) && !(name in pick)) pick[name] = file[h] } }
       END { for (i = 1; i <= n; i++) print ((names[i] in pick) ? pick[names[i]] : "MISSING " names[i]) }' \
    "$WHEELHOUSE/SHA256SUMS" "$1"
}

complete() { ! matching_wheels "$1" | grep -q '^MISSING '; }

# make sure the wheelhouse has a wheel for every requirement of every requested job (and of
# the episodes job's warp extra when the GPU image is wanted): one download from the index
# (CPython 3.11, manylinux <= 2.36) only when something is missing
fill_wheelhouse() {
  local jobs=("$@") args=() j target
  for j in "${jobs[@]}"; do args+=(--package "bp-$j"); done
  # main() always adds episodes to the jobs when episodes-gpu is requested
  [ -z "${WANT_GPU:-}" ] || args+=(--extra warp)
  uv export --quiet --frozen --no-dev "${args[@]}" --no-emit-workspace \
    --format requirements-txt --no-header -o "$OUT/requirements-all.txt" >/dev/null
  index_wheelhouse
  complete "$OUT/requirements-all.txt" && return 0
  say "downloading wheels into $WHEELHOUSE"
  mapfile -t target < <(platform_args)
  find_index
  local index=()
  [ -z "$INDEX_URL" ] || index=(--index-url "$INDEX_URL")
  pip_host download --quiet "${index[@]}" -d "$WHEELHOUSE" "${target[@]}" \
    --no-deps --require-hashes --only-binary=:all: --implementation cp --python-version 3.11 \
    --abi cp311 -r "$OUT/requirements-all.txt" >&2
  index_wheelhouse
  complete "$OUT/requirements-all.txt" || die "the wheelhouse lacks wheels of $OUT/requirements-all.txt"
}

# the wheels of one requirements file into a build context (hard links where possible)
link_wheels() {
  local req="$1" dest="$2" f
  complete "$req" || die "no wheel in $WHEELHOUSE for: $(matching_wheels "$req" | sed -n 's/^MISSING //p' | xargs)"
  for f in $(matching_wheels "$req"); do
    ln -f "$WHEELHOUSE/$f" "$dest/$f" 2>/dev/null || cp "$WHEELHOUSE/$f" "$dest/$f"
  done
}

# a workspace member as a wheel, rebuilt only when its files change (hatchling builds are
# reproducible: same code, same bytes, so the image layer stays cached)
member_wheel() {
  local dir="$1" digest cache
  digest="$(cd "$dir" && find pyproject.toml src -type f ! -path '*/__pycache__/*' ! -name '*.pyc' \
              -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)"
  cache="$OUT/members/$(basename "$dir")-$digest"
  if ! compgen -G "$cache/*.whl" >/dev/null; then
    rm -rf "$OUT/members/$(basename "$dir")"-*
    mkdir -p "$cache"
    uv build --quiet --wheel --out-dir "$cache" "$dir" >&2
  fi
  echo "$cache"/*.whl
}

# names of the packages a requirements file pins
pinned() { sed -n 's/^\([A-Za-z0-9._-]*\)==.*/\1/p' "$1"; }

# one dependency tier of a job's context: the locked requirements of PACKAGE (with its
# optional EXTRA) less those of earlier tiers (their names in SKIP), and the wheels they name
tier() {
  local package="$1" dir="$2" skip="$3" extra="${4:-}" n args=()
  mkdir -p "${dir:?}"
  if [ -n "$package" ]; then
    for n in $(cat "$skip"); do args+=(--no-emit-package "$n"); done
    [ -z "$extra" ] || args+=(--extra "$extra")
    uv export --quiet --frozen --no-dev --package "$package" --no-emit-workspace \
      --format requirements-txt --no-header "${args[@]}" -o "$dir/requirements.txt" >/dev/null
    link_wheels "$dir/requirements.txt" "$dir"
    pinned "$dir/requirements.txt" >>"$skip"
  else
    : >"$dir/requirements.txt"
  fi
}

context() {
  local job="$1" ctx="$OUT/ctx/$1" m library="" members
  rm -rf "$ctx"
  mkdir -p "$ctx/wheels"
  members="$(uv export --quiet --frozen --no-dev --package "bp-$job" --no-editable --no-hashes \
               --format requirements-txt | sed -n 's#^\./##p')"
  for m in $members; do
    cp "$(member_wheel "$m")" "$ctx/wheels/"
    # the first library member (not the SDK, not the contracts every job uses, not a job)
    # is the shared middle tier
    case "$m" in
      sdk | contracts | jobs/*) ;;
      *) [ -n "$library" ] || library="$(sed -n 's/^name = "\(.*\)"/\1/p' "$m/pyproject.toml" | head -n 1)" ;;
    esac
  done
  : >"$ctx/skip"
  tier bp-sdk "$ctx/deps/common" "$ctx/skip"
  tier "$library" "$ctx/deps/library" "$ctx/skip"
  tier "bp-$job" "$ctx/deps/job" "$ctx/skip"
  rm "$ctx/skip"
  cp docker/prune_robot_assets.py docker/install_tier.sh "$ctx/"
}

build_job() {
  local job="$1" rev="$2" apt="" gl="disable" version
  version="$(sed -n 's/^version = "\(.*\)"/\1/p' "jobs/$job/pyproject.toml" | head -n 1)"
  if renders "$job"; then apt="$EGL_PACKAGES"; gl="egl"; fi
  context "$job"
  say "bp-$job (apt: ${apt:-none}; MUJOCO_GL=$gl)"
  local t0=$SECONDS
  docker build --quiet --force-rm -f docker/Dockerfile \
    --build-arg "BASE_IMAGE=$BASE_IMAGE" --build-arg "BUILD_BASE_IMAGE=$BUILD_BASE_IMAGE" --build-arg "JOB=$job" \
    --build-arg "APT_PACKAGES=$apt" --build-arg "MUJOCO_GL=$gl" \
    --build-arg "BUILD_REVISION=$rev" --build-arg "VERSION=$version" \
    -t "bp-$job:$rev" -t "bp-$job:local" "$OUT/ctx/$job" >/dev/null
  say "bp-$job:$rev built in $((SECONDS - t0)) s ($(image_size "bp-$job:local"))"
  if [ "$job" = episodes ] && [ -n "${WANT_GPU:-}" ]; then
    # the GPU image copies this build stage's files (same bytes, shared layers)
    docker build --quiet --force-rm -f docker/Dockerfile --target build \
      --build-arg "BASE_IMAGE=$BASE_IMAGE" --build-arg "BUILD_BASE_IMAGE=$BUILD_BASE_IMAGE" --build-arg "JOB=$job" \
      -t "bp-episodes-build:local" "$OUT/ctx/$job" >/dev/null
  fi
}

# the GPU image's context: the NVIDIA EGL vendor file and one more tier, the episodes job's
# warp extra less everything the CPU episodes image already pins (its three tiers), so the
# GPU image adds exactly mujoco-warp, warp-lang and what they need on top of the same files
gpu_context() {
  local ctx="$OUT/ctx/episodes-gpu" cpu="$OUT/ctx/episodes" f
  rm -rf "${ctx:?}"
  mkdir -p "${ctx:?}"
  cp docker/10_nvidia.json "${ctx:?}/"
  for f in "${cpu:?}"/deps/common/requirements.txt "${cpu:?}"/deps/library/requirements.txt \
           "${cpu:?}"/deps/job/requirements.txt; do
    [ -f "$f" ] || die "$f is missing: build the episodes image first"
    pinned "$f"
  done >"${ctx:?}/skip"
  tier bp-episodes "${ctx:?}/deps/warp" "${ctx:?}/skip" warp
  rm "${ctx:?}/skip"
  grep -q '^warp-lang==' "${ctx:?}/deps/warp/requirements.txt" \
    || die "the warp tier lacks warp-lang: is the warp extra still in jobs/episodes/pyproject.toml?"
}

build_gpu() {
  local rev="$1" version t0=$SECONDS
  version="$(sed -n 's/^version = "\(.*\)"/\1/p' jobs/episodes/pyproject.toml | head -n 1)"
  gpu_context
  docker build --quiet --force-rm -f docker/Dockerfile.gpu \
    --build-arg "BASE_IMAGE=$BASE_IMAGE" --build-arg "BUILD_IMAGE=bp-episodes-build:local" \
    --build-arg "BUILD_REVISION=$rev" --build-arg "VERSION=$version" \
    -t "bp-episodes-gpu:$rev" -t "bp-episodes-gpu:local" "$OUT/ctx/episodes-gpu" >/dev/null
  say "bp-episodes-gpu:$rev built in $((SECONDS - t0)) s ($(image_size bp-episodes-gpu:local))"
}

image_size() {
  local bytes
  bytes="$(docker image inspect --format '{{.Size}}' "$1")"
  echo "$((bytes / 1000000)) MB"
}

main() {
  local available requested=() job rev
  mapfile -t available < <(jobs_available)
  if [ "${1:-}" = "--list" ]; then
    printf '%s\n' "${available[@]}" episodes-gpu
    return 0
  fi
  if [ "$#" -eq 0 ]; then
    requested=("${available[@]}" episodes-gpu)
  else
    requested=("$@")
  fi
  for job in "${requested[@]}"; do
    if [ "$job" != episodes-gpu ] && ! printf '%s\n' "${available[@]}" | grep -qx "$job"; then
      die "unknown job '$job'; known: ${available[*]} episodes-gpu"
    fi
  done
  WANT_GPU=""
  if printf '%s\n' "${requested[@]}" | grep -qx episodes-gpu; then
    WANT_GPU=1
    printf '%s\n' "${requested[@]}" | grep -qx episodes || requested=(episodes "${requested[@]}")
  fi

  bash scripts/docker_engine.sh
  mkdir -p "$OUT" "$WHEELHOUSE"
  if [ -n "${BP_REBUILD_BASE:-}" ] || ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1 \
     || ! docker image inspect "$BUILD_BASE_IMAGE" >/dev/null 2>&1; then
    local t0=$SECONDS
    make_base
    say "$BASE_IMAGE built in $((SECONDS - t0)) s ($(image_size "$BASE_IMAGE"))"
  fi
  rev="$(revision)"
  local jobs=()
  for job in "${requested[@]}"; do [ "$job" = episodes-gpu ] || jobs+=("$job"); done
  fill_wheelhouse "${jobs[@]}"
  for job in "${requested[@]}"; do
    [ "$job" = episodes-gpu ] || build_job "$job" "$rev"
  done
  [ -z "$WANT_GPU" ] || build_gpu "$rev"
}

main "$@"
