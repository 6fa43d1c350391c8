"""Per-frame reward, done and success of one episode (LeRobot ``next.*``, robomimic ``rewards``).

The reward is **sparse and defined by the task's own success predicate**, the one the
episodes stage evaluated in simulation:

* The episodes stage checks the predicate after every control step, i.e. after the
  action of frame ``i`` has been applied for one control period (``1/fps``). It records
  ``metrics.time_to_success_s = n / fps``, where ``n`` is the number of control steps
  after which the predicate first held *and kept holding to the end* (an episode only
  succeeds if it holds on the last step). Observation frame ``n`` (timestamp ``n/fps``)
  is therefore the first recorded frame that shows the task done, and ``1 <= n <= T``
  (``n == T`` when the last action completed the task).
* ``next.success[i]`` / ``success[i]``: the predicate holds in the state reached by
  frame ``i``'s action, i.e. ``i >= n - 1``. Failed episodes have none.
* ``next.reward[i]`` / robomimic ``rewards[i]``: ``1.0`` where ``success[i]``, else
  ``0.0`` (float32, always finite). This is the usual ``r_t = R(s_{t+1})`` of the
  transition ``(s_t, a_t) -> s_{t+1}``, which is what LeRobot's ``next.*`` columns and
  robomimic's ``rewards`` mean; a successful episode always ends with reward 1.
* ``next.done[i]`` / robomimic ``dones[i]``: true on the last frame only (episodes end
  when the expert's plan is done or the task's time limit is reached, not on success).

Every input is checked first; all problems are reported at once, naming the episode.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
from bp_sdk.errors import PermanentError, Problem
from numpy.typing import NDArray

from bp_export.sources import ExportEpisode

REWARD_DEFINITION: Final = (
    "Sparse success reward. For the transition from frame i to frame i+1 (frame i's action "
    "applied for one control period), reward = 1.0 if the task's success predicate holds in "
    "the state it reaches, else 0.0. The predicate is the task's own (tasks.json), evaluated in "
    "simulation after every control step; an episode succeeds only if it holds from "
    "metrics.time_to_success_s (= n/fps) to the end, so reward is 1.0 exactly on frames "
    "i >= n - 1 of successful episodes and 0.0 everywhere in failed ones. done is true on the "
    "last frame only; success equals reward > 0."
)
# time_to_success_s is rounded to 1e-4 s upstream: allow that much off a whole frame
_FRAME_TOLERANCE: Final = 0.05


def _where(record: ExportEpisode) -> str:
    return f"episode {record.episode_id} ({record.scene_id}/{record.run_id})"


def success_onset(record: ExportEpisode, length: int, fps: int) -> int | None:
    """``n``: the first observation frame that shows the task done, or None for a failure.

    Raises :class:`PermanentError` listing every inconsistency (see the module docstring).
    """
    where = _where(record)
    problems = _size_problems(where, length, fps)
    sizes_ok = not problems
    problems += _record_problems(where, record, length, fps)
    metrics = record.meta.metrics
    tts = None if metrics is None else metrics.time_to_success_s
    if record.success:
        onset, found = _onset(where, tts, length, fps, sizes_ok)
    else:
        onset, found = None, _failure_problems(where, tts)
    problems += found
    if problems:
        raise PermanentError(
            f"cannot derive rewards for {where}: {len(problems)} problem(s)",
            problems=problems,
            next_step="Reject the episode or re-record it; its metadata contradicts itself.",
        )
    return onset


def _size_problems(where: str, length: int, fps: int) -> list[Problem]:
    """The frame count and fps must be integers >= 1."""
    problems: list[Problem] = []
    if isinstance(length, bool) or not isinstance(length, int) or length < 1:
        problems.append(Problem(where, f"frame count must be an integer >= 1, got {length!r}"))
    if isinstance(fps, bool) or not isinstance(fps, int) or fps < 1:
        problems.append(Problem(where, f"fps must be an integer >= 1, got {fps!r}"))
    return problems


def _record_problems(where: str, record: ExportEpisode, length: int, fps: int) -> list[Problem]:
    """The episode's JSON must agree with the export on fps, frame count and success."""
    problems: list[Problem] = []
    meta = record.meta
    metrics = meta.metrics
    if meta.fps != fps:
        problems.append(
            Problem(where, f"was recorded at {meta.fps!r} fps but is exported at {fps!r} fps")
        )
    if meta.frames is not None and meta.frames != length:
        problems.append(
            Problem(
                where,
                f"its JSON says {meta.frames!r} frames but {length!r} frames are exported",
                "export every recorded frame; never drop or pad frames",
            )
        )
    if meta.success != record.success:
        problems.append(
            Problem(
                where,
                f"record says success={record.success} but its JSON status is {meta.status!r}",
            )
        )
    if metrics is not None and metrics.success is not None and metrics.success != record.success:
        problems.append(
            Problem(
                where,
                f"record says success={record.success} but metrics.success is {metrics.success!r}",
            )
        )
    return problems


def _failure_problems(where: str, tts: float | None) -> list[Problem]:
    """A failure must have no time to success."""
    if tts is None:
        return []
    return [
        Problem(
            where,
            f"is a failure but has metrics.time_to_success_s={tts!r}; a failure never reached success",
        )
    ]


def _onset(
    where: str, tts: float | None, length: int, fps: int, sizes_ok: bool
) -> tuple[int | None, list[Problem]]:
    """A success's onset frame from its time to success (None when the sizes are bad), and
    what is wrong with it: not finite, not a whole frame, or outside the episode."""
    if isinstance(tts, bool) or not isinstance(tts, int | float) or not math.isfinite(tts):
        return None, [
            Problem(
                where,
                f"is a success but metrics.time_to_success_s is {tts!r}; expected a finite number of seconds",
                "re-record the episode with the current episodes stage",
            )
        ]
    if not sizes_ok:
        return None, []
    problems: list[Problem] = []
    exact = tts * fps
    onset = round(exact)
    if abs(exact - onset) > _FRAME_TOLERANCE:
        problems.append(
            Problem(
                where,
                f"time_to_success_s={tts!r} is not a whole number of frames at {fps} fps",
                "check that the episode's fps matches the export's",
            )
        )
    if not 1 <= onset <= length:
        problems.append(
            Problem(
                where,
                f"time_to_success_s={tts!r} s is frame {onset}, outside the episode: expected "
                f"1..{length} for {length} frames at {fps} fps (success is measured after "
                "a frame's action, so frame 0 cannot show it)",
                "the episode's metrics do not match its data; re-record it",
            )
        )
    return onset, problems


def frame_rewards(
    record: ExportEpisode, length: int, fps: int
) -> tuple[NDArray[np.float32], NDArray[np.bool_], NDArray[np.bool_]]:
    """``(reward float32 (T,), done bool (T,), success bool (T,))`` as the module defines them."""
    onset = success_onset(record, length, fps)
    success = np.zeros(length, dtype=np.bool_)
    if onset is not None:
        success[onset - 1 :] = True
    reward = success.astype(np.float32)
    done = np.zeros(length, dtype=np.bool_)
    done[-1] = True
    if not np.all(np.isfinite(reward)):  # cannot happen by construction; kept as a hard rule
        raise PermanentError(f"non-finite reward computed for {_where(record)}")
    return reward, done, success
