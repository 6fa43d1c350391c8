"""Batched push: closed fingers behind the object, slide, retreat (``expert.push``)."""

from __future__ import annotations

from bp_episodes.batched.experts.base import BatchedExpert
from bp_episodes.expert.push import PushExpert


class BatchedPush(BatchedExpert):
    """Push an object along the task's direction."""

    kind = "push"
    planner = PushExpert
