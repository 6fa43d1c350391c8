"""Finding and opening Warp: is the optional extra installed, which device, which kernel cache.

Nothing here imports Warp at import time (the settings validate through it): Warp is
imported, and its runtime initialised, only by :func:`open_device` and
:func:`device_problem`.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import tempfile
from pathlib import Path
from typing import Any

from bp_sdk.errors import ConfigError, Problem

# the packages of the bp-episodes[warp] extra, by import name (distribution name)
EXTRA_PACKAGES = {"warp": "warp-lang", "mujoco_warp": "mujoco-warp"}
DEVICE_PATTERN = re.compile(r"^(cpu|cuda(:[0-9]+)?)$")
INSTALL_HINT = (
    "install the optional extra: `uv sync --extra warp` in the workspace, "
    "or `pip install 'bp-episodes[warp]'` (mujoco-warp and warp-lang)"
)

log = logging.getLogger("bp.episodes.warp")


def missing_packages() -> list[str]:
    """Distributions of the warp extra that are not importable here (empty: all installed)."""
    return [dist for mod, dist in EXTRA_PACKAGES.items() if importlib.util.find_spec(mod) is None]


def writable_cache(kernel_cache: str | None) -> str | None:
    """``kernel_cache`` (made if missing) when this process can write there, else None —
    Warp's default folder — with a warning: a mounted cache this user cannot write (a
    Cloud Storage volume mounted for root, say) costs a compile per run, never the run."""
    if not kernel_cache:
        return None
    root = Path(kernel_cache).expanduser()
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=root, prefix=".bp-write-check-"):
            pass
    except OSError as exc:
        log.warning(
            "EPISODES_WARP_KERNEL_CACHE %s cannot be written (%s): compiling into Warp's "
            "default cache instead, so the kernels are not kept for later runs",
            root,
            exc.strerror or type(exc).__name__,
        )
        return None
    return str(root)


def _warp(kernel_cache: str | None) -> Any:
    """Import Warp, point its kernel cache at ``kernel_cache`` (None: Warp's default) and
    initialise it; quiet (no banner, no per-module lines)."""
    wp: Any = importlib.import_module("warp")  # the optional extra, imported on demand
    wp.config.quiet = True
    wp.config.log_level = wp.LOG_WARNING  # no line per module load
    root = writable_cache(kernel_cache)
    if root:
        if wp._src.context.runtime is None:  # not initialised yet: Warp reads the config
            wp.config.kernel_cache_dir = root
        else:  # initialised already (another batch, the settings check): Warp's re-point
            wp._src.build.init_kernel_cache(root)
    wp.init()
    return wp


def device_problem(device: str, kernel_cache: str | None = None) -> str | None:
    """Why ``device`` cannot run the Warp backend here, or None when it can."""
    if not DEVICE_PATTERN.match(device):
        return f"{device!r} is not a Warp device: use cpu, cuda or cuda:<index>"
    missing = missing_packages()
    if missing:
        return f"the warp extra is not installed ({', '.join(missing)} missing): {INSTALL_HINT}"
    wp = _warp(kernel_cache)
    if device == "cpu":
        return None if wp.is_cpu_available() else "Warp reports no CPU device"
    count = int(wp.get_cuda_device_count())
    if count == 0:
        return (
            f"{device} asked for, but Warp finds no CUDA device here (no NVIDIA driver or GPU); "
            "run on a GPU machine or set EPISODES_WARP_DEVICE=cpu (slow) or EPISODES_BACKEND=mujoco"
        )
    index = int(device.partition(":")[2] or 0)
    if index >= count:
        return (
            f"{device} asked for, but Warp finds {count} CUDA device(s) (cuda:0 … cuda:{count - 1})"
        )
    return None


def open_device(device: str, kernel_cache: str | None = None) -> Any:
    """The Warp device to run on, Warp initialised with ``kernel_cache``; a
    :class:`~bp_sdk.errors.ConfigError` naming the setting when it cannot run here."""
    problem = device_problem(device, kernel_cache)
    if problem is not None:
        where = "EPISODES_BACKEND" if missing_packages() else "EPISODES_WARP_DEVICE"
        raise ConfigError(
            f"the Warp backend cannot run: {problem}",
            problems=[Problem(where, problem, "see docs/EPISODES_WARP.md")],
        )
    wp = _warp(kernel_cache)
    dev = wp.get_device(device)
    log.info(
        "Warp %s on %s (%s), kernel cache %s",
        wp.config.version,
        dev.alias,
        dev.name,
        wp.config.kernel_cache_dir,
    )
    return dev
