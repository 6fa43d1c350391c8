"""The tasks stage: affordances → ``tasks.json`` (``bp.tasks/v1``) and an Isaac Lab task package.

Reads ``simready_manifest.json`` (simready), ``assembly.json`` (assemble) and the variants
(variations: ``variations/index.json`` and the files it lists). For every scene object it
works out the tasks it affords (pick-and-place, push, open/close drawer or door), per
variant, with instructions and success predicates; objects given no task are listed with
the reason. Everything is computed before anything is written: a scene where no task can
be made is one PermanentError naming every object and why, and nothing is written.
"""

from __future__ import annotations

from collections import Counter

from bp_contracts.tasks import TASKS_FILE, TaskSet
from bp_sdk.commit import upstream_digests
from bp_sdk.errors import PermanentError, Problem
from bp_sdk.runner import Stage, StageContext, StageResult
from bp_sdk.storage import Storage

from bp_tasks import isaac
from bp_tasks.planner import Planner
from bp_tasks.settings import TasksSettings
from bp_tasks.upstream import UPSTREAM, read_upstream
from bp_tasks.world import build_world


class TasksStage(Stage[TasksSettings]):
    """Make the scene's tasks."""

    name = "tasks"
    distribution = "bp-tasks"
    settings_cls = TasksSettings

    def inputs(self, settings: TasksSettings, storage: Storage) -> dict[str, str]:
        """Outputs digests of the committed simready, assemble and variations stages of this run."""
        return upstream_digests(storage, settings.scene_id, settings.run_id, list(UPSTREAM))

    def run(self, ctx: StageContext[TasksSettings]) -> StageResult:
        """Plan every task, render the Isaac Lab package, then write both."""
        s = ctx.settings
        simready, assembly, variants = read_upstream(ctx.storage, s.scene_id, s.run_id)
        world = build_world(s.scene_id, simready, assembly, variants, s.tasks_shoulder_height_m)
        ctx.progress("objects to plan", len(world.object_ids), len(world.object_ids))
        plan = Planner(world, s).plan()
        if not plan.tasks:
            raise PermanentError(
                f"no task can be made for scene {s.scene_id!r}: none of its {len(world.object_ids)} "
                "objects is graspable, pushable or articulated within reach of the robot",
                problems=[
                    Problem(f"object {oid}", why, _hint(s)) for oid, why in plan.skipped.items()
                ],
                next_step=(
                    "Add an object the robot can grasp, push or open within reach (or move "
                    "robot_base closer), then run again with a new RUN_ID."
                ),
            )
        taskset = TaskSet(
            scene_id=s.scene_id, variants=world.variant_ids, tasks=plan.tasks, skipped=plan.skipped
        )
        files = isaac.render(world, simready, assembly, taskset)
        ctx.output.write_json(TASKS_FILE, taskset.model_dump(mode="json", by_alias=True))
        for name, text in files.items():
            ctx.output.write_bytes(name, text.encode("utf-8"))
        for oid, why in plan.skipped.items():
            ctx.log.info("no task for %s: %s", oid, why)
        kinds = Counter(t.kind for t in plan.tasks)
        return StageResult(
            summary={
                "tasks": len(plan.tasks),
                "kinds": dict(sorted(kinds.items())),
                "objects_with_tasks": len({t.object for t in plan.tasks}),
                "skipped": len(plan.skipped),
                "variants": len(world.variant_ids),
                "isaac_lab_files": len(files),
            }
        )


def _hint(s: TasksSettings) -> str:
    return (
        f"place a graspable or box-like object within {s.tasks_max_reach_m:.2f} m of the robot's "
        "shoulder, or an articulated drawer/door facing the robot"
    )
