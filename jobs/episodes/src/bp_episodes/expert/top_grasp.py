"""Top grasps: the hand pointing down, the fingers closing across the object near its top.

A grasp is a hand yaw and the site's offset from the object's centre. Candidates, best
first: across the narrower side, centred; across the other side when it fits; shifted
along a long object; turned up to 30° off its axes while the fingers still span it (a
thin object next to a wall or a tray's rim), the fingers opened only as wide as the object
needs. A candidate's hand — palm and wrist over the fingers, the fingers down to the
support — must meet no box; at the place the hand may be turned from its pick yaw (the
object turns with it; the task judges the object's centre) until the hand and the
object's footprint meet nothing there. Of those, the first the arm follows kinematically
without a link meeting the scene (``World.tracking``) is taken; when every one meets
something, the earliest with the fewest colliding poses.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from bp_contracts.tasks import Region

from bp_episodes.expert import hand
from bp_episodes.expert.base import ObjectState, Waypoint, World, grasp_yaw

CLEARANCE = 0.06  # above the tallest thing on the way
APPROACH = 0.10  # above the grasp point before descending
MAX_FINGER_DEPTH = 0.04  # below the top: deeper and the palm meets the top of tall objects
CORRIDOR = 0.15  # half width of the carry corridor
SHIFTS = (0.03, -0.03, 0.05, -0.05)  # along a long object, m
SLANTS = (0.26, -0.26, 0.52, -0.52)  # off the object's axes, rad
MAX_TRACKED = 6  # collision-free candidates followed with the IK at most
OPEN_MARGIN = 0.012  # finger clearance a side when pre-shaping the opening
PLACE_TURNS = (0.0, math.pi / 2, -math.pi / 2, math.pi / 4, -math.pi / 4, math.pi)


@dataclass(frozen=True)
class TopGrasp:
    """Hand yaw and the site's offset from the object's centre (world, seen from above)."""

    yaw: float
    offset: tuple[float, float]
    grip: float = 1.0  # opening on the way in (1: wide open)


def _spans(st: ObjectState, yaw: float) -> tuple[float, float]:
    """The object's extent across the fingers (closing along angle ``yaw``) and along them."""
    sx, sy = st.obj.size_m[0], st.obj.size_m[1]
    c, s = abs(math.cos(yaw - st.yaw)), abs(math.sin(yaw - st.yaw))
    return c * sx + s * sy, s * sx + c * sy


def opening(st: ObjectState, yaw: float) -> float:
    """Gripper command (0 closed … 1 open) for the approach: the object's width across the
    fingers plus ``OPEN_MARGIN`` a side, so that the fingers fit between close neighbours."""
    across = _spans(st, yaw)[0]
    return min(1.0, (across / 2 + OPEN_MARGIN) / hand.FINGER_OPEN)


def top_grasps(st: ObjectState, preferred_yaw: float) -> list[TopGrasp]:
    """Top grasps that fit the object between the fingers, best first: centred, then
    shifted along the object, then slanted, then slanted and shifted."""
    if hand.is_round(st):
        return [TopGrasp(preferred_yaw + k * math.pi / 6, (0.0, 0.0)) for k in (0, 1, -1, 2, -2, 3)]
    yaws = [preferred_yaw]
    if _spans(st, preferred_yaw + math.pi / 2)[0] <= hand.MAX_WIDTH:
        yaws.append(preferred_yaw + math.pi / 2)
    across, along = _spans(st, preferred_yaw)
    slants = [  # long thin objects only: a squat one would be caught by its corners
        preferred_yaw + d
        for d in SLANTS
        if along >= 2 * across and _spans(st, preferred_yaw + d)[0] <= hand.MAX_WIDTH
    ]
    out: list[TopGrasp] = []
    for group in (yaws, slants):
        out += [TopGrasp(y, (0.0, 0.0)) for y in group]
        for yaw in group:
            room = max(0.0, _spans(st, yaw)[1] / 2 - 0.015)
            ax, ay = -math.sin(yaw), math.cos(yaw)
            out += [TopGrasp(yaw, (ax * d, ay * d)) for d in SHIFTS if abs(d) <= room]
    return out


def top_blocked(
    world: World,
    xy: tuple[float, float],
    yaw: float,
    grasp_z: float,
    floor_z: float,
    skip: tuple[str, ...],
    grip: float = 1.0,
) -> bool:
    """Whether the downward hand at ``xy`` with its site at ``grasp_z`` meets a box: the
    palm and wrist over the fingers, the fingers (opened to ``grip``) down to ``floor_z``."""
    cx, cy = math.cos(yaw), math.sin(yaw)
    w = hand.HALF_WIDTH
    if world.blocked(
        (xy[0] - cx * w, xy[1] - cy * w),
        (xy[0] + cx * w, xy[1] + cy * w),
        0.035,
        grasp_z + hand.PALM,
        grasp_z + hand.BACK,
        skip,
    ):
        return True
    return fingers_blocked(world, xy, yaw, grasp_z, floor_z, skip, grip)


def fingers_blocked(
    world: World,
    xy: tuple[float, float],
    yaw: float,
    grasp_z: float,
    floor_z: float,
    skip: tuple[str, ...],
    grip: float,
) -> bool:
    """Whether the fingers of a downward hand, opened to ``grip``, meet a box between the
    palm and ``floor_z``."""
    cx, cy = math.cos(yaw), math.sin(yaw)
    reach = grip * hand.FINGER_OPEN + hand.FINGER_THICK  # outer faces of the fingers
    return world.blocked(
        (xy[0] - cx * reach, xy[1] - cy * reach),
        (xy[0] + cx * reach, xy[1] + cy * reach),
        0.012,
        max(grasp_z - hand.TIP, floor_z + 0.002),
        grasp_z + hand.PALM,
        skip,
    )


def _footprint_free(
    world: World, st: ObjectState, centre: tuple[float, float], turn: float, floor_z: float
) -> bool:
    """Whether the object turned by ``turn`` and standing at ``centre`` on ``floor_z`` meets
    nothing but its support."""
    yaw = st.yaw + turn
    sx, sy = st.obj.size_m[0], st.obj.size_m[1]
    a = (centre[0] - math.cos(yaw) * sx / 2, centre[1] - math.sin(yaw) * sx / 2)
    b = (centre[0] + math.cos(yaw) * sx / 2, centre[1] + math.sin(yaw) * sx / 2)
    return not world.blocked(
        a, b, sy / 2, floor_z + 0.002, floor_z + st.obj.size_m[2], (st.obj.id,)
    )


def candidates(
    world: World,
    st: ObjectState,
    target: Region,
    grasp_z: float,
    place_z: float,
    support_top: float,
) -> Iterator[tuple[TopGrasp, TopGrasp]]:
    """Grasps at the pick whose hand meets no box, each with the turns of it at the place
    whose hand and object footprint meet none (site positions as offsets from the object's
    centre there), best first."""
    preferred = grasp_yaw(st, world.hand_yaw)
    skip = (st.obj.id,)
    tc = (target.center_m[0], target.center_m[1])
    for g, grip in _with_openings(st, top_grasps(st, preferred)):
        xy = (st.pos[0] + g.offset[0], st.pos[1] + g.offset[1])
        if top_blocked(world, xy, g.yaw, grasp_z, st.bottom_z, skip, grip):
            continue
        pick = TopGrasp(_nearest_half_turn(g.yaw, world.hand_yaw), g.offset, grip)
        for turn in PLACE_TURNS:
            if turn == math.pi and pick.offset == (0.0, 0.0):
                continue  # the same hand pose as no turn: the gripper is symmetric
            c, s = math.cos(turn), math.sin(turn)
            off = (c * pick.offset[0] - s * pick.offset[1], s * pick.offset[0] + c * pick.offset[1])
            xy = (tc[0] + off[0], tc[1] + off[1])
            if not top_blocked(world, xy, pick.yaw + turn, place_z, support_top, skip, grip) and (
                turn == 0.0 or _footprint_free(world, st, tc, turn, support_top)
            ):
                yield pick, TopGrasp(pick.yaw + turn, off, grip)


def _with_openings(st: ObjectState, grasps: list[TopGrasp]) -> Iterator[tuple[TopGrasp, float]]:
    """Each grasp wide open (most forgiving), then with the fingers opened only as wide as
    the object needs (to fit between close neighbours)."""
    for g in grasps:
        narrow = opening(st, g.yaw)
        yield g, 1.0
        if narrow < 1.0:
            yield g, narrow


def _nearest_half_turn(yaw: float, ref: float) -> float:
    """The yaw equivalent to ``yaw`` (the gripper is symmetric) nearest ``ref``."""
    return yaw + math.pi * round((ref - yaw) / math.pi)


def top_plan(
    world: World, st: ObjectState, target: Region, support_top: float, release_gap: float
) -> list[Waypoint]:
    """The first collision-free top grasp and place the arm can follow; else the one it
    follows best; else (nothing free) across the narrower side, centred."""
    height = st.obj.size_m[2]
    depth = min(MAX_FINGER_DEPTH, height / 2)  # thin objects: as deep as the support allows
    grasp_z = st.top_z - depth
    place_z = support_top + (grasp_z - st.bottom_z) + release_gap
    best: tuple[int, list[Waypoint]] | None = None
    for k, (pick, place) in enumerate(candidates(world, st, target, grasp_z, place_z, support_top)):
        if k >= MAX_TRACKED:
            break
        wps = _waypoints(world, st, target, support_top, pick, place, depth, place_z)
        if best is not None and best[0] == 0:
            # none can have fewer collisions than the best: only a followable one wins
            if world.trackable(wps):
                return wps
            continue
        seen = world.tracking(wps)
        if seen.ok:
            return wps
        if best is None or seen.hits < best[0]:  # else the earliest with the fewest collisions
            best = (seen.hits, wps)
    if best is not None:
        return best[1]
    # nothing free: across the narrower side, centred, wide open unless only the narrow
    # opening keeps the fingers off a neighbour (a tray's rim beside a marker)
    yaw = grasp_yaw(st, world.hand_yaw)
    xy, skip, narrow = (st.pos[0], st.pos[1]), (st.obj.id,), opening(st, yaw)
    wide_hits = fingers_blocked(world, xy, yaw, grasp_z, st.bottom_z, skip, 1.0)
    narrow_ok = not fingers_blocked(world, xy, yaw, grasp_z, st.bottom_z, skip, narrow)
    centred = TopGrasp(yaw, (0.0, 0.0), narrow if wide_hits and narrow_ok else 1.0)
    return _waypoints(world, st, target, support_top, centred, centred, depth, place_z)


def _waypoints(
    world: World,
    st: ObjectState,
    target: Region,
    support_top: float,
    pick: TopGrasp,
    place: TopGrasp,
    depth: float,
    place_z: float,
) -> list[Waypoint]:
    """Approach, descend, close, lift, carry over everything on the way, lower, open, retreat."""
    height = st.obj.size_m[2]
    grasp_z = st.top_z - depth
    gx, gy = st.pos[0] + pick.offset[0], st.pos[1] + pick.offset[1]
    tx, ty = target.center_m[0] + place.offset[0], target.center_m[1] + place.offset[1]
    tall = world.floor((gx, gy), (tx, ty), below=math.inf, skip=(st.obj.id,), width=CORRIDOR)
    # the held object's bottom (hand - (height - depth)) clears every obstacle on the way
    carry_z = max(tall, st.bottom_z, support_top) + CLEARANCE + (height - depth)
    above = grasp_z + APPROACH
    y0, y1 = pick.yaw, place.yaw
    grip = pick.grip
    return [
        Waypoint((gx, gy, max(above, carry_z)), y0, grip, "approach", speed_m_s=0.5),
        Waypoint((gx, gy, grasp_z), y0, grip, "descend", speed_m_s=0.2),
        Waypoint((gx, gy, grasp_z), y0, 0.0, "grasp", min_s=0.1, hold_s=0.6),
        Waypoint((gx, gy, carry_z), y0, 0.0, "lift", speed_m_s=0.2),
        Waypoint((tx, ty, carry_z), y1, 0.0, "carry", speed_m_s=0.12),
        Waypoint((tx, ty, place_z), y1, 0.0, "lower", speed_m_s=0.12),
        Waypoint((tx, ty, place_z), y1, grip, "release", min_s=0.1, hold_s=0.5),
        Waypoint((tx, ty, place_z + APPROACH), y1, grip, "retreat", speed_m_s=0.3),
    ]
