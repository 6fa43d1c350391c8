"""Per-frame reward, done and success derived from the episode's own success metrics."""

from __future__ import annotations

import numpy as np
import pytest
from bp_export.reward import frame_rewards, success_onset
from bp_sdk.errors import PermanentError

from tests.export_extras.builders import FPS, make_record


def test_success_rewards_start_one_frame_before_the_first_success_frame() -> None:
    """A success whose predicate first shows at frame 25 of 30 is rewarded on frames 24..29 only."""
    rec = make_record(0, frames=30, onset=25)
    reward, done, success = frame_rewards(rec, 30, FPS)
    assert reward.dtype == np.float32 and done.dtype == np.bool_ and success.dtype == np.bool_
    assert reward.shape == done.shape == success.shape == (30,)
    assert np.all(np.isfinite(reward))
    assert reward[:24].sum() == 0.0
    assert np.all(reward[24:] == 1.0)
    assert np.array_equal(success, reward > 0)
    assert done.tolist() == [False] * 29 + [True]


def test_failure_has_no_reward_and_ends_done() -> None:
    """A failed episode gets reward 0 and success false on every frame, done on the last."""
    rec = make_record(1, frames=12, success=False)
    reward, done, success = frame_rewards(rec, 12, FPS)
    assert not reward.any() and not success.any()
    assert np.all(np.isfinite(reward))
    assert np.flatnonzero(done).tolist() == [11]


def test_success_on_the_last_action_rewards_only_the_last_frame() -> None:
    """Success reached by the final action (frame n == T) rewards the last transition, no error."""
    rec = make_record(2, frames=10, onset=10)
    assert success_onset(rec, 10, FPS) == 10
    reward, _, _ = frame_rewards(rec, 10, FPS)
    assert reward.tolist() == [0.0] * 9 + [1.0]


@pytest.mark.parametrize("onset", [0, 11, 40])
def test_time_to_success_outside_the_episode_is_an_error_naming_it(onset: int) -> None:
    """time_to_success_s that is frame 0 or past the end is refused, naming the episode."""
    rec = make_record(3, frames=10, onset=onset)
    rec.meta.metrics.time_to_success_s = onset / FPS
    with pytest.raises(PermanentError) as info:
        frame_rewards(rec, 10, FPS)
    assert rec.episode_id in str(info.value)
    assert "outside the episode" in str(info.value)


def test_success_without_time_to_success_is_an_error() -> None:
    """A success whose metrics lack a finite time_to_success_s cannot be rewarded."""
    rec = make_record(4, frames=10)
    rec.meta.metrics.time_to_success_s = float("nan")
    with pytest.raises(PermanentError, match="time_to_success_s"):
        frame_rewards(rec, 10, FPS)


def test_failure_with_time_to_success_is_an_error() -> None:
    """A failure that claims a time to success contradicts itself and is refused."""
    rec = make_record(5, frames=10, success=False)
    rec.meta.metrics.time_to_success_s = 0.2
    with pytest.raises(PermanentError, match="is a failure"):
        frame_rewards(rec, 10, FPS)


def test_every_inconsistency_is_reported_at_once() -> None:
    """Wrong fps, wrong frame count and a status contradiction are listed together."""
    rec = make_record(6, frames=10)
    rec.meta.status = "failure"
    with pytest.raises(PermanentError) as info:
        frame_rewards(rec, 11, 25)
    text = str(info.value)
    assert "exported at 25 fps" in text
    assert "11 frames are exported" in text
    assert "status is 'failure'" in text
    assert len(info.value.problems) >= 3


@pytest.mark.parametrize(("length", "fps"), [(0, 20), (10, 0), (True, 20)])
def test_bad_sizes_are_refused(length: int, fps: int) -> None:
    """Zero-length episodes, zero fps or non-integers are refused."""
    rec = make_record(7, frames=10)
    rec.meta.frames = None  # a record always has its fps (the contract requires it)
    with pytest.raises(PermanentError):
        frame_rewards(rec, length, fps)
