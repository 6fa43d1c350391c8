"""Checks of one demo before :class:`bp_export.robomimic.RobomimicWriter` writes it: every
declared stream present, one frame count over streams, rewards and dones, the shapes and
dtypes robomimic reads, and finite values. Each returns every problem at once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from bp_dataset.features import ACTION_NAMES
from bp_sdk.errors import Problem
from numpy.typing import NDArray

from bp_export.robomimic_keys import LOWDIM_SHAPES


def demo_problems(
    where: str,
    arrays: Mapping[str, NDArray[Any]],
    rewards: NDArray[Any],
    dones: NDArray[Any],
    lowdim_keys: Sequence[str],
    image_keys: Sequence[str],
) -> tuple[int, list[Problem]]:
    """The demo's frame count (-1 when unknown) and every problem with its streams."""
    t, problems = _frame_problems(where, arrays, rewards, dones, [*lowdim_keys, *image_keys])
    problems += _shape_problems(where, arrays, lowdim_keys, image_keys)
    problems += _value_problems(where, arrays, rewards, dones, lowdim_keys, image_keys)
    return t, problems


def _frame_problems(
    where: str,
    arrays: Mapping[str, NDArray[Any]],
    rewards: NDArray[Any],
    dones: NDArray[Any],
    obs_keys: Sequence[str],
) -> tuple[int, list[Problem]]:
    """Missing streams, and streams, rewards and dones that disagree in frame count."""
    problems: list[Problem] = []
    wanted = ["action", *obs_keys]
    missing = [k for k in wanted if k not in arrays]
    if missing:
        problems.append(
            Problem(
                where,
                f"misses stream(s) {missing}",
                "reject the episode; it lacks a declared stream",
            )
        )
    present = [k for k in wanted if k in arrays]
    lengths = {k: int(np.shape(arrays[k])[0]) if np.ndim(arrays[k]) else -1 for k in present}
    lengths["rewards"] = int(np.shape(rewards)[0]) if np.ndim(rewards) == 1 else -1
    lengths["dones"] = int(np.shape(dones)[0]) if np.ndim(dones) == 1 else -1
    t = lengths.get("action", -1)
    if len(set(lengths.values())) != 1 or t < 1:
        problems.append(
            Problem(
                where,
                f"streams disagree in frame count (or are not 1-D over frames): {lengths}",
            )
        )
    return t, problems


def _shape_problems(
    where: str,
    arrays: Mapping[str, NDArray[Any]],
    lowdim_keys: Sequence[str],
    image_keys: Sequence[str],
) -> list[Problem]:
    """The action's width, each low-dim stream's shape, each image's shape and dtype."""
    problems: list[Problem] = []
    if "action" in arrays:
        a = np.asarray(arrays["action"])
        if a.ndim != 2 or a.shape[1] != len(ACTION_NAMES):
            problems.append(
                Problem(where, f"action must be (T, {len(ACTION_NAMES)}), got {a.shape}")
            )
    for k in lowdim_keys:
        if k not in arrays:
            continue
        tail = np.shape(arrays[k])[1:]
        want = LOWDIM_SHAPES[k]
        if len(tail) != len(want) or any(
            w is not None and w != g for w, g in zip(want, tail, strict=False)
        ):
            problems.append(
                Problem(
                    where,
                    f"{k} must be (T, {', '.join(str(w or 'n') for w in want)}), got (T, {', '.join(map(str, tail))})",
                )
            )
    for k in image_keys:
        if k not in arrays:
            continue
        a = np.asarray(arrays[k])
        if k.startswith("observation.images."):
            if a.dtype != np.uint8 or a.ndim != 4 or a.shape[3] != 3:
                problems.append(
                    Problem(where, f"{k} must be (T, H, W, 3) uint8, got {a.shape} {a.dtype}")
                )
        elif a.ndim != 3 or not np.issubdtype(a.dtype, np.floating):
            problems.append(Problem(where, f"{k} must be (T, H, W) float, got {a.shape} {a.dtype}"))
    return problems


def _value_problems(
    where: str,
    arrays: Mapping[str, NDArray[Any]],
    rewards: NDArray[Any],
    dones: NDArray[Any],
    lowdim_keys: Sequence[str],
    image_keys: Sequence[str],
) -> list[Problem]:
    """NaN or inf in actions, low-dim streams or depth; rewards finite, dones 0/1."""
    problems: list[Problem] = []
    for k in ["action", *lowdim_keys, *(k for k in image_keys if "depth" in k)]:
        v = np.asarray(arrays[k]) if k in arrays else None
        if v is not None and np.issubdtype(v.dtype, np.floating) and not np.all(np.isfinite(v)):
            problems.append(Problem(where, f"{k} has NaN or inf values"))
    r = np.asarray(rewards)
    if not np.issubdtype(r.dtype, np.number) or not np.all(np.isfinite(r)):
        problems.append(Problem(where, "rewards must be finite numbers"))
    d = np.asarray(dones)
    if d.dtype != np.bool_ and not np.all((d == 0) | (d == 1)):
        problems.append(Problem(where, "dones must be booleans (or 0/1)"))
    return problems
