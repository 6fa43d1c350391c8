"""Shelf frames: an open box of five panels (two sides, top, bottom, back), front open.

Panels are built in a canonical frame (width along x, depth along y, front facing -y) and
turned to the object's front. Each panel is ``PANEL_M`` thick unless something inside the
frame (a shelf board, or what stands on it) comes closer to that face: then the panel
shrinks to the gap so nothing inside overlaps it, and a panel left thinner than
``MIN_PANEL_M`` is omitted (with a warning).
"""

from __future__ import annotations

import math

import numpy as np

from bp_simready.solids import Array, Piece, box, turn, turn_vec
from bp_simready.tables import MIN_PANEL_M, PANEL_M, PANEL_MAX_SHARE

Bounds = tuple[Array, Array]


def canonical_size(size: tuple[float, float, float], turns: int) -> tuple[float, float, float]:
    """(width, depth, height) of an object whose canonical front is turned by ``turns``."""
    sx, sy, sz = size
    return (sy, sx, sz) if turns % 2 else (sx, sy, sz)


def _to_canonical(b: Bounds, turns: int) -> Bounds:
    lo, hi = turn_vec(b[0], -turns), turn_vec(b[1], -turns)
    return np.minimum(lo, hi), np.maximum(lo, hi)


def _thickness(gap: float, extent: float) -> float:
    t = min(PANEL_M, PANEL_MAX_SHARE * extent, gap)
    t = math.floor(t * 1e4 + 1e-6) / 1e4  # whole 0.1 mm, never more than the gap
    return t if t >= MIN_PANEL_M else 0.0


def shelf_frame(
    size: tuple[float, float, float],
    turns: int,
    inside: list[tuple[str, Array, Array]],
    fill: float,
) -> tuple[list[Piece], list[str]]:
    """Panels of a shelf frame of ``size`` facing ``turns``, clear of everything ``inside``
    (id, lower, upper bounds in the object's frame). Returns the pieces and warnings."""
    w, d, h = canonical_size(size, turns)
    gaps = {"left": PANEL_M, "right": PANEL_M, "back": PANEL_M, "bottom": PANEL_M, "top": PANEL_M}
    nearest: dict[str, str] = {}
    for oid, lo_o, hi_o in inside:
        lo, hi = _to_canonical((lo_o, hi_o), turns)
        for side, gap in (
            ("left", lo[0] + w / 2),
            ("right", w / 2 - hi[0]),
            ("back", d / 2 - hi[1]),
            ("bottom", lo[2] + h / 2),
            ("top", h / 2 - hi[2]),
        ):
            if gap < gaps[side]:
                gaps[side], nearest[side] = max(0.0, float(gap)), oid
    spans = {"left": w, "right": w, "back": d, "bottom": h, "top": h}
    t = {side: _thickness(gaps[side], spans[side]) for side in gaps}
    warnings = [
        f"{side} panel left out: {nearest[side]} is {gaps[side] * 1000:.1f} mm from the frame's "
        f"{side} face (a panel needs {MIN_PANEL_M * 1000:.0f} mm)"
        for side in sorted(t)
        if t[side] == 0.0 and side in nearest
    ]
    x0, x1 = -w / 2 + t["left"], w / 2 - t["right"]
    y0, y1 = -d / 2, d / 2 - t["back"]
    z0, z1 = -h / 2, h / 2
    pieces: list[Piece] = []
    if t["back"]:
        pieces.append(box("back", (-w / 2, y1, z0), (w / 2, d / 2, z1), fill))
    if t["left"]:
        pieces.append(box("left", (-w / 2, y0, z0), (x0, y1, z1), fill))
    if t["right"]:
        pieces.append(box("right", (x1, y0, z0), (w / 2, y1, z1), fill))
    if t["bottom"]:
        pieces.append(box("bottom", (x0, y0, z0), (x1, y1, z0 + t["bottom"]), fill))
    if t["top"]:
        pieces.append(box("top", (x0, y0, z1 - t["top"]), (x1, y1, z1), fill))
    return [turn(p, turns) for p in pieces], warnings
