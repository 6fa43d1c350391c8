"""Batched experts by task kind; an uncovered kind is an error listing the covered ones."""

from __future__ import annotations

from bp_episodes.batched.experts.base import BatchedExpert
from bp_episodes.batched.experts.door import BatchedCloseDoor, BatchedOpenDoor
from bp_episodes.batched.experts.drawer import BatchedCloseDrawer, BatchedOpenDrawer
from bp_episodes.batched.experts.pick_place import BatchedPickPlace
from bp_episodes.batched.experts.push import BatchedPush

BATCHED_EXPERTS: dict[str, type[BatchedExpert]] = {
    e.kind: e
    for e in (
        BatchedPickPlace,
        BatchedPush,
        BatchedOpenDrawer,
        BatchedCloseDrawer,
        BatchedOpenDoor,
        BatchedCloseDoor,
    )
}


class UncoveredTaskError(KeyError):
    """No batched expert for a task kind."""

    def __str__(self) -> str:
        """The message itself (KeyError would quote it)."""
        return str(self.args[0])


def batched_expert_for(kind: str) -> BatchedExpert:
    """A new batched expert for ``kind``."""
    try:
        return BATCHED_EXPERTS[kind]()
    except KeyError:
        raise UncoveredTaskError(
            f"no batched expert for task kind {kind!r}; covered: {', '.join(sorted(BATCHED_EXPERTS))}"
        ) from None
