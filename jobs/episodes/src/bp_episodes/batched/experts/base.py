"""The batched expert's small base: what a task kind adds to the shared batched machinery.

A batched expert plans each world's episode once, at its reset, with the task kind's
scripted planner (:mod:`bp_episodes.expert`: pure functions of the world, so the same
world gives the same plan in both runners); the candidate plans' kinematic and collision
checks of the worlds that reset together are answered in batches
(:mod:`bp_episodes.batched.tracking`). Per control step nothing is per task: the phase
machine (:mod:`bp_episodes.batched.follower`) and the batched IK run every world's plan.
"""

from __future__ import annotations

from abc import ABC
from typing import ClassVar

from bp_episodes.expert.base import Expert, Waypoint, World


class BatchedExpert(ABC):
    """A task kind's plan at reset, for the batched runner."""

    kind: ClassVar[str]
    planner: ClassVar[type[Expert]]  # the per-world scripted planner of this kind

    def plan(self, world: World) -> list[Waypoint]:
        """Waypoints for one world at its reset (its tracking check answered in batches)."""
        return self.planner().plan(world)
