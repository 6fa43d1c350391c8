"""Side grasps: the hand horizontal, its wrist above, the fingers closing across the object.

For tall objects (a grasp near the top leaves gravity a long lever to pivot the object
out of the pads during a carry) and for objects under a low ceiling (a shelf board). The
site goes to ``SIDE_HEIGHT`` of the object's height — near its centre of mass — or
higher in 1 cm steps until the hand clears the neighbours. The hand comes in along an
approach that fits the object between the fingers (:func:`hand.side_approaches`), lifts
it just enough to clear what lies under the carry while staying under whatever lies over
it, turns about the vertical while carrying when the target is better approached from
another direction (the object turns with it), lowers it onto the target, opens and
withdraws the way it came.

Every candidate is checked against the scene's collision boxes, cheaply first; the
collision-free ones are then followed kinematically with the IK (``World.trackable``)
and the first the arm can really follow is taken.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from bp_contracts.tasks import Region

from bp_episodes.expert import hand
from bp_episodes.expert.base import ObjectState, Waypoint, World
from bp_episodes.expert.ik import side_yaw

SIDE_HEIGHT = 0.45  # lowest grasp height, fraction of the object's height
SIDE_TOP_MARGIN = 0.02  # grasp at least this far under the object's top
CLEARANCE = 0.03  # carried object's bottom over what lies under the carry
TRANSIT_CLEARANCE = 0.06  # hand over what lies between its start and the pre-grasp
MIN_LIFT = 0.03  # lift at least this much
RISE = 0.10  # after withdrawing, rise this much (under any ceiling)
MAX_TRACKED = 8  # collision-free candidates followed with the IK at most
TILT = math.pi / 2
XY = tuple[float, float]


def side_grasp_heights(st: ObjectState) -> list[float]:
    """Site heights to try, from ``SIDE_HEIGHT`` of the object's height up to
    ``SIDE_TOP_MARGIN`` under its top in 1 cm steps; none when the object is too short for
    the horizontal hand to clear its support."""
    h = st.obj.size_m[2]
    lowest = max(SIDE_HEIGHT * h, hand.SIDE_DOWN + 0.01)
    highest = h - SIDE_TOP_MARGIN
    if highest < hand.SIDE_DOWN + 0.005:
        return []
    steps = max(0, math.floor((highest - lowest) / 0.01 + 1e-9))
    return [st.bottom_z + min(lowest, highest) + 0.01 * k for k in range(steps + 1)]


def side_plan(
    world: World, st: ObjectState, target: Region, support_top: float, release_gap: float
) -> list[Waypoint] | None:
    """The first collision-free side grasp the arm can follow, or None."""
    for k, wps in enumerate(side_candidates(world, st, target, support_top, release_gap)):
        if k >= MAX_TRACKED:
            break
        if world.trackable(wps):
            return wps
    return None


def side_candidates(
    world: World, st: ObjectState, target: Region, support_top: float, release_gap: float
) -> Iterator[list[Waypoint]]:
    """Collision-free side grasps, best first: pick approach, then the lowest free height,
    then place approach."""
    oid = (st.obj.id,)
    tc = (target.center_m[0], target.center_m[1])
    for ap in hand.side_approaches(world, st):
        for zg in side_grasp_heights(st):
            g = ap.site_xy((st.pos[0], st.pos[1]))
            p = ap.pre_xy((st.pos[0], st.pos[1]))
            if _blocked(world, ap, p, g, zg, zg, oid):
                continue
            lift_by = zg - st.bottom_z  # site above the object's bottom
            place_z = support_top + lift_by + release_gap
            found = False
            # least turning while carrying first: the wrist stays in the branch it is in
            places = hand.place_approaches(world, tc, ap)
            places.sort(key=lambda at: abs(_wrap(at.angle - ap.angle)))
            for at in places:
                wps = _candidate(world, st, ap, at, zg, place_z, tc, support_top)
                if wps is not None:
                    found = True
                    yield wps
            if found:
                break


def _candidate(
    world: World,
    st: ObjectState,
    ap: hand.SideApproach,
    at: hand.SideApproach,
    zg: float,
    place_z: float,
    tc: XY,
    support_top: float,
) -> list[Waypoint] | None:
    """Pick along ``ap`` at height ``zg``, place along ``at``; None when a path meets a box."""
    oid = (st.obj.id,)
    centre = (st.pos[0], st.pos[1])
    g, p = ap.site_xy(centre), ap.pre_xy(centre)
    tg, tp = at.site_xy(tc), at.pre_xy(tc)
    if _blocked(world, at, tp, tg, place_z, place_z, oid):
        return None
    # transit height to reach the pre-grasp: over what lies between, under any ceiling
    cap = world.ceiling(ap.behind(p), p, zg, oid, hand.HALF_WIDTH) - hand.SIDE_UP - 0.01
    floor = world.floor(world.hand_start[:2], p, cap + hand.SIDE_UP, oid, hand.HALF_WIDTH)
    zt = min(max(zg, floor + hand.SIDE_DOWN + TRANSIT_CLEARANCE), cap)
    if zt < zg or _blocked(world, ap, p, p, zg, zt, oid):
        return None
    # carry height: the object's bottom over the floor, the hand and object under the ceiling
    lift_by = zg - st.bottom_z
    level = max(st.bottom_z, support_top) + 0.005
    ceil = world.ceiling(g, tg, level, oid, hand.HALF_WIDTH)
    floor_c = world.floor(g, tg, ceil, oid, hand.HALF_WIDTH)
    cap_c = ceil - max(hand.SIDE_UP, st.obj.size_m[2] - lift_by) - 0.01
    if max(floor_c + 0.01 + lift_by, zg + 0.01, place_z) > cap_c:
        return None
    zc = min(max(floor_c + CLEARANCE + lift_by, zg + MIN_LIFT, place_z), cap_c)
    over_tp = world.ceiling(at.behind(tp), tp, place_z, oid) - hand.SIDE_UP - 0.01
    up = max(place_z, min(place_z + RISE, over_tp))
    yaw_g = _near(side_yaw(ap.angle), world.hand_yaw)
    yaw_t = _near(side_yaw(at.angle), yaw_g)

    def wp(
        xy: XY, z: float, yaw: float, grip: float, label: str, speed: float = 0.25, hold: float = 0
    ) -> Waypoint:
        return Waypoint(
            (xy[0], xy[1], z),
            yaw,
            grip,
            label,
            speed_m_s=speed,
            min_s=0.1 if hold else 0.3,
            hold_s=hold,
            tilt=TILT,
        )

    wps = [wp(p, zt, yaw_g, 1.0, "approach", speed=0.4)]
    if zt > zg + 1e-3:
        wps.append(wp(p, zg, yaw_g, 1.0, "descend", speed=0.2))
    return [
        *wps,
        wp(g, zg, yaw_g, 1.0, "reach", speed=0.1),
        wp(g, zg, yaw_g, 0.0, "grasp", hold=0.6),
        wp(g, zc, yaw_g, 0.0, "lift", speed=0.15),
        wp(tg, zc, yaw_t, 0.0, "carry", speed=0.12),
        wp(tg, place_z, yaw_t, 0.0, "lower", speed=0.1),
        wp(tg, place_z, yaw_t, 1.0, "release", hold=0.5),
        wp(tp, place_z, yaw_t, 1.0, "retreat", speed=0.15),
        wp(tp, up, yaw_t, 1.0, "clear", speed=0.2),
    ]


def _wrap(a: float) -> float:
    return (a + math.pi) % (2 * math.pi) - math.pi


def _near(yaw: float, ref: float) -> float:
    """``yaw`` plus the whole turns that bring it nearest ``ref``."""
    return yaw + 2 * math.pi * round((ref - yaw) / (2 * math.pi))


def _blocked(
    world: World,
    ap: hand.SideApproach,
    a: XY,
    b: XY,
    z_from: float,
    z_to: float,
    skip: tuple[str, ...],
) -> bool:
    """Whether the horizontal hand moving a→b (site), between heights z_from and z_to,
    would meet a box."""
    return world.blocked(
        ap.behind(a),
        ap.ahead(b),
        hand.HALF_WIDTH,
        z_from - hand.SIDE_DOWN,
        z_to + hand.SIDE_UP,
        skip,
    )
