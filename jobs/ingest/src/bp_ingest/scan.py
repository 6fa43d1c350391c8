"""Pass 1 of ingest: validate objects as they stream by, spool them, then the scene-wide checks.

Only what the scene-wide checks need stays in memory (ids, supports, meshes, extremes, ratios);
each valid object goes to the spool, a local temporary file, one JSON list per line.
"""

from __future__ import annotations

import json
import statistics
from array import array
from collections.abc import Iterator
from typing import IO, Any, NamedTuple

from bp_contracts.catalog import load_catalog
from bp_sdk.errors import InputError, Problem
from bp_sdk.runner import StageContext

from bp_ingest import limits
from bp_ingest.blueprint import (
    FLOOR,
    UNIT_FACTORS,
    BlueprintHeader,
    validate_header,
    validate_object,
)
from bp_ingest.geometry import characteristic
from bp_ingest.settings import IngestSettings

MAX_PROBLEMS = 1000
MIN_OBJECTS_FOR_SCENE_SCALE = 3
PROGRESS_EVERY = 1024


class Scan:
    """Pass 1: validate objects as they stream by; keep only what scene-wide checks need."""

    def __init__(self, ctx: StageContext[IngestSettings], spool: IO[str]) -> None:
        self.ctx = ctx
        self.spool = spool
        self.problems: list[Problem] = []
        self.problem_count = 0
        self.first_index: dict[str, int] = {}
        self.supports: dict[str, tuple[int, str]] = {}
        self.meshes: dict[str, int] = {}
        self.valid = 0
        self.catalog = load_catalog()
        # size / prior ratio in blueprint units (the unit factor is applied once the header is known)
        self.raw_ratios = array("d")
        self.invalid_ids: set[str] = set()
        self.bounds = limits.Bounds()  # extremes of the lengths, for the limits (bp_ingest.limits)
        self.indices = array("l")
        self.median: float | None = None  # median size/prior ratio, in metres
        self.scene_scale = 1.0

    def _problem(self, items: list[Problem]) -> None:
        self.problem_count += len(items)
        room = MAX_PROBLEMS - len(self.problems)
        if room > 0:
            self.problems.extend(items[:room])

    def on_object(self, index: int, raw: Any) -> None:
        obj, problems = validate_object(raw, index)
        if obj is None:
            self._problem(problems)
            if isinstance(raw, dict) and isinstance(raw.get("id"), str):
                self.invalid_ids.add(raw["id"][:200])
            return
        if obj.id in self.first_index:
            self._problem(
                [
                    Problem(
                        f"$.objects[{index}].id",
                        f"duplicate id {obj.id!r} (first used by $.objects[{self.first_index[obj.id]}])",
                        "give every object a unique id",
                    )
                ]
            )
            return
        self.first_index[obj.id] = index
        self.supports[obj.id] = (index, obj.support)
        if obj.mesh:
            self.meshes.setdefault(obj.mesh, index)
        pose = obj.pose
        row = Spooled(
            obj.id,
            obj.category,
            obj.size,
            pose.position,
            pose.orientation_wxyz,
            obj.support,
            obj.mesh,
            obj.material,
            obj.static,
        )
        self.spool.write(json.dumps(row) + "\n")
        self.indices.append(index)
        self.bounds.add(obj.size, pose.position)
        prior = self.catalog.get(obj.category)
        if prior is not None:
            self.raw_ratios.append(
                characteristic((obj.size[0], obj.size[1], obj.size[2])) / prior.scale_m
            )
        self.valid += 1
        if index % PROGRESS_EVERY == 0:
            self.ctx.progress("objects validated", index + 1)

    def finish(self, result: Any, inputs: dict[str, str]) -> BlueprintHeader:
        """Scene-wide checks; raise one InputError with every problem found."""
        self._problem(result.problems)
        if result.fatal:
            raise InputError(
                f"blueprint {self.ctx.settings.scene_id!r} is invalid ({self.problem_count} problem{'s' if self.problem_count != 1 else ''})",
                problems=self.problems,
            )
        header, hp = validate_header(result.header)
        self._problem(hp)
        if not result.saw_objects and not any(p.where == "$" for p in result.problems):
            self._problem(
                [Problem("$.objects", "required key is missing", 'add "objects": [{...}, ...]')]
            )
        elif (
            result.saw_objects
            and result.object_count == 0
            and not any(p.where == "$.objects" for p in result.problems)
        ):
            self._problem([Problem("$.objects", "no objects", "a scene needs at least one object")])
        for oid, (index, support) in self.supports.items():
            if support == FLOOR:
                continue
            if support == oid:
                self._problem(
                    [
                        Problem(
                            f"$.objects[{index}].support",
                            "an object cannot support itself",
                            "name the object it rests on, or 'floor'",
                        )
                    ]
                )
            elif support not in self.supports and support not in self.invalid_ids:
                self._problem(
                    [
                        Problem(
                            f"$.objects[{index}].support",
                            f"unknown object {support!r}",
                            "name an existing object id, or 'floor'",
                        )
                    ]
                )
        self._problem(self._cycles())
        for mesh, index in sorted(self.meshes.items()):
            if "input/" + mesh not in inputs:
                self._problem(
                    [
                        Problem(
                            f"$.objects[{index}].mesh",
                            f"mesh {mesh!r} not found under input/",
                            "upload it next to scene.json or fix the path",
                        )
                    ]
                )
        self._limits(header, result.header)
        if self.problem_count or header is None:
            raise InputError(
                f"blueprint {self.ctx.settings.scene_id!r} is invalid ({self.problem_count} problem{'s' if self.problem_count != 1 else ''})",
                problems=self.problems,
            )
        return header

    def _limits(self, header: BlueprintHeader | None, raw: dict[str, Any]) -> None:
        """Lengths outside the documented limits (bp_ingest.limits), in metres; the units
        and robot base of an otherwise invalid header still count when valid themselves."""
        units = header.units if header is not None else raw.get("units")
        if not isinstance(units, str) or units not in UNIT_FACTORS:
            return
        k = UNIT_FACTORS[units]
        robot = limits.robot_position(header.robot_base if header else raw.get("robot_base"))
        found: list[Problem] = []
        if self.bounds.out_of_range(k):
            for index, row in self._spooled():
                found += limits.object_problems(index, row.id, row.size, row.position, units, k)
        if robot is not None:
            found += limits.robot_base_problems(robot, units, k)
        if not found and header is not None:
            tol = self.ctx.settings.ingest_scale_tolerance
            self.median, self.scene_scale = _scene_scale(self.raw_ratios, k, tol)
            reach = limits.Reach()
            if self.bounds.may_reach_too_far(k, self.scene_scale):
                for index, row in self._spooled():
                    reach.add(index, row.id, row.size, row.position, row.orientation_wxyz)
            found = reach.problems(units, k, self.scene_scale, robot)
        self._problem(found)

    def _spooled(self) -> Iterator[tuple[int, Spooled]]:
        """Every spooled object with its blueprint index (then back to the spool's end)."""
        self.spool.seek(0)
        for index, line in zip(self.indices, self.spool, strict=True):
            yield index, Spooled(*json.loads(line))
        self.spool.seek(0, 2)

    def _cycles(self) -> list[Problem]:
        found: list[Problem] = []
        state: dict[str, int] = {}
        for start in self.supports:
            path: list[str] = []
            node = start
            while node in self.supports and state.get(node) is None:
                state[node] = 1
                path.append(node)
                node = self.supports[node][1]
            if node in self.supports and state.get(node) == 1 and node in path and path[-1] != node:
                cycle = path[path.index(node) :]
                index = self.supports[cycle[0]][0]
                found.append(
                    Problem(
                        f"$.objects[{index}].support",
                        "support cycle: " + " -> ".join([*cycle, cycle[0]]),
                        "objects must rest on the floor through a chain without loops",
                    )
                )
            for p in path:
                state[p] = 2
        return found


def _scene_scale(raw_ratios: array[float], k: float, tol: float) -> tuple[float | None, float]:
    """The median size/prior ratio in metres and the scene scale it calls for (1 when
    within [1/tol, tol] or with too few objects of a known category)."""
    ratios = array("d", (r * k for r in raw_ratios))
    median = statistics.median(ratios) if ratios else None
    if median is None or len(ratios) < MIN_OBJECTS_FOR_SCENE_SCALE or 1 / tol <= median <= tol:
        return median, 1.0
    return median, 1.0 / median


class Spooled(NamedTuple):
    """A validated object as spooled between the passes (a JSON list per line)."""

    id: str
    category: str
    size: list[float]
    position: list[float]
    orientation_wxyz: list[float] | None
    support: str
    mesh: str | None
    material: str | None
    static: bool | None
