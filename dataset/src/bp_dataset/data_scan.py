"""One streamed pass over ``data/*.parquet``: the frame table's schema and its values.

Each file is read batch by batch (memory does not grow with the dataset). The schema
side checks the columns (exactly the non-video features, with their dtypes and shapes)
and the indices (``index`` contiguous over the dataset, ``frame_index`` 0..length-1,
``timestamp`` = frame_index / fps, rows in the data file their episode names). The value
side checks that every number is finite, quaternions have unit norm, ``next.done`` marks
exactly each episode's last frame and actions lie within their declared ranges. It
also records each episode's last-frame ``next.success`` (the tier check's failure rollouts)
and first-frame ``observation.state`` (the gate's check of the recorded initial states).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from bp_sdk.errors import BPError
from numpy.typing import NDArray

from bp_dataset.features import data_columns
from bp_dataset.info import Info
from bp_dataset.report import Problems
from bp_dataset.root import DatasetRoot
from bp_dataset.tables import DATA_FILE_RE, Meta

BATCH_ROWS: Final = 65_536
QUATERNION_TOLERANCE: Final = 1e-3  # | |q| - 1 | allowed (float32 storage)
TIMESTAMP_TOLERANCE_S: Final = 1e-4
QUAT_SLICE: Final = slice(3, 7)  # position (3) + quaternion wxyz (4)
ARROW: Final[dict[str, pa.DataType]] = {
    "float32": pa.float32(),
    "float64": pa.float64(),
    "int64": pa.int64(),
    "int32": pa.int32(),
    "bool": pa.bool_(),
}
Ranges = dict[str, list[tuple[float, float] | None]]  # feature -> per-dimension [lo, hi]


@dataclass
class DataScan:
    """What the pass measured."""

    files: int = 0
    rows: int = 0
    last_success: dict[int, bool] = field(default_factory=dict)
    first_state: dict[int, list[float]] = field(default_factory=dict)  # observation.state, frame 0
    nonfinite: int = 0
    bad_quaternions: int = 0
    out_of_range: int = 0
    ranges_checked: list[str] = field(default_factory=list)


def quaternion_features(info: Info) -> list[str]:
    """Pose features (position + quaternion wxyz) whose quaternion must be unit norm."""
    return [
        k
        for k, v in info.features.items()
        if v.get("names") and list(v["names"])[-4:] == ["qw", "qx", "qy", "qz"]
    ]


def type_problem(t: pa.DataType, feat: dict[str, Any]) -> str | None:
    """Why an arrow type does not store a feature, or None if it does."""
    want = ARROW.get(str(feat.get("dtype")))
    shape = list(feat.get("shape") or [])
    if want is None or len(shape) != 1:
        return f"feature dtype/shape {feat.get('dtype')}/{shape} cannot be a data column"
    if shape == [1]:
        return None if t == want else f"type {t}, expected {want}"
    if pa.types.is_fixed_size_list(t):
        ok = t.value_type == want and t.list_size == shape[0]
    else:
        ok = (pa.types.is_list(t) or pa.types.is_large_list(t)) and t.value_type == want
    return None if ok else f"type {t}, expected a list of {shape[0]} {want}"


def matrix(arr: pa.Array, width: int) -> NDArray[Any]:
    """Rows x width numpy view of a scalar or (fixed-size) list column without nulls."""
    if (
        pa.types.is_fixed_size_list(arr.type)
        or pa.types.is_list(arr.type)
        or pa.types.is_large_list(arr.type)
    ):
        flat = arr.flatten()
        return np.asarray(flat.to_numpy(zero_copy_only=False)).reshape(-1, width)
    return np.asarray(arr.to_numpy(zero_copy_only=False)).reshape(-1, 1)


class _Scanner:
    def __init__(self, meta: Meta, schema: Problems, values: Problems, ranges: Ranges) -> None:
        assert meta.info is not None  # noqa: S101 - caller checks
        assert meta.episodes is not None  # noqa: S101 - caller checks
        self.info, self.ep = meta.info, meta.episodes
        self.tasks = meta.tasks or []
        self.schema, self.values, self.ranges = schema, values, ranges
        self.columns = data_columns(self.info.features)
        self.quats = quaternion_features(self.info)
        n = len(self.ep)
        self.from_arr = np.asarray(self.ep.from_index, dtype=np.int64)
        self.to_arr = np.asarray(self.ep.to_index, dtype=np.int64)
        self.len_arr = np.asarray(self.ep.length, dtype=np.int64)
        self.counts = np.zeros(n, dtype=np.int64)
        allowed = {t: i for i, t in enumerate(self.tasks)}
        self.ep_tasks = [{allowed[t] for t in ts if t in allowed} for ts in self.ep.tasks]
        self.next_index = 0
        self.out = DataScan(ranges_checked=sorted(ranges))

    def file(self, rel: str, stream: Any) -> None:
        pf = pq.ParquetFile(stream)
        schema = pf.schema_arrow
        names = schema.names
        missing = [c for c in self.columns if c not in names]
        extra = [c for c in names if c not in self.columns]
        if missing or extra:
            self.schema.add(
                f"{rel}: columns must equal the non-video features exactly; missing {missing}, "
                f"unexpected {extra}"
            )
            return
        typed = True
        for col in self.columns:
            why = type_problem(schema.field(col).type, self.info.features[col])
            if why:
                self.schema.add(f"{rel}: column {col!r} has {why}")
                typed = False
        if not typed:
            return
        self.out.files += 1
        seen: set[int] = set()
        for batch in pf.iter_batches(batch_size=BATCH_ROWS):
            self.batch(rel, batch, seen)
        for e in sorted(seen):
            if self.ep.data_file[e] != rel:
                self.schema.add(
                    f"{rel}: holds rows of episode {e}, whose meta/episodes row names {self.ep.data_file[e]}"
                )

    def batch(self, rel: str, batch: pa.RecordBatch, seen: set[int]) -> None:
        cols: dict[str, pa.Array] = {c: batch.column(c) for c in self.columns}
        for c, arr in cols.items():
            if arr.null_count:
                self.schema.add(f"{rel}: column {c!r} has {arr.null_count} null values")
                return
            if not pa.types.is_fixed_size_list(arr.type) and pa.types.is_list(arr.type):
                width = int(self.info.features[c]["shape"][0])
                lengths = np.asarray(pc.list_value_length(arr).to_numpy(zero_copy_only=False))
                if (lengths != width).any():
                    self.schema.add(f"{rel}: column {c!r} has rows whose length is not {width}")
                    return
        n = batch.num_rows
        idx = matrix(cols["index"], 1)[:, 0].astype(np.int64)
        ep = matrix(cols["episode_index"], 1)[:, 0].astype(np.int64)
        fi = matrix(cols["frame_index"], 1)[:, 0].astype(np.int64)
        start = self.next_index
        want_idx = np.arange(start, start + n, dtype=np.int64)
        self.next_index += n
        self.out.rows += n
        if (idx != want_idx).any():
            k = int(np.argmax(idx != want_idx))
            self.schema.add(
                f"{rel}: 'index' must run 0..total_frames-1 over the data files in order; row {k} "
                f"has {idx[k]}, expected {want_idx[k]}"
            )
            return
        if ((ep < 0) | (ep >= len(self.ep))).any():
            self.schema.add(f"{rel}: 'episode_index' outside 0..{len(self.ep) - 1}")
            return
        seen.update(np.unique(ep).tolist())
        np.add.at(self.counts, ep, 1)
        inside = (idx >= self.from_arr[ep]) & (idx < self.to_arr[ep])
        if not inside.all():
            k = int(np.argmax(~inside))
            self.schema.add(
                f"{rel}: row with index {idx[k]} is labelled episode {ep[k]}, whose rows are "
                f"{self.from_arr[ep[k]]}..{self.to_arr[ep[k]] - 1}"
            )
            return
        want_fi = idx - self.from_arr[ep]
        if (fi != want_fi).any():
            k = int(np.argmax(fi != want_fi))
            self.schema.add(f"{rel}: episode {ep[k]} row {want_fi[k]} has frame_index {fi[k]}")
        ts = matrix(cols["timestamp"], 1)[:, 0].astype(np.float64)
        want_ts = want_fi / self.info.fps
        tol = np.maximum(TIMESTAMP_TOLERANCE_S, np.abs(want_ts) * 2e-7)  # float32 spacing
        if (np.abs(ts - want_ts) > tol).any():
            k = int(np.argmax(np.abs(ts - want_ts) > tol))
            self.schema.add(
                f"{rel}: episode {ep[k]} frame {want_fi[k]} has timestamp {ts[k]:.6f}, "
                f"expected frame_index / fps = {want_ts[k]:.6f}"
            )
        task = matrix(cols["task_index"], 1)[:, 0].astype(np.int64)
        for e, t in {(int(a), int(b)) for a, b in zip(ep, task, strict=True)}:
            if t not in self.ep_tasks[e]:
                self.schema.add(f"{rel}: episode {e} has task_index {t}, not one of its tasks")
        last = want_fi == self.len_arr[ep] - 1
        self._values(rel, cols, ep, want_fi, last)

    def _values(
        self,
        rel: str,
        cols: dict[str, pa.Array],
        ep: NDArray[np.int64],
        fi: NDArray[np.int64],
        last: NDArray[np.bool_],
    ) -> None:
        feats = self.info.features
        mats: dict[str, NDArray[Any]] = {}
        for c in self.columns:
            mats[c] = matrix(cols[c], int(feats[c]["shape"][0]))
            if feats[c]["dtype"] in {"float32", "float64"}:
                bad = ~np.isfinite(mats[c])
                if bad.any():
                    k = int(np.argmax(bad.any(axis=1)))
                    self.out.nonfinite += int(bad.sum())
                    what = "rewards" if c == "next.reward" else "values"
                    self.values.add(
                        f"{rel}: column {c!r} has {int(bad.sum())} non-finite {what} "
                        f"(first: episode {ep[k]} frame {fi[k]})"
                    )
        for c in self.quats:
            q = mats[c][:, QUAT_SLICE].astype(np.float64)
            off = np.abs(np.linalg.norm(q, axis=1) - 1.0) > QUATERNION_TOLERANCE
            off &= np.isfinite(q).all(axis=1)
            if off.any():
                k = int(np.argmax(off))
                self.out.bad_quaternions += int(off.sum())
                self.values.add(
                    f"{rel}: column {c!r} has {int(off.sum())} quaternions whose norm is not 1 "
                    f"within {QUATERNION_TOLERANCE} (first: episode {ep[k]} frame {fi[k]}, "
                    f"norm {np.linalg.norm(q[k]):.5f})"
                )
        if "next.done" in mats:
            done = mats["next.done"][:, 0].astype(bool)
            if (done != last).any():
                k = int(np.argmax(done != last))
                self.values.add(
                    f"{rel}: 'next.done' must be true exactly on each episode's last frame "
                    f"(episode {ep[k]} frame {fi[k]} has {bool(done[k])})"
                )
        if "observation.state" in mats:
            first = fi == 0
            for e, row in zip(ep[first], mats["observation.state"][first], strict=True):
                self.out.first_state[int(e)] = [float(x) for x in row]
        if "next.success" in mats:
            success = mats["next.success"][:, 0].astype(bool)
            for e, s in zip(ep[last], success[last], strict=True):
                self.out.last_success[int(e)] = bool(s)
        for c, dims in self.ranges.items():
            if c not in mats:
                continue
            for d, rng in enumerate(dims):
                if rng is None:
                    continue
                v = mats[c][:, d]
                out = (v < rng[0]) | (v > rng[1])
                if out.any():
                    k = int(np.argmax(out))
                    self.out.out_of_range += int(out.sum())
                    name = (feats[c].get("names") or [str(d)] * (d + 1))[d]
                    self.values.add(
                        f"{rel}: column {c!r} dimension {name!r} has {int(out.sum())} values outside "
                        f"its declared range [{rng[0]}, {rng[1]}] (first: episode {ep[k]} frame "
                        f"{fi[k]}, value {v[k]:.5f})"
                    )

    def finish(self) -> DataScan:
        if self.out.files == 0:
            return self.out  # nothing was readable: the file problems say why
        short = np.nonzero(self.counts != self.len_arr)[0]
        for e in short[:50].tolist():
            self.schema.add(
                f"{self.ep.data_file[e]}: episode {e} has {self.counts[e]} rows, its length is "
                f"{self.len_arr[e]}"
            )
        if self.out.rows != self.info.total_frames:
            self.schema.add(
                f"data: {self.out.rows} rows in all, info.json says total_frames = {self.info.total_frames}"
            )
        return self.out


def scan_data(
    root: DatasetRoot,
    meta: Meta,
    schema: Problems,
    values: Problems,
    ranges: Ranges | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> DataScan:
    """Scan every data file once; schema problems and value problems go to their lists."""
    files = [f.path for f in root.under("data")]
    for rel in files:
        if DATA_FILE_RE.fullmatch(rel) is None:
            schema.add(
                f"{rel}: unexpected file under data/ (expected data/chunk-XXX/file-XXX.parquet)"
            )
    ordered = sorted((f for f in files if DATA_FILE_RE.fullmatch(f)), key=_chunk_file)
    scanner = _Scanner(meta, schema, values, ranges or {})
    if not ordered:
        schema.add("data/chunk-000/file-000.parquet: missing (no data/*.parquet)")
    for rel in ordered:
        try:
            with root.open(rel) as f:
                scanner.file(rel, f)
        except BPError as exc:
            schema.add(f"{rel}: cannot be read ({str(exc.message)[:160]})")
        except (pa.ArrowException, OSError, ValueError) as exc:
            schema.add(f"{rel}: not a readable parquet file ({str(exc)[:160]})")
        if progress is not None:
            progress("data", scanner.out.rows, meta.info.total_frames if meta.info else 0)
    return scanner.finish()


def _chunk_file(rel: str) -> tuple[int, int]:
    m = DATA_FILE_RE.fullmatch(rel)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)
