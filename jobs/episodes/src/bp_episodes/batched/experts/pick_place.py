"""Batched pick and place: top or side grasp, carry, place (``expert.pick_place``)."""

from __future__ import annotations

from bp_episodes.batched.experts.base import BatchedExpert
from bp_episodes.expert.pick_place import PickPlaceExpert


class BatchedPickPlace(BatchedExpert):
    """Pick an object and place it in the task's target region."""

    kind = "pick_place"
    planner = PickPlaceExpert
