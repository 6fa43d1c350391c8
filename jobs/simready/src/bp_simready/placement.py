"""Where things are relative to an object: its up axis, its front, and what sits inside it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import numpy as np
from bp_contracts.geometry import quat_to_matrix
from bp_contracts.geometry import up_axis as box_up_axis
from bp_contracts.scene_manifest import ManifestObject, RobotBase

from bp_simready.solids import Array

SCENE_FRONT = np.array([0.0, -1.0, 0.0])  # the robot's side when the blueprint names no robot
NEAR_SQUARE = 0.8  # footprints this close to square may open on any side


def up_axis(obj: ManifestObject) -> int:
    """Index of the object's own axis closest to the world's up (z) direction."""
    return box_up_axis(obj.orientation_wxyz)


def front_turns(obj: ManifestObject, robot: RobotBase | None) -> int:
    """Quarter turns about the object's z that take the canonical front (-y) to the object's
    front: the one of its own horizontal faces (±x, ±y) that looks most nearly at the robot
    (at the scene's -y when there is no robot, or when it stands right above or below).
    Unless the footprint is near-square (shorter side ≥ NEAR_SQUARE x longer), only the two
    long faces qualify: a shelf or a microwave opens on a long side, never on its end."""
    r = np.array(quat_to_matrix(obj.orientation_wxyz))
    d = None
    if robot is not None:
        d = r.T @ (np.asarray(robot.position_m) - np.asarray(obj.position_m))
        if np.hypot(d[0], d[1]) < 1e-9:
            d = None
    if d is None:
        d = r.T @ SCENE_FRONT
    sx, sy = obj.size_m[0], obj.size_m[1]
    square = min(sx, sy) >= NEAR_SQUARE * max(sx, sy)
    # near-square: the face nearest the robot; otherwise a face across the shorter (depth) axis
    on_x = abs(d[0]) > abs(d[1]) + 1e-12 if square else sx < sy
    if on_x:
        return 1 if d[0] > 0 else 3
    return 2 if d[1] > 0 else 0


def box_in_frame(inner: ManifestObject, outer: ManifestObject) -> tuple[Array, Array]:
    """Axis-aligned bounds of ``inner``'s box in ``outer``'s frame."""
    r_in = np.array(quat_to_matrix(inner.orientation_wxyz))
    r_out = np.array(quat_to_matrix(outer.orientation_wxyz))
    half = np.asarray(inner.size_m) / 2.0
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)])
    corners = (signs * half) @ r_in.T + np.asarray(inner.position_m)
    local = (corners - np.asarray(outer.position_m)) @ r_out
    return local.min(axis=0), local.max(axis=0)


def contents(
    objects: Iterable[ManifestObject], frames: set[str]
) -> dict[str, list[tuple[str, Array, Array]]]:
    """For each object id in ``frames``: the objects resting on it directly or indirectly
    whose centre lies inside its box, as (id, lower, upper) bounds in its frame."""
    objs = list(objects)
    by_id = {o.id: o for o in objs}
    children: dict[str, list[str]] = defaultdict(list)
    for o in objs:
        children[o.support].append(o.id)
    out: dict[str, list[tuple[str, Array, Array]]] = {}
    for fid in sorted(frames):
        frame = by_id[fid]
        half = np.asarray(frame.size_m) / 2.0
        found: list[tuple[str, Array, Array]] = []
        stack, seen = list(children.get(fid, [])), {fid}
        while stack:
            cid = stack.pop()
            if cid in seen:
                continue
            seen.add(cid)
            stack.extend(children.get(cid, []))
            lo, hi = box_in_frame(by_id[cid], frame)
            if np.all(np.abs((lo + hi) / 2.0) <= half):
                found.append((cid, lo, hi))
        out[fid] = sorted(found, key=lambda t: t[0])
    return out
