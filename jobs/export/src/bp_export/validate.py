"""The hard rules an episode must pass to enter a dataset; a failing episode is rejected
with every reason (never dropped silently, never exported with a warning).

* every stream the tier declares is present (``bp_dataset.features.required_npz_keys``);
* every stream has the same number of frames, equal to the episode JSON's ``frames``;
* shapes and dtypes are the recording's (resolution, vector sizes, object rows);
* no NaN or infinity in any float array, nor in any metric of the episode JSON;
* timestamps are ``frame_index / fps`` (within 1e-4 s, LeRobot's tolerance);
* camera extrinsics are rigid transforms (their pose becomes a position + quaternion).

Array headers are read from the npz without decompressing the arrays, so a missing or
short stream is found before any image is loaded.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from bp_contracts.episode import EpisodeRecord, StreamSpec, stream_specs
from bp_dataset.features import Recording, required_npz_keys

from bp_export.sources import finite_or_none

TIMESTAMP_TOLERANCE_S = 1e-4
ROTATION_TOLERANCE = 1e-3


@dataclass
class Checked:
    """An episode's loaded arrays and the reasons it must be rejected (empty: accepted)."""

    frames: int
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the episode passes every rule."""
        return not self.reasons


def npz_headers(path: Path) -> dict[str, tuple[tuple[int, ...], np.dtype[Any]]]:
    """``{key: (shape, dtype)}`` of every array in an npz, reading only the headers."""
    out: dict[str, tuple[tuple[int, ...], np.dtype[Any]]] = {}
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if not name.endswith(".npy"):
                continue
            with zf.open(name) as f:
                version = np.lib.format.read_magic(f)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(f)
                else:
                    shape, _, dtype = np.lib.format.read_array_header_2_0(f)
            out[name[: -len(".npy")]] = (tuple(shape), dtype)
    return out


def expected_shapes(rec: Recording, objects: int) -> dict[str, StreamSpec]:
    """Per-frame shape and dtype kind of every stream (the episode arrays' contract)."""
    return stream_specs(rec.cameras, rec.resolution, objects)


def check_episode(meta: EpisodeRecord, path: Path, rec: Recording, load_images: bool) -> Checked:
    """Apply every rule; load the arrays export needs (images only if ``load_images``)."""
    try:
        headers = npz_headers(path)
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        return Checked(0, reasons=[f"episode data is not a readable npz: {type(exc).__name__}"])
    reasons: list[str] = []
    declared = [*required_npz_keys(rec), "timestamp"]
    missing = [k for k in declared if k not in headers]
    if missing:
        reasons.append(f"missing declared stream(s) for tier {rec.tier}: {', '.join(missing)}")
    counts = {k: (h[0][0] if h[0] else -1) for k, h in headers.items() if k in declared}
    frames = meta.frames
    if len(set(counts.values())) > 1 or (counts and frames != next(iter(counts.values()))):
        detail = ", ".join(f"{k}={n}" for k, n in sorted(counts.items()))
        reasons.append(f"streams disagree in frame count (episode JSON says {frames!r}): {detail}")
    n_frames = int(frames) if isinstance(frames, int) and not isinstance(frames, bool) else 0
    if n_frames < 1:
        reasons.append(f"episode has no frames (frames={frames!r})")
    objects = len(meta.movable_objects)
    shapes = expected_shapes(rec, objects)
    for key in declared:
        if key not in headers:
            continue
        shape, dtype = headers[key]
        spec = shapes[key]
        want, kind = spec.shape, spec.kind
        if tuple(shape[1:]) != want:
            reasons.append(f"{key} has frames of shape {tuple(shape[1:])}, expected {want}")
        if not spec.accepts(dtype.kind, dtype.itemsize):
            reasons.append(
                f"{key} has dtype {dtype}, expected {'uint8' if kind == 'u' else 'float' if kind == 'f' else 'integer'}"
            )
    if meta.metrics is not None and not finite_or_none(meta.metrics.as_dict()):
        reasons.append("episode metrics contain NaN or infinity")
    if reasons:
        return Checked(n_frames, reasons=reasons)
    return _load_and_check(path, declared, headers, rec, n_frames, load_images)


def _load_and_check(
    path: Path,
    declared: list[str],
    headers: dict[str, tuple[tuple[int, ...], np.dtype[Any]]],
    rec: Recording,
    frames: int,
    load_images: bool,
) -> Checked:
    out = Checked(frames)
    with np.load(path, allow_pickle=False) as data:
        for key in declared:
            if key.startswith("observation.images.") and not load_images:
                continue
            arr = data[key]
            if arr.dtype.kind == "f":
                bad = ~np.isfinite(arr)
                if bad.any():
                    where = np.argwhere(bad.reshape(bad.shape[0], -1).any(axis=1)).ravel()
                    out.reasons.append(
                        f"{key} has {int(bad.sum())} NaN/infinite values (first at frame {int(where[0])})"
                    )
            out.arrays[key] = arr
    ts = out.arrays.get("timestamp")
    if ts is not None and not out.reasons:
        off = np.abs(ts.astype(np.float64) - np.arange(frames) / rec.fps)
        if off.max() > TIMESTAMP_TOLERANCE_S:
            i = int(off.argmax())
            out.reasons.append(
                f"timestamp of frame {i} is {float(ts[i]):.6f} s, expected {i}/{rec.fps} s (frames must be at a constant rate)"
            )
    for cam in rec.cameras:
        ext = out.arrays.get(f"camera.extrinsics.{cam}")
        if ext is None or out.reasons:
            continue
        rot = ext[:, :3, :3].astype(np.float64)
        err = np.abs(rot @ rot.transpose(0, 2, 1) - np.eye(3)).max(axis=(1, 2))
        det = np.linalg.det(rot)
        bad = (err > ROTATION_TOLERANCE) | (np.abs(det - 1) > ROTATION_TOLERANCE)
        if bad.any():
            out.reasons.append(
                f"camera.extrinsics.{cam} is not a rigid transform at frame {int(np.argmax(bad))}"
            )
    return out
