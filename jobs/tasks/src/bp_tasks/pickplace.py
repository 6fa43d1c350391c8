"""Pick-and-place drafts: move an object on its own support, into a receptacle, or off one.

Three kinds of target, each found per variant:

- **move**: another spot on the object's own support, at least ``TASKS_MIN_MOVE_M`` from
  its start, in one direction of the robot's frame (left/right/back/front, within 45°) so
  the instruction can say which way ("Move the red can to the left.");
- **put**: on or in a receptacle (tray, plate, cutting board: on; bowl, basket: in);
- **take off**: from the receptacle the object rests on down to what carries the receptacle.

Every target region is free of every body of its variant and reachable, with the object's
start reachable too. Success: object_in_region, object_at_rest, gripper_released.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from bp_contracts.geometry import Vec2
from bp_contracts.tasks import Predicate, Region
from bp_sdk.digest import derive_seed

from bp_tasks import language
from bp_tasks.drafts import Draft, task_id
from bp_tasks.headroom import headroom_issue, region_outline
from bp_tasks.naming import Namer, preposition
from bp_tasks.placement import Search, place_in, place_on
from bp_tasks.settings import TasksSettings
from bp_tasks.world import FLOOR, Layout, World

RECEPTACLES = frozenset({"tray", "plate", "cutting_board", "bowl", "basket"})
MOVE_DIRECTIONS = ("left", "right", "back", "front")

Finder = Callable[[Layout, random.Random, Search], Region | None]


class PickPlace:
    """Builds the pick-and-place drafts of one world."""

    def __init__(self, world: World, namer: Namer, s: TasksSettings) -> None:
        self.world = world
        self.namer = namer
        self.s = s
        self.robot = world.robot
        self.headroom: dict[str, str] = {}  # task id → why a variant had no room above

    # ------------------------------------------------------------------ targets
    def receptacles_for(self, oid: str) -> list[str]:
        """Receptacles ``oid`` could be put on or in, in scene order."""
        first = self.world.layouts[0]
        me = first.bodies[oid]
        return [
            rid
            for rid in self.world.object_ids
            if rid not in (oid, me.support)
            and first.bodies[rid].category in RECEPTACLES
            and all(oid not in lay.ancestors(rid) for lay in self.world.layouts)
        ]

    def parent_of(self, oid: str) -> str | None:
        """What carries the receptacle ``oid`` rests on, if it rests on a receptacle."""
        bodies = self.world.layouts[0].bodies
        support = bodies[oid].support
        if support == FLOOR or bodies[support].category not in RECEPTACLES:
            return None
        return bodies[support].support

    # ------------------------------------------------------------------ drafts
    def move(self, oid: str, lays: list[Layout]) -> Draft | str:
        """Another spot on the object's own support, in the direction most variants allow."""
        best: tuple[str, str, dict[str, Region]] | None = None
        first_search: Search | None = None
        for d in MOVE_DIRECTIONS:
            tid = task_id("pick_place", oid, d)
            targets, search = self._collect(tid, lays, self._on_own_support(oid, d), oid)
            first_search = first_search or search
            if targets and (best is None or len(targets) > len(best[2])):
                best = (d, tid, targets)
            if len(targets) == len(lays):
                break
        support = self.world.layouts[0].bodies[oid].support
        if best is None:
            room = next(
                (v for k, v in self.headroom.items() if k.startswith(task_id("pick_place", oid))),
                None,
            )
            why = first_search.reason(support) if first_search else (room or "no variant")
            return f"move on {support}: {why}"
        d, tid, targets = best
        name = self._name(oid)
        words = language.move(self.world.scene_id, tid, name, d)
        return self._draft(tid, oid, lays, targets, words)

    def put(self, oid: str, rid: str, lays: list[Layout]) -> Draft | str:
        """On or in the receptacle ``rid``."""
        tid = task_id("pick_place", oid, f"to_{rid}")
        dest = self.namer.name(rid)
        if dest is None:
            return f"put on {rid}: the receptacle has no unambiguous name"
        category = self.world.layouts[0].bodies[rid].category
        prep = preposition(category)
        lays = [lay for lay in lays if lay.variant_id in dest.variants]
        targets, search = self._collect(tid, lays, self._onto(oid, rid, prep), oid)
        if not targets:
            return f"put {prep} {rid}: " + (
                search.reason(rid) if search else self.headroom.get(tid, "no variant")
            )
        words = language.put(self.world.scene_id, tid, self._name(oid), dest.phrase, prep)
        return self._draft(tid, oid, lays, targets, words)

    def take_off(self, oid: str, lays: list[Layout]) -> Draft | str:
        """From the receptacle it rests on down to what carries that receptacle."""
        parent = self.parent_of(oid)
        if parent is None:
            return "take off: it does not rest on a receptacle"
        support = self.world.layouts[0].bodies[oid].support
        tid = task_id("pick_place", oid, f"to_{parent}")
        src = self.namer.name(support)
        dest = None if parent == FLOOR else self.namer.name(parent)
        if src is None or (dest is None and parent != FLOOR):
            return f"take off {support}: {support} or {parent} has no unambiguous name"
        named = src.variants if dest is None else src.variants & dest.variants
        lays = [lay for lay in lays if lay.variant_id in named]
        targets, search = self._collect(tid, lays, self._onto(oid, parent, "on"), oid)
        if not targets:
            return f"take off onto {parent}: " + (
                search.reason(parent) if search else self.headroom.get(tid, "no variant")
            )
        to = "the floor" if dest is None else dest.phrase
        prep = preposition(self.world.layouts[0].bodies[support].category)
        words = language.take_off(self.world.scene_id, tid, self._name(oid), src.phrase, to, prep)
        return self._draft(tid, oid, lays, targets, words)

    # ------------------------------------------------------------------ helpers
    def _name(self, oid: str) -> str:
        name = self.namer.name(oid)
        if name is None:  # pragma: no cover - the planner skips unnamed objects first
            raise ValueError(f"{oid} has no name")
        return name.phrase

    def _direction(self, d: str) -> Vec2:
        f, left = self.robot.forward, self.robot.left
        return {"left": left, "right": (-left[0], -left[1]), "back": f, "front": (-f[0], -f[1])}[d]

    def _on_own_support(self, oid: str, d: str) -> Finder:
        ux, uy = self._direction(d)
        min_move = self.s.tasks_min_move_m

        def find(lay: Layout, rng: random.Random, search: Search) -> Region | None:
            body = lay.bodies[oid]
            sx, sy = body.position[0], body.position[1]

            def accept(c: Vec2) -> bool:
                dx, dy = c[0] - sx, c[1] - sy
                along = dx * ux + dy * uy
                across = -dx * uy + dy * ux
                return along >= min_move and abs(across) <= along

            surface = lay.surface(body.support, self.robot)
            return place_on(lay, self.robot, body, surface, self.s, rng, accept, search)

        return find

    def _onto(self, oid: str, rid: str, prep: str) -> Finder:
        def find(lay: Layout, rng: random.Random, search: Search) -> Region | None:
            body = lay.bodies[oid]
            surface = lay.surface(rid, self.robot)
            if prep == "in":
                return place_in(lay, self.robot, body, lay.bodies[rid], surface, self.s, search)
            return place_on(lay, self.robot, body, surface, self.s, rng, lambda _c: True, search)

        return find

    def _collect(
        self, tid: str, lays: list[Layout], find: Finder, oid: str
    ) -> tuple[dict[str, Region], Search | None]:
        targets: dict[str, Region] = {}
        failed: Search | None = None
        need = self.s.tasks_min_headroom_m
        for lay in lays:
            search = Search()
            seed = derive_seed("bp-tasks/place", self.world.scene_id, tid, lay.variant_id)
            rng = random.Random(seed)  # noqa: S311 - spot order, not security; seeded for determinism
            region = find(lay, rng, search)
            if region is None:
                failed = failed or search
                continue
            body = lay.bodies[oid]
            issue = headroom_issue(
                lay, body.box.footprint, body.box.z_range[1], body.support, body.id, need
            )
            height = body.box.z_range[1] - body.box.z_range[0]
            lo = region.center_m[2] - region.half_extents_m[2]
            issue = issue or headroom_issue(
                lay,
                region_outline(region.center_m, region.half_extents_m),
                lo + height,
                region.support,
                body.id,
                need,
            )
            if issue is None:
                targets[lay.variant_id] = region
            else:
                self.headroom[tid] = issue
        return targets, failed

    def _draft(
        self,
        tid: str,
        oid: str,
        lays: list[Layout],
        targets: dict[str, Region],
        words: tuple[str, list[str]],
    ) -> Draft:
        reach = travel = 0.0
        for lay in lays:
            region = targets.get(lay.variant_id)
            if region is None:
                continue
            start = lay.bodies[oid].position
            reach = max(reach, self.robot.distance(start), self.robot.distance(region.center_m))
            travel = max(travel, math.dist(start, region.center_m))
        rest = self.s.tasks_rest_speed_m_s
        success = [
            Predicate(kind="object_in_region", object=oid),
            Predicate(kind="object_at_rest", object=oid, value=rest),
            Predicate(kind="gripper_released", object=oid),
        ]
        return Draft(tid, "pick_place", oid, targets, success, reach, travel, words[0], words[1])
