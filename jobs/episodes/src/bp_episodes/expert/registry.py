"""Experts by task kind; unknown kinds list the valid ones."""

from __future__ import annotations

from bp_episodes.expert.base import Expert
from bp_episodes.expert.door import CloseDoorExpert, OpenDoorExpert
from bp_episodes.expert.drawer import CloseDrawerExpert, OpenDrawerExpert
from bp_episodes.expert.pick_place import PickPlaceExpert
from bp_episodes.expert.push import PushExpert

EXPERTS: dict[str, type[Expert]] = {
    e.kind: e
    for e in (
        PickPlaceExpert,
        PushExpert,
        OpenDrawerExpert,
        CloseDrawerExpert,
        OpenDoorExpert,
        CloseDoorExpert,
    )
}


class UnknownExpertError(KeyError):
    """No expert for a task kind."""


def expert_for(kind: str) -> Expert:
    """A new expert for ``kind``."""
    try:
        return EXPERTS[kind]()
    except KeyError:
        raise UnknownExpertError(
            f"no scripted expert for task kind {kind!r}; available: {', '.join(sorted(EXPERTS))}"
        ) from None
