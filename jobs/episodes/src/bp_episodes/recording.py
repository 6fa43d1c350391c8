"""One episode's recorded streams, and what is observed of world 0 at each frame: the arm's
state and velocity, the hand's pose, every camera (by tier: colour, depth, segmentation) and,
in the full tier, the movable objects' poses and contacts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from bp_contracts.geometry import matrix_to_quat
from numpy.typing import NDArray

from bp_episodes.backend import SimBatch
from bp_episodes.metrics import contact_arrays, geom_mask
from bp_episodes.scene import SceneHandles

F64 = NDArray[np.float64]


@dataclass
class Recording:
    """Every stream of one episode, frame-aligned."""

    arrays: dict[str, list[NDArray[Any]]] = field(default_factory=dict)

    def add(self, key: str, value: NDArray[Any]) -> None:
        """Append one frame of one stream."""
        self.arrays.setdefault(key, []).append(value)

    def stacked(self) -> dict[str, NDArray[Any]]:
        """Arrays with a leading time axis."""
        return {k: np.stack(v) for k, v in self.arrays.items()}


def record_observation(
    rec: Recording, batch: SimBatch, h: SceneHandles, tier: str, qpos: F64, qvel: F64
) -> F64:
    """Record the observation of one frame (world 0 at ``qpos``, ``qvel``); the hand's position."""
    spos, srot = batch.site_pose(h.site)
    # the pivot component positive (as MuJoCo's mju_mat2Quat): continuous for a downward hand
    ee_pos: F64 = spos[0]
    ee_quat = np.asarray(matrix_to_quat(srot[0], positive_w=False))
    width = float(np.abs(qpos[h.finger_qadr]).sum())
    rec.add("observation.state", np.concatenate([qpos[h.arm_qadr], [width]]).astype(np.float32))
    rec.add(
        "observation.velocity",
        np.concatenate([qvel[h.arm_dadr], [float(np.abs(qvel[h.finger_dadr]).sum())]]).astype(
            np.float32
        ),
    )
    rec.add("observation.ee_pose", np.concatenate([ee_pos, ee_quat]).astype(np.float32))
    _record_cameras(rec, batch, h, tier)
    if tier == "full":
        _record_objects(rec, batch, h)
    return ee_pos


def _record_cameras(rec: Recording, batch: SimBatch, h: SceneHandles, tier: str) -> None:
    """Each camera's image and extrinsics, and its depth and segmentation as the tier asks."""
    for cam in h.cameras:
        rec.add(f"observation.images.{cam.name}", batch.render(cam.name, "rgb")[0])
        cpos, crot = batch.camera_pose(cam.id)
        ext = np.eye(4)
        ext[:3, :3], ext[:3, 3] = crot[0], cpos[0]
        rec.add(f"camera.extrinsics.{cam.name}", ext.astype(np.float32))
        if tier in ("plus", "full"):
            rec.add(f"observation.depth.{cam.name}", batch.render(cam.name, "depth")[0])
        if tier == "full":
            rec.add(f"observation.segmentation.{cam.name}", batch.render(cam.name, "seg")[0])


def _record_objects(rec: Recording, batch: SimBatch, h: SceneHandles) -> None:
    """The movable objects' poses (position, quaternion) and their contact table."""
    poses = []
    for o in h.movable:
        bp, bq = batch.body_pose(h.bodies[o])
        poses.append(np.concatenate([bp[0], bq[0]]))
    # a scene without movable objects (a door and a drawer only) records (0, 7) a frame
    rec.add("observation.object_poses", np.array(poses, dtype=np.float32).reshape(-1, 7))
    rec.add("observation.contacts", _contact_table(batch, h))


def _contact_table(batch: SimBatch, h: SceneHandles) -> NDArray[np.float32]:
    """Per movable object (rows in ``h.movable`` order): touching the robot (0/1), touching
    anything else (0/1), number of contacts, deepest penetration (m)."""
    table = np.zeros((len(h.movable), 4), dtype=np.float32)
    ngeom = h.model.ngeom
    row = np.full(ngeom, -1)
    for n, o in enumerate(h.movable):
        row[list(h.object_geoms[o])] = n
    robot = geom_mask(ngeom, h.robot_geoms)
    geom, dist = contact_arrays(batch, 0)
    for mine, them in ((geom[:, 0], geom[:, 1]), (geom[:, 1], geom[:, 0])):
        keep = row[mine] >= 0
        rows, other, depth = row[mine][keep], them[keep], -dist[keep]
        table[rows, np.where(robot[other], 0, 1)] = 1.0
        np.add.at(table[:, 2], rows, 1.0)
        np.maximum.at(table[:, 3], rows, depth)
    return table
