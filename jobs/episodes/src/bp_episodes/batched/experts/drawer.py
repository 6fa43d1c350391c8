"""Batched drawers: grip the bar, pull or push along the slide (``expert.drawer``)."""

from __future__ import annotations

from bp_episodes.batched.experts.base import BatchedExpert
from bp_episodes.expert.drawer import CloseDrawerExpert, OpenDrawerExpert


class BatchedOpenDrawer(BatchedExpert):
    """Open a drawer by its handle."""

    kind = "open_drawer"
    planner = OpenDrawerExpert


class BatchedCloseDrawer(BatchedExpert):
    """Close a drawer by its handle."""

    kind = "close_drawer"
    planner = CloseDrawerExpert
