#!/usr/bin/env bash
# Run the MuJoCo Warp backend's GPU checks and bench/warp_bench.py on the device machine:
# Python 3.12 with numpy, no network, none of mujoco / mujoco-warp / warp-lang / pydantic.
# Everything it needs travels in .whl/ (git-ignored), at most 64 MiB per device call, so the
# files are split into carry folders .whl/c1, .whl/c2, ... (one per call), gathered on the warm
# machine under /tmp/bpwarp/parts and installed into /tmp/bpwarp/site (no pip needed).
#
#   bash bench/device_warp.sh prepare          # HERE (network, uv env): download, repack, split
#   bash bench/device_warp.sh receive c1       # device call 1, carry [".whl/c1"]
#   bash bench/device_warp.sh receive c2       # device call 2, carry [".whl/c2"] (then install)
#   bash bench/device_warp.sh install          # join, verify sha256, unpack wheels and the model
#   bash bench/device_warp.sh check            # compile kernels (~6 min first time), GPU checks
#   bash bench/device_warp.sh bench [ARGS]     # bench/warp_bench.py on the carried model
#   bash bench/device_warp.sh pack-cache       # the compiled kernels to $OUT (to bake into an image;
#                                              # put it in a carry folder: install unpacks it)
#   bash bench/device_warp.sh prepare-e2e      # HERE: c3 = Pillow, a prepared store, the Panda assets
#   bash bench/device_warp.sh e2e [ARGS]       # bench/episodes_gpu_bench.py: the episodes stage end to end
#
# warp-lang's wheel (149 MB) is repacked without warp-clang.so (Warp's CPU compiler: not
# needed on a GPU), examples and tests, as an xz tarball split into parts of PART_MB.
set -euo pipefail
cd "$(dirname "$0")/.."

WHL=.whl
WORK=${BPWARP_DIR:-/tmp/bpwarp}
PART_MB=${PART_MB:-60}
PY=${PYTHON:-python3}
# name==version, from uv.lock: the warp extra and everything bp_episodes, bp_sdk, bp_contracts
# and bp_sim import (numpy comes with the device's Python)
PACKAGES=(
  mujoco==4.0.0 mujoco-core==4.0.0 glfw==2.11.0
  cffi==2.1.1 pycparser==3.12
  pydantic==2.14.3 pydantic-core==2.50.4 pydantic-settings==2.16.3 python-dotenv==1.2.4
  annotated-types==0.8.0 typing-extensions==4.16.0 typing-inspection==0.4.5
  mujoco-warp==4.0.0 absl-py==2.5.1 etils==1.15.0 fsspec==2026.9.0 zipp==4.1.2
)
WARP=warp-lang==1.19.0

prepare() {
  rm -rf "$WHL" && mkdir -p "$WHL/dl" "$WHL/c1" "$WHL/c2"
  for p in "${PACKAGES[@]}" "$WARP"; do
    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
      --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
      -d "$WHL/dl" "$p" >/dev/null
  done
  local wheel tmp
  wheel=$(ls "$WHL"/dl/warp_lang-*.whl)
  tmp=$(mktemp -d)
  # stream the wheel's files (less the CPU compiler, examples, tests) into an xz tarball:
  # nothing is unpacked on disk
  "$PY" - "$wheel" <<'PYEOF' | xz -6 -T2 > "$tmp/warp.tar.xz"
import sys, tarfile, zipfile
skip = ("warp/bin/warp-clang.so", "warp/examples/", "warp/tests/")
with zipfile.ZipFile(sys.argv[1]) as z, tarfile.open(fileobj=sys.stdout.buffer, mode="w|") as t:
    for info in z.infolist():
        if info.is_dir() or info.filename.startswith(skip):
            continue
        entry = tarfile.TarInfo(info.filename)
        entry.size, entry.mode = info.file_size, 0o755 if info.filename.endswith(".so") else 0o644
        with z.open(info) as f:
            t.addfile(entry, f)
PYEOF
  split -b "${PART_MB}m" -d "$tmp/warp.tar.xz" "$tmp/warp.tar.xz.part"
  rm "$tmp/warp.tar.xz"
  rm "$wheel"
  # the kitchen_counter scene, composed by the real stages, as a compiled model
  uv run --frozen python bench/warp_bench.py --save-model "$tmp/kitchen_counter.mjb"
  xz -6 -T2 "$tmp/kitchen_counter.mjb"
  # part 0 alone in c1; every later part, the wheels and the model in c2 (c3... if they overflow)
  local parts=("$tmp"/warp.tar.xz.part*) i=2
  mv "${parts[0]}" "$WHL/c1/"
  for f in "${parts[@]:1}" "$WHL"/dl/*.whl "$tmp/kitchen_counter.mjb.xz"; do
    local used
    used=$(du -sm "$WHL/c$i" | cut -f1)
    if (( used + $(du -sm "$f" | cut -f1) > 62 )); then i=$((i + 1)); mkdir -p "$WHL/c$i"; fi
    mv "$f" "$WHL/c$i/"
  done
  (cd "$WHL" && sha256sum c*/* > SHA256SUMS && cp SHA256SUMS "c$i/")
  rm -rf "$tmp" "$WHL/dl"
  du -sh "$WHL"/c*
  echo "device calls: one per carry folder, in order; the last one also installs (see the file header)"
}

receive() {
  mkdir -p "$WORK/parts"
  cp -v "$WHL/$1"/* "$WORK/parts/"
}

do_install() {
  cd "$WORK/parts"
  grep -v '^$' SHA256SUMS | sed 's# c[0-9]*/# #' | sha256sum -c --quiet
  rm -rf "$WORK/site" && mkdir -p "$WORK/site"
  cat warp.tar.xz.part* | unxz | tar -C "$WORK/site" -xf -
  for w in *.whl; do "$PY" -m zipfile -e "$w" "$WORK/site"; done
  unxz < kitchen_counter.mjb.xz > "$WORK/kitchen_counter.mjb"
  if [[ -f warp_kernel_cache.tar.xz ]]; then  # kernels compiled on an earlier machine (pack-cache)
    unxz < warp_kernel_cache.tar.xz | tar -C "$WORK" -xf -
  fi
  if [[ -f e2e_inputs.tar.xz ]]; then
    rm -rf "$WORK/e2e" && mkdir -p "$WORK/e2e"
    unxz < e2e_inputs.tar.xz | tar -C "$WORK/e2e" -xf -
  fi
  cd - >/dev/null
  env_py -c "import mujoco, mujoco_warp, warp, pydantic, bp_episodes.warp_backend.batch as b; \
print('mujoco', mujoco.__version__, 'mujoco_warp', mujoco_warp.__version__, 'warp', warp.config.version)"
}

unxz() {  # Python's lzma: the device may lack xz-utils
  "$PY" -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.stdin.buffer), sys.stdout.buffer)'
}

env_py() {
  PYTHONPATH="$WORK/site:sdk/src:contracts/src:sim/src:jobs/episodes/src" "$PY" "$@"
}

# the end-to-end benchmark runs the episodes stage itself: it also needs Pillow, a store
# prepared up to tasks and the Panda's files from robosuite (its assets and licence only: the
# stages never import robosuite), in one xz tarball
prepare_e2e() {
  local sp
  E2E_TMP=$(mktemp -d)
  # the temporary folder goes however this ends (a failed scene preparation included)
  trap 'rm -rf "${E2E_TMP:?}"' EXIT
  local tmp=$E2E_TMP
  mkdir -p "$WHL/c3"
  python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d "$WHL/c3" "pillow==$(uv run --frozen python -c 'import PIL; print(PIL.__version__)')" >/dev/null
  sp=$(uv run --frozen python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  local assets="$tmp/rs/robosuite/models/assets"
  mkdir -p "$assets/robots" "$assets/grippers/meshes"
  cp -r "$sp/robosuite/models/assets/robots/panda" "$assets/robots/"
  cp "$sp/robosuite/models/assets/grippers/panda_gripper.xml" "$assets/grippers/"
  cp -r "$sp/robosuite/models/assets/grippers/meshes/panda_gripper" "$assets/grippers/meshes/"
  cp -r "$sp"/robosuite-*.dist-info "$tmp/rs/"
  local uri
  uri=$(MUJOCO_GL=egl uv run --frozen python -c 'import sys; sys.path.insert(0, "bench")
from scene_prep import prepare_kitchen_counter; print(prepare_kitchen_counter("bp-e2e-")[0])')
  local root=${uri#file://}
  mkdir -p "$tmp/store" && cp -r "${root:?}/scenes" "$tmp/store/"
  rm -rf "${root:?}"
  tar -C "$tmp" -cf - store rs | xz -6 -T2 > "$WHL/c3/e2e_inputs.tar.xz"
  (cd "$WHL" && sha256sum c*/* | grep -v SHA256SUMS > SHA256SUMS && for c in c*/; do cp SHA256SUMS "$c"; done)
  du -sh "$WHL"/c3
}

case "${1:-}" in
  prepare) prepare ;;
  prepare-e2e) prepare_e2e ;;
  receive) receive "$2" ;;
  install) do_install ;;
  check)
    shift
    env_py bench/warp_bench.py --mjb "$WORK/kitchen_counter.mjb" --kernel-cache "$WORK/kcache" \
      --check-only --out "${OUT:-.}" --json "${OUT:-.}/warp_check.json" "$@"
    ;;
  bench)
    shift
    env_py bench/warp_bench.py --mjb "$WORK/kitchen_counter.mjb" --kernel-cache "$WORK/kcache" \
      --json "${OUT:-.}/warp_bench.json" "$@"
    ;;
  e2e)
    shift
    PYTHONPATH="$WORK/site:$WORK/e2e/rs:sdk/src:contracts/src:sim/src:jobs/episodes/src" \
      MUJOCO_GL=egl "$PY" bench/episodes_gpu_bench.py --storage "file://$WORK/e2e/store" \
      --kernel-cache "$WORK/kcache" --work "$WORK/e2e/work" --out "${OUT:-.}/gpu_e2e.json" "$@"
    ;;
  pack-cache)  # the compiled kernels, for a GPU image to carry (docs/EPISODES_WARP.md)
    tar -C "$WORK" -cf - kcache | "$PY" -c 'import lzma, shutil, sys; shutil.copyfileobj(sys.stdin.buffer, lzma.open(sys.stdout.buffer, "w"))' \
      > "${OUT:-.}/warp_kernel_cache.tar.xz"
    ls -la "${OUT:-.}/warp_kernel_cache.tar.xz"
    ;;
  *) sed -n '2,17p' "$0"; exit 2 ;;
esac
