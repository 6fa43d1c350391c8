"""What the batched runner needs of a :class:`~bp_episodes.backend.SimBatch` beyond the
protocol, and one-world views.

* :func:`reset_worlds` starts some worlds from new states while the others go on. A backend
  offers it as ``reset_worlds(worlds, qpos)``; :class:`~bp_episodes.backend.MujocoBatch`
  gets it here (its ``MjData`` reset one by one, exactly as ``reset`` does for all).
* :func:`contact_arrays`: every world's active contacts as flat arrays (world, geom1,
  geom2, dist), from a backend's ``contact_arrays()`` when it has one, else from
  ``contacts(world)``.
* :class:`Snapshot` is one world at a reset state on its own ``MjData`` — what a planner
  sees, for any backend — and :class:`WorldView` one world of a batch, both with the
  ``SimBatch`` methods :mod:`bp_episodes.episode` reads (row 0).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import mujoco
import numpy as np
from numpy.typing import NDArray

from bp_episodes.backend import MujocoBatch, SimBatch

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True)
class ContactArrays:
    """Active contacts of all worlds, one entry per contact."""

    world: I64
    geom1: I64
    geom2: I64
    dist: F64  # signed distance: < 0 is penetration


def geom_mask(ngeom: int, ids: Iterable[int]) -> NDArray[np.bool_]:
    """A boolean mask over the model's geoms, set at ``ids``."""
    out = np.zeros(ngeom, dtype=bool)
    out[list(ids)] = True
    return out


def reset_worlds(batch: SimBatch, worlds: Sequence[int], qpos: Sequence[F64]) -> None:
    """Start ``worlds`` from the full ``qpos`` given for each (zero velocities), leaving the
    other worlds as they are."""
    own = getattr(batch, "reset_worlds", None)
    if callable(own):
        own(list(worlds), list(qpos))
        return
    if not isinstance(batch, MujocoBatch):
        raise TypeError(
            f"{type(batch).__name__} cannot reset single worlds: the batched runner needs "
            "a reset_worlds(worlds, qpos) method"
        )
    for w, q in zip(worlds, qpos, strict=True):
        d = batch.datas[w]
        mujoco.mj_resetData(batch.model, d)
        d.qpos[:] = q
        mujoco.mj_forward(batch.model, d)


def contact_arrays(batch: SimBatch) -> ContactArrays:
    """Every world's active contacts."""
    own = getattr(batch, "contact_arrays", None)
    if callable(own):
        world, geom1, geom2, dist = own()
        return ContactArrays(np.asarray(world), np.asarray(geom1), np.asarray(geom2), dist)
    if isinstance(batch, MujocoBatch):
        parts = [(d.contact.geom[: d.ncon], d.contact.dist[: d.ncon]) for d in batch.datas]
    else:
        parts = [
            (
                np.array([(c.geom1, c.geom2) for c in cs]).reshape(-1, 2),
                np.array([c.dist for c in cs]),
            )
            for cs in (batch.contacts(w) for w in range(batch.num_worlds))
        ]
    counts = [len(d) for _, d in parts]
    geoms = np.concatenate([g for g, _ in parts]).astype(np.int64).reshape(-1, 2)
    return ContactArrays(
        np.repeat(np.arange(len(parts)), counts),
        geoms[:, 0],
        geoms[:, 1],
        np.concatenate([d for _, d in parts]).astype(np.float64),
    )


class Snapshot:
    """One world at rest at ``qpos`` on its own ``MjData`` (as a reset leaves it)."""

    num_worlds = 1

    def __init__(self, model: Any, qpos: F64) -> None:
        self.model = model
        self.data = mujoco.MjData(model)
        mujoco.mj_resetData(model, self.data)
        self.data.qpos[:] = qpos
        mujoco.mj_forward(model, self.data)

    def qpos(self) -> F64:
        """1 × nq."""
        return np.array(self.data.qpos, dtype=np.float64)[None]

    def body_pose(self, body: int) -> tuple[F64, F64]:
        """1 × 3 position and 1 × 4 quaternion of a body."""
        return self.data.xpos[body].copy()[None], self.data.xquat[body].copy()[None]

    def site_pose(self, site: int) -> tuple[F64, F64]:
        """1 × 3 position and 1 × 3 × 3 rotation of a site."""
        d = self.data
        return d.site_xpos[site].copy()[None], d.site_xmat[site].reshape(1, 3, 3).copy()

    def ray_down(
        self, world: int, x: float, y: float, z_from: float, exclude_body: int
    ) -> float | None:
        """Height of the first surface below (x, y, z_from), ignoring one body."""
        geom = np.zeros(1, dtype=np.int32)
        dist = mujoco.mj_ray(
            self.model,
            self.data,
            np.array([x, y, z_from]),
            np.array([0.0, 0.0, -1.0]),
            None,
            1,
            exclude_body,
            geom,
        )
        return None if dist < 0 else z_from - float(dist)


class WorldView:
    """World ``w`` of a batch, seen as a batch of one (row 0)."""

    num_worlds = 1

    def __init__(self, batch: SimBatch, world: int) -> None:
        self.batch = batch
        self.model = batch.model
        self.world = world

    def qpos(self) -> F64:
        """1 × nq."""
        return self.batch.qpos()[self.world : self.world + 1]

    def body_pose(self, body: int) -> tuple[F64, F64]:
        """1 × 3 position and 1 × 4 quaternion of a body."""
        pos, quat = self.batch.body_pose(body)
        return pos[self.world : self.world + 1], quat[self.world : self.world + 1]
