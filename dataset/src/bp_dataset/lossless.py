"""The tier's lossless streams (``lossless/chunk-XXX/file-XXX.npz``): present exactly as declared.

Tier ``core`` has none; ``plus`` has depth per camera; ``full`` adds segmentation per
camera, object poses and contacts (:mod:`bp_dataset.features`). Each npz is read with
``allow_pickle=False``; every array of a declared stream must be there, finite, and
hold one row per frame of the episodes it covers.
"""

from __future__ import annotations

import re
import zipfile
from typing import Any, Final

import numpy as np
from bp_sdk.errors import BPError

from bp_dataset.data_scan import QUATERNION_TOLERANCE
from bp_dataset.features import Recording
from bp_dataset.layout import INFO, LOSSLESS_PATH, lossless_member, lossless_path
from bp_dataset.report import Problems
from bp_dataset.root import DatasetRoot
from bp_dataset.tables import Meta

LOSSLESS_DIR: Final = "lossless"
POSES: Final = "observation.object_poses"  # position + quaternion wxyz per movable object
LOSSLESS_FILE_RE: Final = re.compile(r"^lossless/chunk-(\d{3,})/file-(\d{3,})\.npz$")


def _recording(meta: Meta) -> Recording | None:
    info = meta.info
    if info is None or not info.blueprintpipeline.cameras:
        return None
    cams = tuple(info.blueprintpipeline.cameras)
    res = next(iter(info.blueprintpipeline.cameras.values())).width
    return Recording(info.fps, res, cams, info.blueprintpipeline.tier, info.robot_type)


MEMBER_RE: Final = re.compile(r"^episode_(\d{6,})/(.+)$")  # episode_000012/observation.depth.wrist
LOSSLESS_COLUMNS: Final = ("lossless/chunk_index", "lossless/file_index")
STREAM_DTYPES: Final = {
    "observation.depth": "f",
    "observation.segmentation": "i",
    "observation.object_poses": "f",
    "observation.contacts": "f",
    "observation.object_present": "u",
}
OBJECT_ROWS: Final = frozenset(
    {"observation.object_poses", "observation.contacts", "observation.object_present"}
)


_KIND_NAMES: Final = {"f": "float", "i": "integer", "u": "unsigned integer (uint8)"}


def _kind(stream: str) -> str | None:
    for prefix, kind in STREAM_DTYPES.items():
        if stream == prefix or stream.startswith(prefix + "."):
            return kind
    return None


def check_lossless(root: DatasetRoot, meta: Meta, tier: Problems, values: Problems) -> int:
    """Check the lossless files against the declared tier; return how many there are."""
    rec = _recording(meta)
    if meta.info is None or rec is None:
        tier.add(f"{INFO}: cannot tell the tier's streams (info.json is invalid; see schema)")
        return 0
    block = meta.info.blueprintpipeline
    want = rec.lossless_keys()
    if list(block.lossless_streams) != want:
        tier.add(
            f"{INFO}: blueprintpipeline.lossless_streams is {block.lossless_streams}, tier "
            f"{rec.tier!r} with cameras {list(rec.cameras)} requires {want}"
        )
    files = sorted(f.path for f in root.under(LOSSLESS_DIR))
    eps = meta.episodes
    has_cols = eps is not None and all(c in eps.extra for c in LOSSLESS_COLUMNS)
    if not want:
        for rel in files:
            tier.add(f"{rel}: lossless file in a tier {rec.tier!r} dataset (core has none)")
        if block.lossless_path is not None:
            tier.add(f"{INFO}: lossless_path is set in a tier {rec.tier!r} dataset")
        if has_cols:
            tier.add(
                f"meta/episodes: has {LOSSLESS_COLUMNS} columns in a tier {rec.tier!r} dataset"
            )
        return len(files)
    if block.lossless_path != LOSSLESS_PATH:
        tier.add(f"{INFO}: lossless_path is {block.lossless_path!r}, expected {LOSSLESS_PATH!r}")
    for rel in files:
        if LOSSLESS_FILE_RE.fullmatch(rel) is None:
            tier.add(f"{rel}: unexpected file under {LOSSLESS_DIR}/ (expected {LOSSLESS_PATH})")
    if eps is None:
        return len(files)  # the schema check reports why the episode table is unreadable
    if not has_cols:
        tier.add(f"meta/episodes: columns {list(LOSSLESS_COLUMNS)} are missing (tier {rec.tier!r})")
        return len(files)
    by_file: dict[str, list[int]] = {}
    for e in range(len(eps)):
        c, f = eps.extra[LOSSLESS_COLUMNS[0]][e], eps.extra[LOSSLESS_COLUMNS[1]][e]
        by_file.setdefault(lossless_path(int(c), int(f)), []).append(e)
    for rel in sorted(set(files) - set(by_file)):
        if LOSSLESS_FILE_RE.fullmatch(rel):
            tier.add(f"{rel}: lossless file that no episode refers to")
    for rel, members in sorted(by_file.items()):
        if rel not in files:
            tier.add(f"{rel}: missing (holds the lossless streams of episodes {members[:20]})")
            continue
        lengths = {e: eps.length[e] for e in members}
        _check_file(root, rel, lengths, want, len(block.objects), tier, values)
    return len(files)


def _check_file(
    root: DatasetRoot,
    rel: str,
    lengths: dict[int, int],
    want: list[str],
    objects: int,
    tier: Problems,
    values: Problems,
) -> None:
    """Exactly the declared streams of the file's episodes, one row per frame, finite, and
    one object row per object of the dataset's object list (when it declares one)."""
    expected = {lossless_member(e, s): (e, s) for e in lengths for s in want}
    try:
        with root.open(rel) as f, np.load(f, allow_pickle=False) as npz:
            keys = set(npz.files)
            for key in sorted(keys - set(expected)):
                m = MEMBER_RE.fullmatch(key)
                what = (
                    "a stream this tier does not have"
                    if m and int(m.group(1)) in lengths
                    else "not an episode of this file"
                )
                tier.add(f"{rel}: array {key!r} is {what}")
            for key in sorted(set(expected) - keys):
                tier.add(f"{rel}: array {key!r} is missing (required by the tier)")
            for key in sorted(set(expected) & keys):
                e, stream = expected[key]
                arr: Any = npz[key]
                if arr.ndim < 1 or arr.shape[0] != lengths[e]:
                    tier.add(
                        f"{rel}: {key!r} has {arr.shape[0] if arr.ndim else 0} rows, episode {e} has {lengths[e]} frames"
                    )
                if objects and stream in OBJECT_ROWS and (arr.ndim < 2 or arr.shape[1] != objects):
                    tier.add(
                        f"{rel}: {key!r} has shape {arr.shape}, expected one row per object of "
                        f"blueprintpipeline.objects ({objects})"
                    )
                kind = _kind(stream)
                if kind is not None and arr.dtype.kind != kind:
                    tier.add(f"{rel}: {key!r} has dtype {arr.dtype}, expected {_KIND_NAMES[kind]}")
                if arr.dtype.kind == "f":
                    bad = int((~np.isfinite(arr)).sum())
                    if bad:
                        values.add(f"{rel}: {key!r} has {bad} non-finite values")
                    elif stream == POSES and arr.ndim == 3 and arr.shape[2] == 7:
                        norm = np.linalg.norm(arr[:, :, 3:7].astype(np.float64), axis=2)
                        off = int((np.abs(norm - 1.0) > QUATERNION_TOLERANCE).sum())
                        if off:
                            values.add(
                                f"{rel}: {key!r} has {off} object quaternions whose norm is not 1"
                            )
    except BPError as exc:
        tier.add(f"{rel}: cannot be read ({str(exc.message)[:160]})")
    except (OSError, ValueError, TypeError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        tier.add(f"{rel}: not a readable npz ({str(exc)[:160]})")
