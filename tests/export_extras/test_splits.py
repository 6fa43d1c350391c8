"""Train/valid splits: stratified per task, every task in train, sizes as requested, stable."""

from __future__ import annotations

import pytest
from bp_export import splits
from bp_export.splits import Member, assign, quotas, valid_count


def _members(sizes: dict[str, int], scene: str = "s") -> list[Member]:
    return [Member(scene, "r1", f"{t}-{i:03d}", t) for t, n in sizes.items() for i in range(n)]


def _valid_by_task(members: list[Member], fraction: float) -> dict[str, int]:
    got = assign(members, fraction)
    out: dict[str, int] = {}
    for m in members:
        out[m.task] = out.get(m.task, 0) + (got[m.key] == "valid")
    return out


def test_the_issue_case_keeps_every_task_in_train() -> None:
    """6 episodes of 3 tasks at 0.1: one valid episode (0.6 rounded half up), never a task's last."""
    members = _members({"a": 2, "b": 2, "c": 2})
    valid = _valid_by_task(members, 0.1)
    assert sum(valid.values()) == 1
    assert all(valid[t] < 2 for t in valid)  # every task keeps a train episode


@pytest.mark.parametrize(
    ("sizes", "fraction", "want"),
    [
        ({"a": 10}, 0.1, 1),
        ({"a": 10, "b": 10}, 0.25, 5),  # 5.0
        ({"a": 3, "b": 3, "c": 3}, 0.5, 5),  # 4.5 rounds half up
        ({"a": 1, "b": 1, "c": 1}, 0.5, 0),  # single-episode tasks stay in train
        ({"a": 2, "b": 1}, 0.9, 1),  # capped: a keeps one train episode, b has only one
        ({"a": 4}, 0.0, 0),
        ({"a": 4}, 0.1, 0),  # 0.4 rounds to 0
    ],
)
def test_valid_size_is_the_requested_share_rounded_half_up(
    sizes: dict[str, int], fraction: float, want: int
) -> None:
    """V = min(floor(N f + 1/2), sum(n_t - 1)), and assign gives exactly V valid episodes."""
    assert valid_count(list(sizes.values()), fraction) == want
    assert sum(_valid_by_task(_members(sizes), fraction).values()) == want


def test_quotas_follow_each_task_share_by_largest_remainder() -> None:
    """Floor of each task's share first, the rest to the largest remainders."""
    assert quotas({"a": 7, "b": 3}, 0.2) == {"a": 1, "b": 1}  # 1.4 + 0.6 -> V = 2
    assert quotas({"a": 9, "b": 1}, 0.3) == {"a": 3, "b": 0}  # b cannot give its only episode
    got = quotas({"a": 5, "b": 5, "c": 5}, 0.2)
    assert got == {"a": 1, "b": 1, "c": 1}


def test_splits_are_deterministic_and_independent_of_input_order() -> None:
    """The same episodes give the same split, however they are listed."""
    members = _members({"a": 7, "b": 4, "c": 3}) + _members({"a": 5}, scene="t")
    first = assign(members, 0.3)
    assert assign(list(reversed(members)), 0.3) == first
    assert sum(v == "valid" for v in first.values()) == splits.valid_count([12, 4, 3], 0.3)
