"""Documented limits on the lengths of a blueprint (docs/BLUEPRINT.md, "Limits on lengths").

A finite number can still be absurd: a 1e308 m position passes the schema and used to
fail three stages later as ``plane size(3) must be positive``. Every length is bounded
here, after the unit conversion (``units: mm`` with 1e7 is 10 km too):

* each extent of ``objects[i].size``: 0.1 mm .. 100 m;
* each coordinate of ``objects[i].pose.position`` and ``robot_base.position``: ±1,000 m;
* the scene as a whole (every object's box and the robot base, after the scene-scale
  calibration): within ±1,000 m of the origin along each axis, so the floor that
  assemble builds around the origin stays a few kilometres at most.

Each offending value is one :class:`~bp_sdk.errors.Problem` naming the object, its JSON
path, the value as written and in metres, the limit and how to fix it. :class:`Bounds`
keeps what the checks need while the objects stream by (a few floats for the whole scene),
so a pass over the spooled objects (per value, or :class:`Reach` per box) runs only when
some value may be out of range.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from bp_contracts.geometry import Quat, box_half_extents_world
from bp_sdk.errors import Problem
from pydantic import ValidationError

from bp_ingest.blueprint import RobotBaseIn
from bp_ingest.geometry import qnormalize

MIN_SIZE_M = 1e-4
MAX_SIZE_M = 100.0
MAX_POSITION_M = 1000.0
MAX_REACH_M = 1000.0
AXES = "xyz"


def _g(x: float) -> str:
    return f"{x:.6g}"


def shown(value: float, units: str, k: float) -> str:
    """``1e+07 mm (10000 m)``: the value as written and, unless already metres, in metres."""
    return f"{_g(value)} m" if units == "m" else f"{_g(value)} {units} ({_g(value * k)} m)"


def _size_hint(units: str, small: bool) -> str:
    what = (
        "nothing a robot handles is thinner than 0.1 mm"
        if small
        else "no object of an indoor scene is larger than 100 m"
    )
    return (
        f"sizes are full extents in the blueprint's units (units: {units}) and {what}: "
        "check the number and the units"
    )


def _position_hint(units: str) -> str:
    return (
        f"positions are bounding-box centres in the blueprint's units (units: {units}) and an "
        "indoor scene lies within tens of metres of its origin: check the number and the "
        "units, or move the origin into the room"
    )


def object_problems(
    index: int,
    oid: str,
    size: Sequence[float],
    position: Sequence[float],
    units: str,
    k: float,
) -> list[Problem]:
    """One problem per size extent or position coordinate of one object outside its limit."""
    base = f"$.objects[{index}]"
    out: list[Problem] = []
    for j, s in enumerate(size):
        if s * k < MIN_SIZE_M:
            out.append(
                Problem(
                    f"{base}.size[{j}]",
                    f"object {oid!r}: size {AXES[j]} = {shown(s, units, k)} is below the "
                    "0.1 mm minimum",
                    _size_hint(units, small=True),
                )
            )
        elif s * k > MAX_SIZE_M:
            out.append(
                Problem(
                    f"{base}.size[{j}]",
                    f"object {oid!r}: size {AXES[j]} = {shown(s, units, k)} is above the "
                    "100 m maximum",
                    _size_hint(units, small=False),
                )
            )
    for j, p in enumerate(position):
        if abs(p * k) > MAX_POSITION_M:
            out.append(
                Problem(
                    f"{base}.pose.position[{j}]",
                    f"object {oid!r}: position {AXES[j]} = {shown(p, units, k)} is outside "
                    "the ±1000 m limit",
                    _position_hint(units),
                )
            )
    return out


def robot_position(base: RobotBaseIn | dict[str, Any] | None) -> list[float] | None:
    """The robot base's position; a raw one (from a header invalid elsewhere) only when it
    is valid itself, so that its limits are still checked."""
    if base is None or isinstance(base, RobotBaseIn):
        return base.position if base is not None else None
    try:
        return RobotBaseIn.model_validate(base).position
    except ValidationError:
        return None


def robot_base_problems(position: Sequence[float], units: str, k: float) -> list[Problem]:
    """One problem per coordinate of ``robot_base.position`` outside ±1,000 m."""
    return [
        Problem(
            f"$.robot_base.position[{j}]",
            f"robot base: position {AXES[j]} = {shown(p, units, k)} is outside the ±1000 m limit",
            f"robot_base.position is where the robot stands, in the blueprint's units (units: "
            f"{units}), next to the objects it works on: check the number and the units",
        )
        for j, p in enumerate(position)
        if abs(p * k) > MAX_POSITION_M
    ]


class Bounds:
    """Extremes of one scene's lengths in blueprint units, gathered object by object: cheap
    enough for a million objects, exact for sizes and positions, and an upper bound of the
    scene's reach (the centre's farthest coordinate plus half the box's diagonal)."""

    def __init__(self) -> None:
        self.min_size = float("inf")
        self.max_size = 0.0
        self.max_position = 0.0
        self.reach_bound = 0.0

    def add(self, size: Sequence[float], position: Sequence[float]) -> None:
        """Take one valid object into account."""
        sx, sy, sz = size
        far = max(abs(position[0]), abs(position[1]), abs(position[2]))
        self.min_size = min(self.min_size, sx, sy, sz)
        self.max_size = max(self.max_size, sx, sy, sz)
        self.max_position = max(self.max_position, far)
        self.reach_bound = max(self.reach_bound, far + 0.5 * math.hypot(sx, sy, sz))

    def out_of_range(self, k: float) -> bool:
        """Whether some size or position, in metres, is outside its limit."""
        return (
            self.min_size * k < MIN_SIZE_M
            or self.max_size * k > MAX_SIZE_M
            or self.max_position * k > MAX_POSITION_M
        )

    def may_reach_too_far(self, k: float, scale: float) -> bool:
        """Whether some object's box might reach past ±1,000 m once converted and scaled
        (then :class:`Reach` measures each box exactly)."""
        return self.reach_bound * k * scale > MAX_REACH_M


class Reach:
    """How far the scene's boxes reach from the origin along each axis (blueprint units and
    axes, boxes turned by their orientation), and which object reaches farthest."""

    def __init__(self) -> None:
        self.reach = [0.0, 0.0, 0.0]
        self.reached_by: list[tuple[int, str]] = [(-1, ""), (-1, ""), (-1, "")]

    def add(
        self,
        index: int,
        oid: str,
        size: Sequence[float],
        position: Sequence[float],
        orientation: Sequence[float] | None,
    ) -> None:
        """Take one object's box into account."""
        half = (size[0] / 2, size[1] / 2, size[2] / 2)
        if orientation is not None:
            q: Quat = (orientation[0], orientation[1], orientation[2], orientation[3])
            half = box_half_extents_world(qnormalize(q)[0], half)
        for j in range(3):
            far = abs(position[j]) + half[j]
            if far > self.reach[j]:
                self.reach[j] = far
                self.reached_by[j] = (index, oid)

    def problems(
        self,
        units: str,
        k: float,
        scale: float,
        robot_base: Sequence[float] | None,
    ) -> list[Problem]:
        """The scene (boxes and robot base) beyond ±1,000 m of the origin once converted
        and scaled by the scene-scale calibration ``scale``: one problem per axis."""
        why = (
            ""
            if scale == 1.0
            else f" after the scene-scale calibration scaled the whole scene by {_g(scale)}"
        )
        hint = (
            "assemble builds the floor around the origin out to the farthest object: move the "
            "origin into the room and check the sizes, positions and units"
        )
        if scale != 1.0:
            hint += " (objects far smaller than their category priors make the scene grow)"
        out: list[Problem] = []
        for j in range(3):
            far = self.reach[j] * k * scale
            if far > MAX_REACH_M:
                index, oid = self.reached_by[j]
                out.append(
                    Problem(
                        f"$.objects[{index}]",
                        f"object {oid!r}: its box reaches {_g(far)} m from the origin along "
                        f"{AXES[j]}{why}; the scene must lie within ±1000 m of the origin",
                        hint,
                    )
                )
        if robot_base is not None:
            for j, p in enumerate(robot_base):
                far = abs(p) * k * scale
                if far > MAX_REACH_M:
                    out.append(
                        Problem(
                            f"$.robot_base.position[{j}]",
                            f"robot base: {AXES[j]} = {_g(far)} m{why}; the scene must lie "
                            "within ±1000 m of the origin",
                            hint,
                        )
                    )
        return out
