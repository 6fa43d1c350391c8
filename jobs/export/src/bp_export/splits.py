"""Train/valid splits, stratified per task, deterministic.

Rule (documented in docs/EXPORT.md, "Order and splits"):

1. The strata are the dataset's tasks (task strings, as ``meta/tasks.parquet`` lists them).
2. The valid split holds ``V = min(floor(N * f + 1/2), sum over tasks of (n_t - 1))``
   episodes: the requested fraction ``f`` of all ``N`` episodes rounded half up, but never
   a task's last episode, so **every task keeps at least one train episode** (a task with
   one episode is train only).
3. Each task first gets ``floor(n_t * f)`` valid episodes (at most ``n_t - 1``); the rest of
   ``V`` goes one at a time to the task with the largest remaining quota
   ``n_t * f - given_t`` that can still give one (ties: more episodes, then task string).
4. Within a task, the valid episodes are those with the smallest
   ``sha256("bp.split/v2" | scene | run | episode id)``; the same inputs always give the
   same split.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

Split = Literal["train", "valid"]
SPLIT_SALT: Final = "bp.split/v2"


@dataclass(frozen=True)
class Member:
    """An episode to split: its identity and its task string."""

    scene_id: str
    run_id: str
    episode_id: str
    task: str

    @property
    def key(self) -> tuple[str, str, str]:
        """``(scene, run, episode id)``."""
        return (self.scene_id, self.run_id, self.episode_id)

    def rank(self) -> bytes:
        """The episode's place in its task's draw (smallest first into valid)."""
        text = f"{SPLIT_SALT}\0{self.scene_id}\0{self.run_id}\0{self.episode_id}"
        return hashlib.sha256(text.encode()).digest()


def valid_count(sizes: Sequence[int], fraction: float) -> int:
    """``V`` of rule 2: the requested share rounded half up, every task keeping one train."""
    if fraction <= 0:
        return 0
    wanted = math.floor(sum(sizes) * fraction + 0.5)
    return min(wanted, sum(max(n - 1, 0) for n in sizes))


def quotas(sizes: dict[str, int], fraction: float) -> dict[str, int]:
    """Valid episodes per task (rules 2 and 3)."""
    total = valid_count(list(sizes.values()), fraction)
    given = {t: min(math.floor(n * fraction), max(n - 1, 0)) for t, n in sizes.items()}
    for _ in range(total - sum(given.values())):
        open_tasks = [t for t, n in sizes.items() if given[t] < n - 1]
        if not open_tasks:
            break
        best = min(open_tasks, key=lambda t: (-(sizes[t] * fraction - given[t]), -sizes[t], t))
        given[best] += 1
    return given


def assign(members: Sequence[Member], fraction: float) -> dict[tuple[str, str, str], Split]:
    """The split of every member (rule 4 within each task)."""
    by_task: dict[str, list[Member]] = {}
    for m in members:
        by_task.setdefault(m.task, []).append(m)
    want = quotas({t: len(ms) for t, ms in by_task.items()}, fraction)
    out: dict[tuple[str, str, str], Split] = {}
    for task, ms in by_task.items():
        ranked = sorted(ms, key=lambda m: (m.rank(), m.key))
        for i, m in enumerate(ranked):
            out[m.key] = "valid" if i < want[task] else "train"
    return out
