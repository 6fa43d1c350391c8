"""Which :class:`~bp_episodes.backend.SimBatch` the stage opens (``EPISODES_BACKEND``).

``mujoco`` (the default) is :class:`~bp_episodes.backend.MujocoBatch`: CPU MuJoCo and OpenGL.
``warp`` is :class:`~bp_episodes.warp_backend.batch.WarpBatch`: MuJoCo Warp on
``EPISODES_WARP_DEVICE``; it needs the optional ``bp-episodes[warp]`` extra, imported only
here and only when chosen.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from typing import Any, Literal, Protocol

from bp_episodes.backend import MujocoBatch, SimBatch
from bp_episodes.settings import EpisodesSettings

TIER_KINDS = {"core": ("rgb",), "plus": ("rgb", "depth"), "full": ("rgb", "depth", "seg")}


class ClosableBatch(SimBatch, Protocol):
    """A batch the stage closes when a variant is done."""

    def close(self) -> None:
        """Free the renderer and device buffers."""


@dataclass(frozen=True)
class BackendOptions:
    """Everything a backend needs from the settings (parsed in ``main`` and passed down)."""

    backend: Literal["mujoco", "warp"] = "mujoco"
    resolution: int = 128
    shadows: bool = False
    tier: str = "core"
    warp_device: str = "cuda:0"
    warp_kernel_cache: str | None = None
    warp_nconmax: int = 96
    warp_njmax: int = 384
    warp_deterministic: bool = True

    @classmethod
    def from_settings(cls, s: EpisodesSettings) -> BackendOptions:
        """The backend options of the stage's settings."""
        return cls(
            backend=s.episodes_backend,
            resolution=s.episodes_resolution,
            shadows=s.episodes_shadows,
            tier=s.episodes_tier,
            warp_device=s.episodes_warp_device,
            warp_kernel_cache=s.episodes_warp_kernel_cache or None,
            warp_nconmax=s.episodes_warp_nconmax,
            warp_njmax=s.episodes_warp_njmax,
            warp_deterministic=s.episodes_warp_deterministic,
        )


def open_batch(model: Any, num_worlds: int, opts: BackendOptions) -> ClosableBatch:
    """``num_worlds`` worlds of ``model`` on the chosen backend; images of the tier's kinds."""
    if opts.backend == "mujoco":
        return MujocoBatch(model, num_worlds, opts.resolution, shadows=opts.shadows)
    from bp_episodes.warp_backend.batch import WarpBatch, WarpOptions  # noqa: PLC0415 - optional

    options = WarpOptions(
        device=opts.warp_device,
        kernel_cache=opts.warp_kernel_cache,
        nconmax=opts.warp_nconmax,
        njmax=opts.warp_njmax,
        kinds=TIER_KINDS[opts.tier],
        shadows=opts.shadows,
        deterministic=opts.warp_deterministic,
    )
    return WarpBatch(model, num_worlds, opts.resolution, options)


def simulator_info(backend: str) -> dict[str, str]:
    """The episode record's ``simulator`` block: the engine and its version."""
    if backend == "warp":
        return {
            "name": "mujoco_warp",
            "version": f"{metadata.version('mujoco-warp')} (warp {metadata.version('warp-lang')})",
        }
    import mujoco  # noqa: PLC0415 - already imported by the simulation (after MUJOCO_GL)

    return {"name": "mujoco", "version": str(mujoco.__version__)}
