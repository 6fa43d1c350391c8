"""The episode list: every (variant, task, index), seeded, split into shards deterministically."""

from __future__ import annotations

from dataclasses import dataclass
from typing import get_args

from bp_contracts.tasks import TaskSet, TaskSpec
from bp_sdk.digest import derive_seed
from bp_sdk.errors import ConfigError, Problem


@dataclass(frozen=True)
class EpisodePlan:
    """One episode to simulate."""

    episode_id: str
    variant_id: str
    task: TaskSpec
    index: int
    seed: int


TASK_KINDS: frozenset[str] = frozenset(get_args(TaskSpec.model_fields["kind"].annotation))


def select_tasks(taskset: TaskSet, wanted: list[str]) -> list[TaskSpec]:
    """Tasks whose id or kind is in ``wanted`` (all when empty).

    A kind this scene has no task of selects nothing (one setting can serve a batch of
    scenes); a name that is neither a task id of the scene nor a task kind is an error,
    and so is a selection that matches no task at all."""
    if not wanted:
        return list(taskset.tasks)
    ids = {t.task_id for t in taskset.tasks}
    kinds = {t.kind for t in taskset.tasks}
    unknown = [w for w in wanted if w not in ids and w not in TASK_KINDS]
    chosen = [t for t in taskset.tasks if t.task_id in wanted or t.kind in wanted]
    if unknown or not chosen:
        names = unknown or wanted
        raise ConfigError(
            f"EPISODES_TASKS names {'unknown tasks' if unknown else 'no task of this scene'}: {', '.join(names)}",
            problems=[
                Problem(
                    "EPISODES_TASKS",
                    f"{'unknown' if unknown else 'no task of this scene matches'} {u!r}",
                    f"valid ids: {', '.join(sorted(ids))}; kinds here: {', '.join(sorted(kinds))}",
                )
                for u in names
            ],
        )
    return chosen


def build_worklist(
    scene_id: str,
    config_digest: str,
    base_seed: int,
    variants: list[str],
    tasks: list[TaskSpec],
    per_task: int,
) -> list[EpisodePlan]:
    """Every episode in a stable order (variant, task, index)."""
    out = []
    for v in sorted(variants):
        for task in sorted(tasks, key=lambda t: t.task_id):
            if task.targets and v not in task.targets:
                continue  # the task has no target in this variant
            for i in range(per_task):
                seed = derive_seed(scene_id, config_digest, base_seed, v, task.task_id, i)
                out.append(EpisodePlan(f"{v}-{task.task_id}-{i:03d}", v, task, i, seed))
    return out


def shard(items: list[EpisodePlan], index: int, count: int) -> list[EpisodePlan]:
    """Round-robin split: shard ``index`` of ``count`` (balanced within one episode)."""
    return items[index::count]
