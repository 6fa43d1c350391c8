"""Per-world frame buffers: every stream of N concurrent episodes, written for all worlds
at once each control step, taken out whole when a world's episode ends.

Each stream is one array ``(N, capacity, *frame shape)``; a world writes its frame ``k`` at
``[world, k]``. The capacity grows (copying) when an episode longer than any before it
starts, so memory follows the longest episode actually run, not the tasks' time limits.
Streams keep the order they were first written in, as :class:`bp_episodes.recording.Recording`
does, so an episode's arrays come out with the same keys, shapes, dtypes and order.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from bp_episodes.backend import SimBatch
from bp_episodes.batched.arrays import mat_to_quat
from bp_episodes.batched.deflating import WorldDeflaters
from bp_episodes.batched.worlds import contact_arrays, geom_mask
from bp_episodes.data_file import EpisodeData, Member, StreamDeflater
from bp_episodes.scene import SceneHandles

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


class FrameBuffers:
    """Streams of N worlds, frame-aligned per world; with ``deflaters``, the large streams
    (images) go to them instead, deflated as they come."""

    def __init__(
        self, num_worlds: int, capacity: int = 1, deflaters: WorldDeflaters | None = None
    ) -> None:
        self.n = num_worlds
        self.capacity = max(capacity, 1)
        self.streams: dict[str, NDArray[Any]] = {}
        self.deflaters = deflaters
        self.order: list[str] = []  # every stream, in the order first written

    def reserve(self, frames: int) -> None:
        """Make room for episodes of ``frames`` frames."""
        if frames <= self.capacity:
            return
        for key, a in self.streams.items():
            grown = np.zeros((self.n, frames, *a.shape[2:]), dtype=a.dtype)
            grown[:, : self.capacity] = a
            self.streams[key] = grown
        self.capacity = frames

    def drop(self, world: int) -> None:
        """Forget world ``world``'s deflated frames (its episode ends without data)."""
        if self.deflaters is not None:
            self.deflaters.forget(world)

    def write(self, key: str, rows: I64, frame: I64, values: NDArray[Any]) -> None:
        """Frame ``frame[i]`` of stream ``key`` for world ``rows[i]`` (``values`` has one
        entry per row)."""
        if key not in self.order:
            self.order.append(key)
        if self.deflaters is not None and self.deflaters.takes(values):
            self.deflaters.write(key, rows, frame, values)
            return
        buf = self.streams.get(key)
        if buf is None:
            buf = np.zeros((self.n, self.capacity, *values.shape[1:]), dtype=values.dtype)
            self.streams[key] = buf
        buf[rows, frame] = values

    def take(
        self, world: int, frames: int, keys: list[str] | None = None
    ) -> dict[str, NDArray[Any]]:
        """Copies of the first ``frames`` frames of world ``world`` (every stream kept here,
        or ``keys``)."""
        chosen = self.streams if keys is None else {k: self.streams[k] for k in keys}
        return {k: a[world, :frames].copy() for k, a in chosen.items()}

    def take_episode(self, world: int, frames: int) -> EpisodeData:
        """World ``world``'s episode: the streams kept here and the deflated ones."""
        deflated: dict[str, StreamDeflater | Member] = {}
        if self.deflaters is not None:
            deflated.update(self.deflaters.take(world))
        return EpisodeData(self.take(world, frames), deflated, list(self.order))


def observe(
    batch: SimBatch,
    h: SceneHandles,
    tier: str,
    rows: I64,
    frame: I64,
    out: FrameBuffers,
) -> F64:
    """Record frame ``frame[i]`` of every observation stream for world ``rows[i]`` — the
    streams, order, dtypes and conventions of ``run_episode`` — and return the hand sites'
    positions (rows × 3, float64: the path the metrics measure)."""
    q, v = batch.qpos()[rows], batch.qvel()[rows]
    spos, srot = batch.site_pose(h.site)
    ee_pos, ee_quat = spos[rows], mat_to_quat(srot[rows])
    width = np.abs(q[:, h.finger_qadr]).sum(axis=1)
    out.write("observation.state", rows, frame, _f32(q[:, h.arm_qadr], width))
    out.write(
        "observation.velocity",
        rows,
        frame,
        _f32(v[:, h.arm_dadr], np.abs(v[:, h.finger_dadr]).sum(axis=1)),
    )
    out.write(
        "observation.ee_pose",
        rows,
        frame,
        np.concatenate([ee_pos, ee_quat], axis=1).astype(np.float32),
    )
    for cam in h.cameras:
        out.write(
            f"observation.images.{cam.name}", rows, frame, batch.render(cam.name, "rgb")[rows]
        )
        cpos, crot = batch.camera_pose(cam.id)
        ext = np.zeros((len(rows), 4, 4))
        ext[:, :3, :3], ext[:, :3, 3], ext[:, 3, 3] = crot[rows], cpos[rows], 1.0
        out.write(f"camera.extrinsics.{cam.name}", rows, frame, ext.astype(np.float32))
        if tier in ("plus", "full"):
            out.write(
                f"observation.depth.{cam.name}", rows, frame, batch.render(cam.name, "depth")[rows]
            )
        if tier == "full":
            out.write(
                f"observation.segmentation.{cam.name}",
                rows,
                frame,
                batch.render(cam.name, "seg")[rows],
            )
    if tier == "full":
        poses = [np.concatenate(batch.body_pose(h.bodies[o]), axis=1)[rows] for o in h.movable]
        # (rows, 0, 7) for a scene without movable objects, as run_episode records it
        stacked = np.stack(poses, axis=1) if poses else np.zeros((len(rows), 0, 7))
        out.write("observation.object_poses", rows, frame, stacked.astype(np.float32))
        out.write("observation.contacts", rows, frame, contact_table(batch, h, rows))
    return np.asarray(ee_pos, dtype=np.float64)


def contact_table(batch: SimBatch, h: SceneHandles, rows: I64) -> NDArray[np.float32]:
    """``episode._contact_table`` for the worlds ``rows``: per movable object, touching the
    robot (0/1), touching anything else (0/1), number of contacts, deepest penetration (m)."""
    c = contact_arrays(batch)
    ngeom = int(h.model.ngeom)
    row_of = np.full(ngeom, -1, dtype=np.int64)
    for k, o in enumerate(h.movable):
        row_of[list(h.object_geoms[o])] = k
    robot = geom_mask(ngeom, h.robot_geoms)
    where = np.full(batch.num_worlds, -1, dtype=np.int64)
    where[rows] = np.arange(len(rows))
    table = np.zeros((len(rows), len(h.movable), 4), dtype=np.float32)
    for mine, other in ((c.geom1, c.geom2), (c.geom2, c.geom1)):
        i, r = row_of[mine], where[c.world]
        sel = (i >= 0) & (r >= 0)
        r, i, other_s, depth = r[sel], i[sel], other[sel], -c.dist[sel]
        table[r, i, np.where(robot[other_s], 0, 1)] = 1.0
        np.add.at(table, (r, i, np.full_like(r, 2)), 1.0)
        np.maximum.at(table, (r, i, np.full_like(r, 3)), depth.astype(np.float32))
    return table


def _f32(a: F64, last: F64) -> NDArray[np.float32]:
    """Rows of ``a`` with ``last`` appended, as float32."""
    return np.concatenate([a, last[:, None]], axis=1).astype(np.float32)
