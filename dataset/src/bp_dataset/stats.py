"""Feature statistics as LeRobot writes them, computed streaming over episodes.

For every numeric feature: ``min``, ``max``, ``mean``, ``std``, ``count`` and the
quantiles ``q01``, ``q10``, ``q50``, ``q90``, ``q99`` per channel (per vector dimension;
per colour channel for images, as ``(3, 1, 1)`` lists scaled to [0, 1] like LeRobot).

* Per-episode statistics (the ``stats/<feature>/<stat>`` columns of the episodes parquet)
  are exact: numpy on the episode's array (quantiles by linear interpolation).
* Dataset statistics (``meta/stats.json``) are accumulated one episode at a time without
  keeping the data: min/max exactly, mean and variance by Chan's parallel update in
  float64 (numpy's result to rounding), quantiles from a per-dimension histogram whose
  range doubles (merging bins pairwise, exactly) when new data falls outside it, so the
  quantile error is at most one bin: ``range / BINS`` after the last doubling.
* Images (uint8) use an exact 256-bin histogram per channel, so their quantiles are exact
  (inverted-CDF definition: the smallest value whose CDF reaches q).

The initial-state spread (:func:`initial_state_spread`) measures how different the starts
of repeated episodes are; export reports it in ``meta/quality.json`` and the gate
recomputes it from ``meta/initial_states.parquet``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

QUANTILES: Final = (0.01, 0.10, 0.50, 0.90, 0.99)
QUANTILE_KEYS: Final = ("q01", "q10", "q50", "q90", "q99")
STAT_KEYS: Final = ("min", "max", "mean", "std", "count", *QUANTILE_KEYS)
BINS: Final = 2048
IMAGE_BATCH: Final = 32  # frames per histogram pass


def _as_rows(array: np.ndarray) -> np.ndarray:
    """``(T, ...)`` → ``(T, D)`` float64 (scalars per frame become one column)."""
    a = np.asarray(array)
    if a.ndim == 1:
        a = a.reshape(-1, 1)
    return a.reshape(a.shape[0], -1).astype(np.float64, copy=False)


def _native(values: np.ndarray, kind: str) -> list[Any]:
    """min/max in the feature's own type (bool, int or float), as LeRobot writes them."""
    if kind == "b":
        return [bool(v) for v in values]
    if kind in "iu":
        return [int(v) for v in values]
    return [float(v) for v in values]


def episode_stats(array: np.ndarray) -> dict[str, Any]:
    """Exact statistics of one episode's feature ``(T, D)`` or ``(T,)`` (lists per stat).

    ``min``/``max`` keep the feature's type (bool/int/float); the rest are floats.
    """
    kind = np.asarray(array).dtype.kind
    rows = _as_rows(array)
    if rows.shape[0] == 0:
        raise ValueError("cannot compute statistics of an empty feature")
    qs = np.quantile(rows, QUANTILES, axis=0)
    out: dict[str, Any] = {
        "min": _native(rows.min(axis=0), kind),
        "max": _native(rows.max(axis=0), kind),
        "mean": rows.mean(axis=0).tolist(),
        "std": rows.std(axis=0).tolist(),
        "count": [int(rows.shape[0])],
    }
    for key, q in zip(QUANTILE_KEYS, qs, strict=True):
        out[key] = q.tolist()
    return out


class RunningStats:
    """Dataset statistics of one vector feature, updated one batch of rows at a time."""

    def __init__(self, dim: int, bins: int = BINS, kind: str = "f") -> None:
        self.dim = dim
        self.kind = kind  # numpy dtype kind of the feature: min/max are reported in it
        self.bins = bins
        self.count = 0
        self.mean = np.zeros(dim)
        self.m2 = np.zeros(dim)
        self.min = np.full(dim, np.inf)
        self.max = np.full(dim, -np.inf)
        self.lo = np.zeros(dim)
        self.width = np.zeros(dim)
        self.hist = np.zeros((dim, bins), dtype=np.int64)

    def update(self, array: np.ndarray) -> None:
        """Add the rows of ``array`` (``(T, D)`` or ``(T,)``); non-finite values are refused."""
        rows = _as_rows(array)
        n, dim = rows.shape
        if dim != self.dim:
            raise ValueError(f"expected {self.dim} values per row, got {dim}")
        if n == 0:
            return
        if not np.isfinite(rows).all():
            raise ValueError("statistics refuse non-finite values")
        bmin, bmax = rows.min(axis=0), rows.max(axis=0)
        bmean = rows.mean(axis=0)
        bm2 = ((rows - bmean) ** 2).sum(axis=0)
        total = self.count + n
        delta = bmean - self.mean
        self.mean = self.mean + delta * (n / total)
        self.m2 = self.m2 + bm2 + delta**2 * (self.count * n / total)
        if self.count == 0:
            span = bmax - bmin
            scale = np.maximum(np.abs(bmin), 1.0)
            self.width = np.where(span > 0, span * (1 + 1e-9) / self.bins, scale * 1e-9)
            self.lo = bmin.copy()
        self.count = total
        self.min = np.minimum(self.min, bmin)
        self.max = np.maximum(self.max, bmax)
        self._cover(bmin, bmax)
        idx = np.floor((rows - self.lo) / self.width).astype(np.int64)
        np.clip(idx, 0, self.bins - 1, out=idx)
        flat = (idx + np.arange(dim) * self.bins).ravel()
        self.hist += np.bincount(flat, minlength=dim * self.bins).reshape(dim, self.bins)

    def _cover(self, bmin: np.ndarray, bmax: np.ndarray) -> None:
        """Double each dimension's range until [bmin, bmax] fits; bins merge pairwise."""
        b = self.bins
        for d in range(self.dim):
            while bmin[d] < self.lo[d] or bmax[d] >= self.lo[d] + self.width[d] * b:
                h = self.hist[d]
                merged = h.reshape(b // 2, 2).sum(axis=1)
                new = np.zeros(b, dtype=np.int64)
                if bmin[d] < self.lo[d]:  # grow downwards: old bins land in the upper half
                    new[b // 2 :] = merged
                    self.lo[d] -= self.width[d] * b
                else:  # grow upwards: old bins land in the lower half
                    new[: b // 2] = merged
                self.width[d] *= 2
                self.hist[d] = new

    def quantiles(self) -> np.ndarray:
        """``(len(QUANTILES), D)`` from the histograms, interpolated within a bin."""
        out = np.zeros((len(QUANTILES), self.dim))
        for d in range(self.dim):
            cum = np.cumsum(self.hist[d])
            for i, q in enumerate(QUANTILES):
                target = q * self.count
                j = int(np.searchsorted(cum, target))
                j = min(j, self.bins - 1)
                before = cum[j - 1] if j > 0 else 0
                inside = self.hist[d, j]
                frac = (target - before) / inside if inside else 0.0
                value = self.lo[d] + (j + frac) * self.width[d]
                out[i, d] = min(max(value, self.min[d]), self.max[d])
        return out

    def result(self) -> dict[str, Any]:
        """The statistics as lists (``count`` as ``[n]``)."""
        if self.count == 0:
            raise ValueError("no data")
        std = np.sqrt(np.maximum(self.m2 / self.count, 0.0))
        out: dict[str, Any] = {
            "min": _native(self.min, self.kind),
            "max": _native(self.max, self.kind),
            "mean": self.mean.tolist(),
            "std": std.tolist(),
            "count": [self.count],
        }
        for key, q in zip(QUANTILE_KEYS, self.quantiles(), strict=True):
            out[key] = q.tolist()
        return out


class ImageStats:
    """Exact per-channel statistics of uint8 images from 256-bin histograms.

    ``count`` is the number of frames (as LeRobot counts images); values are scaled to
    [0, 1] and shaped ``(channels, 1, 1)`` like LeRobot's image statistics.
    """

    def __init__(self, channels: int = 3) -> None:
        self.channels = channels
        self.frames = 0
        self.hist = np.zeros((channels, 256), dtype=np.int64)

    def update(self, frames: np.ndarray) -> None:
        """Add ``(T, H, W, C)`` uint8 frames."""
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[3] != self.channels:
            raise ValueError(
                f"expected (T, H, W, {self.channels}) uint8 frames, got {frames.shape} {frames.dtype}"
            )
        self.frames += frames.shape[0]
        # per channel (bincount converts to machine ints: a few frames at a time)
        for i in range(0, frames.shape[0], IMAGE_BATCH):
            px = frames[i : i + IMAGE_BATCH].reshape(-1, self.channels)
            for c in range(self.channels):
                self.hist[c] += np.bincount(px[:, c], minlength=256)

    def add_counts(self, hist: np.ndarray, frames: int) -> None:
        """Add ``(channels, 256)`` value counts already taken from ``frames`` frames."""
        counts = np.asarray(hist, dtype=np.int64)
        if counts.shape != self.hist.shape:
            raise ValueError(f"expected counts of shape {self.hist.shape}, got {counts.shape}")
        self.frames += int(frames)
        self.hist += counts

    def merge(self, other: ImageStats) -> None:
        """Add another accumulator's counts."""
        self.frames += other.frames
        self.hist += other.hist

    def result(self) -> dict[str, Any]:
        """The statistics in LeRobot's image layout."""
        if self.frames == 0:
            raise ValueError("no frames")
        values = np.arange(256, dtype=np.float64)
        n = self.hist.sum(axis=1).astype(np.float64)
        mean = (self.hist * values).sum(axis=1) / n
        var = (self.hist * (values - mean[:, None]) ** 2).sum(axis=1) / n
        nz = self.hist > 0
        mins = np.array([values[r].min() for r in nz])
        maxs = np.array([values[r].max() for r in nz])
        cum = np.cumsum(self.hist, axis=1)
        out: dict[str, Any] = {
            "min": mins,
            "max": maxs,
            "mean": mean,
            "std": np.sqrt(var),
        }
        for key, q in zip(QUANTILE_KEYS, QUANTILES, strict=True):
            out[key] = np.array(
                [values[int(np.searchsorted(cum[c], q * n[c]))] for c in range(self.channels)]
            )
        shaped = {k: (v / 255.0).reshape(self.channels, 1, 1).tolist() for k, v in out.items()}
        shaped["count"] = [self.frames]
        return {k: shaped[k] for k in STAT_KEYS}

    def to_json(self) -> dict[str, Any]:
        """Raw counts (to pass between processes without pickle)."""
        return {"frames": self.frames, "hist": self.hist.tolist()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ImageStats:
        """Inverse of :meth:`to_json`."""
        hist = np.asarray(data["hist"], dtype=np.int64)
        out = cls(hist.shape[0])
        out.frames = int(data["frames"])
        out.hist = hist
        return out


def order_stats(stats: dict[str, Any]) -> dict[str, Any]:
    """Keys in LeRobot's order (min, max, mean, std, count, quantiles)."""
    return {k: stats[k] for k in STAT_KEYS if k in stats}


# ---------------------------------------------------------------------- initial states

SPREAD_DEFINITION: Final = (
    "per (scene, run, variant, task) group of at least 2 episodes: object spread = RMS over "
    "the group's episodes and the objects present in all of them of the xy distance (m) of "
    "each object's initial position from its mean over the group; robot spread = RMS over "
    "the episodes of the L2 distance (rad) of the initial arm joints from their group mean. "
    "The dataset's value is the smallest group's (identical starts give 0)."
)
GroupKey = tuple[str, str, str, str]  # scene, run, variant, task


@dataclass(frozen=True)
class InitialStateRow:
    """One episode's initial state as the spread needs it."""

    group: GroupKey
    object_xy: NDArray[np.float64]  # (N, 2)
    present: NDArray[np.bool_]  # (N,)
    robot_qpos: NDArray[np.float64]  # (7,)


def _rms(dev: NDArray[np.float64]) -> float:
    return float(np.sqrt(np.mean(np.sum(dev * dev, axis=-1))))


def initial_state_spread(rows: list[InitialStateRow]) -> dict[str, Any]:
    """Spread of the initial states within each group (:data:`SPREAD_DEFINITION`)."""
    groups: dict[GroupKey, list[InitialStateRow]] = {}
    for r in rows:
        groups.setdefault(r.group, []).append(r)
    out: list[dict[str, Any]] = []
    for key in sorted(groups):
        members = groups[key]
        entry: dict[str, Any] = dict(
            zip(("scene_id", "run_id", "variant_id", "task_id"), key, strict=True)
        )
        entry["episodes"] = len(members)
        entry["object_spread_m"] = entry["robot_spread_rad"] = None
        if len(members) >= 2:
            common = np.logical_and.reduce([m.present for m in members])
            if common.any():
                xy = np.stack([m.object_xy[common] for m in members])
                entry["object_spread_m"] = round(_rms(xy - xy.mean(axis=0)), 6)
            robot = np.stack([m.robot_qpos for m in members])
            entry["robot_spread_rad"] = round(_rms(robot - robot.mean(axis=0)), 6)
        out.append(entry)
    objects = [g["object_spread_m"] for g in out if g["object_spread_m"] is not None]
    robots = [g["robot_spread_rad"] for g in out if g["robot_spread_rad"] is not None]
    return {
        "definition": SPREAD_DEFINITION,
        "groups_measured": sum(1 for g in out if g["episodes"] >= 2),
        "groups_with_one_episode": sum(1 for g in out if g["episodes"] < 2),
        "min_object_spread_m": min(objects) if objects else None,
        "mean_object_spread_m": round(sum(objects) / len(objects), 6) if objects else None,
        "min_robot_spread_rad": min(robots) if robots else None,
        "groups": out,
    }
