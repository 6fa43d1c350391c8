"""A task before it is written: what every kind of task builder hands the planner."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from bp_contracts.tasks import Predicate, Region, TaskSpec
from bp_sdk.digest import sha256_json

from bp_tasks.settings import TasksSettings

MAX_ID = 128


def task_id(kind: str, oid: str, suffix: str = "") -> str:
    """``<kind>_<object>[_<suffix>]``, shortened with a digest if it would pass 128 characters."""
    tid = f"{kind}_{oid}" + (f"_{suffix}" if suffix else "")
    if len(tid) > MAX_ID:
        tid = f"{kind}_{sha256_json([oid, suffix])[:24]}"
    return tid


@dataclass(frozen=True)
class Draft:
    """Kind, object, per-variant targets, predicates, words and the figures for the time limit."""

    task_id: str
    kind: str
    object: str
    targets: dict[str, Region]
    success: list[Predicate]
    reach_m: float
    travel_m: float
    instruction: str
    paraphrases: list[str]

    def spec(self, s: TasksSettings) -> TaskSpec:
        """The finished task: time limit from the distance travelled, rounded up to 0.5 s."""
        raw = s.tasks_time_base_s + s.tasks_time_per_m_s * self.travel_m
        return TaskSpec(
            task_id=self.task_id,
            kind=self.kind,
            object=self.object,
            instruction=self.instruction,
            paraphrases=self.paraphrases,
            targets=dict(sorted(self.targets.items())),
            success=self.success,
            time_limit_s=math.ceil(round(raw, 6) * 2) / 2,
            reach_m=round(self.reach_m, 9),
        )


# A candidate is tried lazily: it returns its draft, or why it cannot be made.
Candidate = Callable[[], Draft | str]
