"""Batched doors: grip the vertical bar, swing along the handle's arc (``expert.door``)."""

from __future__ import annotations

from bp_episodes.batched.experts.base import BatchedExpert
from bp_episodes.expert.door import CloseDoorExpert, OpenDoorExpert


class BatchedOpenDoor(BatchedExpert):
    """Swing a hinged door open by its handle."""

    kind = "open_door"
    planner = OpenDoorExpert


class BatchedCloseDoor(BatchedExpert):
    """Swing a hinged door shut by its handle."""

    kind = "close_door"
    planner = CloseDoorExpert
