"""The simulator behind a small batched interface: reset, step and render N worlds.

Tasks, the expert and recording talk only to :class:`SimBatch`, so a batched GPU
backend (MuJoCo Warp: thousands of worlds per device) can replace :class:`MujocoBatch`
— a loop over ``MjData`` on the CPU, rendering with OpenGL (EGL on a GPU, llvmpipe on a
CPU) — without touching them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import mujoco
import numpy as np
from bp_contracts.episode import DEPTH_BACKGROUND_M
from numpy.typing import NDArray

F64 = NDArray[np.float64]
FAR_FRACTION = 0.999  # depths at or beyond this fraction of the far plane are background


@dataclass(frozen=True)
class Contact:
    """One active contact: the two geoms and their signed distance (< 0: penetration)."""

    geom1: int
    geom2: int
    dist: float


class SimBatch(Protocol):
    """N worlds of one compiled model, stepped together."""

    model: Any

    @property
    def num_worlds(self) -> int:
        """How many worlds."""

    def reset(self, qpos: list[F64]) -> None:
        """Start every world from the given full qpos (zero velocities)."""

    def step(self, ctrl: F64, substeps: int) -> None:
        """Apply ``ctrl`` (N × nu) and advance every world ``substeps`` physics steps."""

    def qpos(self) -> F64:
        """N × nq positions."""

    def qvel(self) -> F64:
        """N × nv velocities."""

    def body_pose(self, body: int) -> tuple[F64, F64]:
        """N × 3 positions and N × 4 quaternions of one body."""

    def site_pose(self, site: int) -> tuple[F64, F64]:
        """N × 3 positions and N × 3 × 3 rotations of one site."""

    def camera_pose(self, camera: int) -> tuple[F64, F64]:
        """N × 3 positions and N × 3 × 3 rotations of one camera."""

    def contacts(self, world: int) -> list[Contact]:
        """Active contacts of one world."""

    def ray_down(
        self, world: int, x: float, y: float, z_from: float, exclude_body: int
    ) -> float | None:
        """Height of the first surface below (x, y, z_from), ignoring one body; None if nothing."""

    def render(self, camera: str, kind: str) -> NDArray[Any]:
        """N images from ``camera``: rgb (N×H×W×3 uint8), depth (N×H×W float32: metres along
        the optical axis, :data:`~bp_contracts.episode.DEPTH_BACKGROUND_M` where nothing lies nearer than the far
        clipping plane), seg (N×H×W int32 geom id, -1 background)."""

    def depth_range_m(self) -> tuple[float, float]:
        """The near and far clipping planes (m) that bound every valid depth."""


class MujocoBatch:
    """CPU MuJoCo: one ``MjData`` per world; OpenGL rendering through ``mujoco.Renderer``."""

    def __init__(
        self, model: Any, num_worlds: int, resolution: int, *, shadows: bool = False
    ) -> None:
        self.model = model
        self.datas = [mujoco.MjData(model) for _ in range(num_worlds)]
        # Multisampling costs more than the physics on a software rasterizer and adds
        # nothing at dataset resolutions; shadows are a setting, reflections are off.
        model.vis.quality.offsamples = 0
        self._renderer = mujoco.Renderer(model, resolution, resolution)
        self._shadows = shadows
        self._mode = "rgb"
        extent = float(model.stat.extent)
        self._near = float(model.vis.map.znear) * extent
        self._far = float(model.vis.map.zfar) * extent

    @property
    def num_worlds(self) -> int:
        """How many worlds."""
        return len(self.datas)

    def depth_range_m(self) -> tuple[float, float]:
        """Near and far clipping planes (m): MuJoCo's ``znear``/``zfar`` times the model extent."""
        return self._near, self._far

    def close(self) -> None:
        """Free the OpenGL context."""
        self._renderer.close()

    def reset(self, qpos: list[F64]) -> None:
        """Start every world from the given full qpos."""
        for d, q in zip(self.datas, qpos, strict=True):
            mujoco.mj_resetData(self.model, d)
            d.qpos[:] = q
            mujoco.mj_forward(self.model, d)

    def step(self, ctrl: F64, substeps: int) -> None:
        """Apply controls and step every world."""
        for d, c in zip(self.datas, ctrl, strict=True):
            d.ctrl[:] = c
            mujoco.mj_step(self.model, d, nstep=substeps)

    def qpos(self) -> F64:
        """N × nq."""
        return np.stack([d.qpos.copy() for d in self.datas])

    def qvel(self) -> F64:
        """N × nv."""
        return np.stack([d.qvel.copy() for d in self.datas])

    def body_pose(self, body: int) -> tuple[F64, F64]:
        """Positions and quaternions of a body."""
        return (
            np.stack([d.xpos[body].copy() for d in self.datas]),
            np.stack([d.xquat[body].copy() for d in self.datas]),
        )

    def site_pose(self, site: int) -> tuple[F64, F64]:
        """Positions and rotation matrices of a site."""
        return (
            np.stack([d.site_xpos[site].copy() for d in self.datas]),
            np.stack([d.site_xmat[site].reshape(3, 3).copy() for d in self.datas]),
        )

    def camera_pose(self, camera: int) -> tuple[F64, F64]:
        """Positions and rotation matrices of a camera."""
        return (
            np.stack([d.cam_xpos[camera].copy() for d in self.datas]),
            np.stack([d.cam_xmat[camera].reshape(3, 3).copy() for d in self.datas]),
        )

    def contacts(self, world: int) -> list[Contact]:
        """Active contacts."""
        d = self.datas[world]
        return [Contact(int(c.geom1), int(c.geom2), float(c.dist)) for c in d.contact[: d.ncon]]

    def ray_down(
        self, world: int, x: float, y: float, z_from: float, exclude_body: int
    ) -> float | None:
        """Cast a ray straight down; the hit height, or None."""
        geom = np.zeros(1, dtype=np.int32)
        dist = mujoco.mj_ray(
            self.model,
            self.datas[world],
            np.array([x, y, z_from]),
            np.array([0.0, 0.0, -1.0]),
            None,
            1,
            exclude_body,
            geom,
        )
        return None if dist < 0 else z_from - float(dist)

    def render(self, camera: str, kind: str) -> NDArray[Any]:
        """Render every world from one camera."""
        r = self._renderer
        if kind != self._mode:  # switching modes reconfigures GL state: only when it changes
            r.disable_depth_rendering()
            r.disable_segmentation_rendering()
            if kind == "depth":
                r.enable_depth_rendering()
            elif kind == "seg":
                r.enable_segmentation_rendering()
            self._mode = kind
        out = []
        for d in self.datas:
            r.update_scene(d, camera=camera)
            r.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = self._shadows
            r.scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = False
            r.scene.flags[mujoco.mjtRndFlag.mjRND_SKYBOX] = False
            img = r.render()
            if kind == "seg":
                img = np.where(
                    img[..., 1] == int(mujoco.mjtObj.mjOBJ_GEOM), img[..., 0], -1
                ).astype(np.int32)
            elif kind == "depth":
                img = img.astype(np.float32)
                img[img >= np.float32(self._far * FAR_FRACTION)] = DEPTH_BACKGROUND_M
            out.append(img.copy())
        return np.stack(out)
