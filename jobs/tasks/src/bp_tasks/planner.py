"""Which tasks each object affords, in a fixed order, and why an object gets none.

Per scene object (distractors never get tasks):

- articulated drawer/door → open and close (lids have no task kind yet);
- movable, graspable, reachable → pick-and-place: move on its support, put on/in the
  first receptacle, take off the receptacle it is on, then the other receptacles;
- movable, box-like, on a support → push away from the robot or sideways;

at most ``TASKS_MAX_TASKS_PER_OBJECT`` of them, first come first served in the order
move, first receptacle, push, take off, other receptacles. A task is posed in the
variants where it is possible (its ``targets`` name them); one possible in no variant is
not made. An object given no task is listed in ``skipped`` with every reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from bp_contracts.tasks import Predicate, Region, TaskSpec

from bp_tasks import language
from bp_tasks.articulated import KINDS, JointGoal, joint_goal
from bp_tasks.drafts import Candidate, Draft, task_id
from bp_tasks.naming import Namer
from bp_tasks.pickplace import PickPlace
from bp_tasks.placement import reach_issue
from bp_tasks.push import DIRECTIONS, PushTarget, direction_vector, push_target, pushable
from bp_tasks.settings import TasksSettings
from bp_tasks.world import Layout, World


@dataclass(frozen=True)
class Plan:
    """The tasks made and the objects skipped (id → reason)."""

    tasks: list[TaskSpec]
    skipped: dict[str, str]


class Planner:
    """Turns a world into tasks."""

    def __init__(self, world: World, s: TasksSettings) -> None:
        self.world = world
        self.s = s
        self.robot = world.robot
        self.namer = Namer(world)
        self.pick = PickPlace(world, self.namer, s)

    def plan(self) -> Plan:
        """Every task of the scene, objects in simready order."""
        tasks: list[TaskSpec] = []
        skipped: dict[str, str] = {}
        for oid in self.world.object_ids:
            drafts, reasons = self.for_object(oid)
            if drafts:
                tasks.extend(d.spec(self.s) for d in drafts)
            else:
                skipped[oid] = "; ".join(dict.fromkeys(reasons)) or "no affordance"
        return Plan(tasks, skipped)

    def for_object(self, oid: str) -> tuple[list[Draft], list[str]]:
        """The drafts made for ``oid`` and the reasons the others were not."""
        name = self.namer.name(oid)
        if name is None:
            return [], [f"ambiguous: {self.namer.why_unnamed(oid)}"]
        # tasks are posed only where the object's name singles it out
        layouts = [lay for lay in self.world.layouts if lay.variant_id in name.variants]
        first = layouts[0].bodies[oid]
        reasons: list[str] = []
        candidates: list[Candidate] = []
        art = first.articulation
        if art is not None:
            if art.kind in KINDS:
                opening, closing = KINDS[art.kind]
                candidates += [
                    partial(self.joint, oid, opening, True, layouts),
                    partial(self.joint, oid, closing, False, layouts),
                ]
            else:
                reasons.append(
                    f"its {art.kind} has no task kind in bp.tasks/v1 (drawers and doors only)"
                )
        if first.static:
            if art is None:
                reasons.append(f"static {first.role}: fixed in place")
        else:
            carried = sorted({c for lay in layouts for c in lay.children(oid)})
            reachable = [
                lay
                for lay in layouts
                if reach_issue(self.robot, lay.bodies[oid].position, self.s) is None
            ]
            if carried:
                reasons.append(f"carries {', '.join(carried)}: it cannot move without them")
            elif not reachable:
                reasons.append(f"unreachable: {reach_issue(self.robot, first.position, self.s)}")
            else:
                candidates += self._movable(oid, reachable, reasons)
        drafts: list[Draft] = []
        for make in candidates:
            if len(drafts) >= self.s.tasks_max_tasks_per_object:
                break
            out = make()
            if isinstance(out, str):
                reasons.append(out)
            else:
                drafts.append(out)
        return drafts, reasons

    def _movable(self, oid: str, lays: list[Layout], reasons: list[str]) -> list[Candidate]:
        first = lays[0].bodies[oid]
        picks: list[Candidate] = []
        receptacles: list[Candidate] = []
        if first.graspable:
            picks.append(partial(self.pick.move, oid, lays))
            receptacles = [
                partial(self.pick.put, oid, rid, lays) for rid in self.pick.receptacles_for(oid)
            ]
        else:
            reasons.append(f"not graspable: {first.graspable_reason}")
        out = picks + receptacles[:1]
        why_not = pushable(first)
        if why_not is None:
            out.append(partial(self.push, oid, lays))
        elif not first.graspable:
            reasons.append(f"no push: {why_not}")
        if first.graspable and self.pick.parent_of(oid) is not None:
            out.append(partial(self.pick.take_off, oid, lays))
        return out + receptacles[1:]

    def _phrase(self, oid: str) -> str:
        name = self.namer.name(oid)
        if name is None:  # pragma: no cover - for_object skips unnamed objects first
            raise ValueError(f"{oid} has no name")
        return name.phrase

    # ------------------------------------------------------------------ push
    def push(self, oid: str, lays: list[Layout]) -> Draft | str:
        """Push along the direction (away, left, right) that most variants leave free."""
        best: tuple[str, dict[str, PushTarget]] | None = None
        why: list[str] = []
        for d in DIRECTIONS:
            found: dict[str, PushTarget] = {}
            for lay in lays:
                out = push_target(lay, self.robot, lay.bodies[oid], d, self.s)
                if isinstance(out, str):
                    if lay is lays[0]:
                        why.append(f"{d}: {out}")
                else:
                    found[lay.variant_id] = out
            if found and (best is None or len(found) > len(best[1])):
                best = (d, found)
            if len(found) == len(lays):
                break
        if best is None:
            return "push: " + "; ".join(why)
        d, found = best
        tid = task_id("push", oid, d)
        words = language.push(
            self.world.scene_id, tid, self._phrase(oid), d, self.s.tasks_push_distance_m
        )
        dx, dy = direction_vector(self.robot, d)
        success = [
            Predicate(
                kind="object_displaced",
                object=oid,
                value=self.s.tasks_push_distance_m,
                direction=(round(dx, 9), round(dy, 9), 0.0),
            ),
            Predicate(kind="object_at_rest", object=oid, value=self.s.tasks_rest_speed_m_s),
        ]
        targets = {v: t.region for v, t in found.items()}
        reach = max(t.reach_m for t in found.values())
        return Draft(
            tid, "push", oid, targets, success, reach, self.s.tasks_push_distance_m, *words
        )

    # ------------------------------------------------------------------ drawers and doors
    def joint(self, oid: str, kind: str, opening: bool, lays: list[Layout]) -> Draft | str:
        """Open or close the object's drawer or door, reach checked on the handle."""
        goals: dict[str, JointGoal] = {}
        first_why = ""
        for lay in lays:
            out = joint_goal(lay.bodies[oid], self.robot, opening, self.s)
            if isinstance(out, str):
                first_why = first_why or out
            else:
                goals[lay.variant_id] = out
        if not goals:
            return f"{kind}: {first_why}"
        tid = task_id(kind, oid)
        words = language.joint(self.world.scene_id, tid, kind, self._phrase(oid))
        predicate = (
            Predicate(kind="joint_at_least", object=oid, value=self.s.tasks_open_fraction)
            if opening
            else Predicate(kind="joint_at_most", object=oid, value=self.s.tasks_close_fraction)
        )
        targets: dict[str, Region] = {v: g.region for v, g in goals.items()}
        reach = max(g.reach_m for g in goals.values())
        travel = max(g.travel_m for g in goals.values())
        return Draft(tid, kind, oid, targets, [predicate], reach, travel, *words)
