"""Carcasses with a moving part (drawer, door, lid) and split boxes with a lid (laptops).

Everything is laid out in a canonical frame — width W along x, depth D along y, height H
along z, front facing -y — and turned to the object's front at the end (quarter turns
about z are exact: boxes swap their x and y extents). Every piece, closed, lies inside the
object's size box; moving parts keep ``CLEARANCE_M`` from the carcass and never sweep
into it (see docs/SIMREADY.md for the swing geometry).

- drawer: carcass open at the front (back, two sides, top, bottom); a tray-like drawer box
  (front panel, back, sides, bottom; open top) slides out along the front direction.
- door: carcass as for the drawer but set back behind a full-front door panel hinged about
  its left vertical front edge (seen from the front).
- lid on a carcass (storage bin): open-top box (bottom and four walls) with a lid panel
  hinged about the back top edge.
- lid on a box (laptop): the box split at half height; the top half hinges about the back
  edge of the bottom half and its hinge friction holds any angle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from bp_contracts.simready import Articulation

from bp_simready.shelf import canonical_size
from bp_simready.solids import (
    Array,
    Piece,
    box,
    pieces_props,
    rlen,
    rsig,
    rvec,
    turn,
    turn_vec,
)
from bp_simready.tables import (
    CLEARANCE_M,
    GRAVITY,
    HANDLE_BAR_M,
    HANDLE_DEPTH_M,
    HANDLE_POST_M,
    HOLDING_HINGE_FACTOR,
    JOINTS,
    PANEL_M,
    PANEL_MAX_SHARE,
    TRAY_WALL_M,
)

Kind = Literal["drawer", "door", "lid"]


@dataclass(frozen=True)
class Moving:
    """A moving part in the canonical frame (object coordinates, closed)."""

    kind: Kind
    joint: Literal["slide", "hinge"]
    axis: Array
    anchor: Array
    range: tuple[float, float]
    pieces: list[Piece]
    handle: Array
    holding: bool = False  # hinge friction holds the part at any angle


def _panel(w: float, d: float, h: float) -> float:
    return min(PANEL_M, PANEL_MAX_SHARE * min(w, d, h))


def _handle(
    orient: Literal["vertical", "horizontal"],
    at: Array,
    length: float,
    y_front: float,
    y_face: float,
) -> tuple[list[Piece], Array]:
    """A bar (front at ``y_front``) on two posts standing on a face at ``y_face``, centred
    on ``at`` (x, z); without room for it, the grasp point is on the face itself."""
    bar_back = y_front + HANDLE_BAR_M
    if y_face - bar_back < HANDLE_POST_M / 2:
        return [], np.array([at[0], y_face, at[2]])
    along = 2 if orient == "vertical" else 0
    centre = np.array([at[0], (y_front + bar_back) / 2.0, at[2]])
    half = np.array([HANDLE_BAR_M, HANDLE_BAR_M, HANDLE_BAR_M]) / 2.0
    half[along] = length / 2.0
    pieces = [box("handle_bar", centre - half, centre + half)]
    for i, sign in enumerate((-1.0, 1.0)):
        post = np.array([at[0], 0.0, at[2]])
        post[along] += sign * (length / 2.0 - HANDLE_POST_M / 2.0)
        lo, hi = post - HANDLE_POST_M / 2.0, post + HANDLE_POST_M / 2.0
        lo[1], hi[1] = bar_back, y_face
        pieces.append(box(f"handle_post_{i}", lo, hi))
    return pieces, centre


def carcass(
    size: tuple[float, float, float], kind: Kind | None, fill: float
) -> tuple[list[Piece], Moving | None]:
    """Canonical carcass panels and its moving part (``fill``: solid fraction of panels)."""
    w, d, h = size
    t = _panel(w, d, h)
    c = CLEARANCE_M
    if kind == "lid":
        return _bin(w, d, h, t, fill)
    hd = min(HANDLE_DEPTH_M, 0.1 * d) if kind else 0.0
    yf = -d / 2 + hd  # front face of the door / drawer front
    body_front = yf + t + c if kind == "door" else yf
    body = [
        box("back", (-w / 2, d / 2 - t, -h / 2), (w / 2, d / 2, h / 2), fill),
        box("left", (-w / 2, body_front, -h / 2), (-w / 2 + t, d / 2 - t, h / 2), fill),
        box("right", (w / 2 - t, body_front, -h / 2), (w / 2, d / 2 - t, h / 2), fill),
        box("bottom", (-w / 2 + t, body_front, -h / 2), (w / 2 - t, d / 2 - t, -h / 2 + t), fill),
        box("top", (-w / 2 + t, body_front, h / 2 - t), (w / 2 - t, d / 2 - t, h / 2), fill),
    ]
    if kind is None:
        return body, None
    k = JOINTS[kind]
    if kind == "door":
        door = [box("door", (-w / 2, yf, -h / 2), (w / 2, yf + t, h / 2), fill)]
        at = np.array([w / 2 - min(0.05, 0.15 * w), 0.0, 0.0])
        handle, grip = _handle("vertical", at, min(0.15, 0.4 * h), -d / 2, yf)
        return body, Moving(
            "door",
            "hinge",
            np.array([0.0, 0.0, -1.0]),
            np.array([-w / 2, yf, 0.0]),
            (0.0, k.range_factor),
            door + handle,
            grip,
        )
    x0, x1 = -w / 2 + t + c, w / 2 - t - c
    z0, z1 = -h / 2 + t + c, h / 2 - t - c
    yb = d / 2 - t - c
    tw = min(TRAY_WALL_M, t)
    drawer = [
        box("front", (x0, yf, z0), (x1, yf + t, z1), fill),
        box("back", (x0, yb - tw, z0), (x1, yb, z1), fill),
        box("left", (x0, yf + t, z0), (x0 + tw, yb - tw, z1), fill),
        box("right", (x1 - tw, yf + t, z0), (x1, yb - tw, z1), fill),
        box("bottom", (x0 + tw, yf + t, z0), (x1 - tw, yb - tw, z0 + tw), fill),
    ]
    handle, grip = _handle("horizontal", np.zeros(3), min(0.15, 0.4 * w), -d / 2, yf)
    return body, Moving(
        "drawer",
        "slide",
        np.array([0.0, -1.0, 0.0]),
        np.zeros(3),  # replaced by the part's origin
        (0.0, k.range_factor * (yb - yf)),
        drawer + handle,
        grip,
    )


def _bin(w: float, d: float, h: float, t: float, fill: float) -> tuple[list[Piece], Moving]:
    c = CLEARANCE_M
    top = h / 2 - t - c
    body = [
        box("bottom", (-w / 2, -d / 2, -h / 2), (w / 2, d / 2, -h / 2 + t), fill),
        box("front", (-w / 2, -d / 2, -h / 2 + t), (w / 2, -d / 2 + t, top), fill),
        box("back", (-w / 2, d / 2 - t, -h / 2 + t), (w / 2, d / 2, top), fill),
        box("left", (-w / 2, -d / 2 + t, -h / 2 + t), (-w / 2 + t, d / 2 - t, top), fill),
        box("right", (w / 2 - t, -d / 2 + t, -h / 2 + t), (w / 2, d / 2 - t, top), fill),
    ]
    lid = [box("lid", (-w / 2, -d / 2, h / 2 - t), (w / 2, d / 2, h / 2), fill)]
    grip = np.array([0.0, -d / 2 + min(0.02, 0.1 * d), h / 2])
    return body, Moving(
        "lid",
        "hinge",
        np.array([-1.0, 0.0, 0.0]),
        np.array([0.0, d / 2, h / 2]),
        (0.0, JOINTS["lid"].range_factor),
        lid,
        grip,
    )


def split_box(size: tuple[float, float, float], fill: float) -> tuple[list[Piece], Moving]:
    """A box split at half height: the base, and a lid hinged at the base's back top edge."""
    w, d, h = size
    base = [box("base", (-w / 2, -d / 2, -h / 2), (w / 2, d / 2, 0.0), fill)]
    lid = [box("lid", (-w / 2, -d / 2, 0.0), (w / 2, d / 2, h / 2), fill)]
    grip = np.array([0.0, -d / 2 + min(0.01, 0.1 * d), h / 2])
    return base, Moving(
        "lid",
        "hinge",
        np.array([-1.0, 0.0, 0.0]),
        np.array([0.0, d / 2, 0.0]),
        (0.0, JOINTS["lid"].range_factor),
        lid,
        grip,
        holding=True,
    )


def articulated(
    shape: str,
    kind: Kind,
    size: tuple[float, float, float],
    turns: int,
    fill: float,
) -> tuple[list[Piece], Moving]:
    """Body pieces and moving part of an articulated object, in the object's frame."""
    csize = canonical_size(size, turns)
    if shape == "carcass":
        body, part = carcass(csize, kind, fill)
        if part is None:  # pragma: no cover - carcass() returns a part for every kind
            raise ValueError(f"no moving part for {kind}")
        moving = part
    else:
        body, moving = split_box(csize, fill)
    return [turn(p, turns) for p in body], Moving(
        moving.kind,
        moving.joint,
        turn_vec(moving.axis, turns),
        turn_vec(moving.anchor, turns),
        moving.range,
        [turn(p, turns) for p in moving.pieces],
        turn_vec(moving.handle, turns),
        moving.holding,
    )


def to_articulation(moving: Moving, density: float) -> Articulation:
    """The schema's articulation: parts, inertia and handle relative to the moving body's
    origin (the centre of its closed bounding box)."""
    los, his = zip(*(p.bounds() for p in moving.pieces), strict=True)
    origin = (np.min(los, axis=0) + np.max(his, axis=0)) / 2.0
    props = pieces_props(moving.pieces, density)
    k = JOINTS[moving.kind]
    anchor = origin if moving.joint == "slide" else moving.anchor
    if moving.joint == "slide":
        direction = moving.axis
    else:
        direction = np.cross(moving.axis, moving.handle - anchor)
        direction = direction / np.linalg.norm(direction)
    friction = k.frictionloss
    if moving.holding:
        v = props.com - anchor
        v = v - float(v @ moving.axis) * moving.axis  # perpendicular to the hinge
        lever = float(np.hypot(v[0], v[1]))  # horizontal arm of gravity, lid horizontal
        friction = max(friction, HOLDING_HINGE_FACTOR * props.mass * GRAVITY * lever)
    return Articulation(
        kind=moving.kind,
        joint=moving.joint,
        axis=rvec(moving.axis),
        anchor_m=rvec(anchor),
        range=(0.0, rlen(moving.range[1])),
        damping=k.damping,
        frictionloss=rsig(friction),
        part_pos_m=rvec(origin),
        parts=[p.part(origin) for p in moving.pieces],
        inertia=props.inertia(origin),
        handle_m=rvec(moving.handle - origin),
        open_direction=rvec(direction),
    )
