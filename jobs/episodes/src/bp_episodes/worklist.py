"""The episode list: every (variant, task, index), seeded, split into shards deterministically."""

from __future__ import annotations

from dataclasses import dataclass

from bp_sdk.digest import derive_seed
from bp_sdk.errors import ConfigError, Problem
from bp_sdk.schemas import TaskSet, TaskSpec


@dataclass(frozen=True)
class EpisodePlan:
    """One episode to simulate."""

    episode_id: str
    variant_id: str
    task: TaskSpec
    index: int
    seed: int


def select_tasks(taskset: TaskSet, wanted: list[str]) -> list[TaskSpec]:
    """Tasks whose id or kind is in ``wanted`` (all when empty); unknown names are an error."""
    if not wanted:
        return list(taskset.tasks)
    ids = {t.task_id for t in taskset.tasks}
    kinds = {t.kind for t in taskset.tasks}
    unknown = [w for w in wanted if w not in ids and w not in kinds]
    if unknown:
        raise ConfigError(
            f"EPISODES_TASKS names unknown tasks: {', '.join(unknown)}",
            problems=[
                Problem(
                    "EPISODES_TASKS",
                    f"unknown {u!r}",
                    f"valid ids: {', '.join(sorted(ids))}; kinds: {', '.join(sorted(kinds))}",
                )
                for u in unknown
            ],
        )
    return [t for t in taskset.tasks if t.task_id in wanted or t.kind in wanted]


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
