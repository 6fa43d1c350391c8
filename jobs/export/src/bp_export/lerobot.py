"""LeRobot v3.0 tables: frame rows, the episode table, tasks and stats, as the official
0.4.4 reader loads them.

* ``data/*.parquet``: columns exactly the non-video features, in the features' order;
  a ``[1]``-shaped feature is a scalar column, an ``[n]`` vector a ``fixed_size_list``
  of n values (what ``datasets.Sequence(length=n)`` stores).
* ``meta/episodes/*.parquet``: one row per episode, in episode order, with the columns
  the reader and ``aggregate_datasets`` use, per-episode ``stats/<feature>/<stat>`` and
  ours (provenance, success, quality, split, where its lossless arrays are).
* ``meta/tasks.parquet``: the task string as the pandas index (``__index_level_0__``)
  and ``task_index``; row i holds task i.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

import numpy as np
import pyarrow as pa
from bp_dataset.features import data_columns
from bp_dataset.stats import episode_stats

ARROW: Final[dict[str, pa.DataType]] = {
    "float32": pa.float32(),
    "float64": pa.float64(),
    "int64": pa.int64(),
    "int32": pa.int32(),
    "bool": pa.bool_(),
}
OUR_COLUMNS: Final = (
    "scene_id",
    "run_id",
    "episode_id",
    "task_id",
    "success",
    "quality_score",
    "split",
)


def arrow_type(feat: dict[str, Any]) -> pa.DataType:
    """The arrow type of a non-video feature."""
    base = ARROW[str(feat["dtype"])]
    shape = list(feat["shape"])
    if shape == [1]:
        return base
    if len(shape) != 1:
        raise ValueError(f"feature of shape {shape} cannot be a data column")
    return pa.list_(base, shape[0])


def hf_feature(feat: dict[str, Any]) -> dict[str, Any]:
    """The ``datasets`` feature description LeRobot's writer stores in the schema metadata."""
    shape = list(feat["shape"])
    value = {"dtype": str(feat["dtype"]), "_type": "Value"}
    if shape == [1]:
        return value
    return {"feature": value, "length": shape[0], "_type": "List"}


def data_schema(feats: dict[str, Any]) -> pa.Schema:
    """Schema of ``data/*.parquet`` for a features dict (with datasets' metadata)."""
    cols = data_columns(feats)
    meta = {"info": {"features": {c: hf_feature(feats[c]) for c in cols}}}
    return pa.schema(
        [pa.field(c, arrow_type(feats[c])) for c in cols],
        metadata={b"huggingface": json.dumps(meta).encode()},
    )


def pose_from_extrinsics(ext: np.ndarray) -> np.ndarray:
    """``(T, 4, 4)`` camera-to-world → ``(T, 7)`` position + unit quaternion wxyz (w >= 0)."""
    r = ext[:, :3, :3].astype(np.float64)
    t = ext[:, :3, 3].astype(np.float64)
    m00, m01, m02 = r[:, 0, 0], r[:, 0, 1], r[:, 0, 2]
    m10, m11, m12 = r[:, 1, 0], r[:, 1, 1], r[:, 1, 2]
    m20, m21, m22 = r[:, 2, 0], r[:, 2, 1], r[:, 2, 2]
    # Shepperd: pick the largest of 4w², 4x², 4y², 4z² for a stable division
    cand = np.stack(
        [1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22], axis=1
    )
    k = cand.argmax(axis=1)
    s = np.sqrt(np.maximum(cand[np.arange(len(k)), k], 1e-12)) * 2  # 4 * component
    q = np.empty((len(k), 4))
    w = k == 0
    q[w] = np.stack(
        [s[w] / 4, (m21 - m12)[w] / s[w], (m02 - m20)[w] / s[w], (m10 - m01)[w] / s[w]], 1
    )
    x = k == 1
    q[x] = np.stack(
        [(m21 - m12)[x] / s[x], s[x] / 4, (m01 + m10)[x] / s[x], (m02 + m20)[x] / s[x]], 1
    )
    y = k == 2
    q[y] = np.stack(
        [(m02 - m20)[y] / s[y], (m01 + m10)[y] / s[y], s[y] / 4, (m12 + m21)[y] / s[y]], 1
    )
    z = k == 3
    q[z] = np.stack(
        [(m10 - m01)[z] / s[z], (m02 + m20)[z] / s[z], (m12 + m21)[z] / s[z], s[z] / 4], 1
    )
    q *= np.where(q[:, :1] < 0, -1.0, 1.0)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return np.concatenate([t, q], axis=1).astype(np.float32)


def frame_columns(
    arrays: Mapping[str, np.ndarray],
    cameras: tuple[str, ...],
    reward: np.ndarray,
    done: np.ndarray,
    success: np.ndarray,
    episode_index: int,
    first_index: int,
    task_index: int,
    fps: int,
) -> dict[str, np.ndarray]:
    """Every non-video feature of one episode as a ``(T,)`` or ``(T, n)`` array."""
    t = int(arrays["observation.state"].shape[0])
    frame_index = np.arange(t, dtype=np.int64)
    cols: dict[str, np.ndarray] = {
        "observation.state": arrays["observation.state"],
        "observation.velocity": arrays["observation.velocity"],
        "observation.ee_pose": arrays["observation.ee_pose"],
    }
    for cam in cameras:
        cols[f"observation.camera_pose.{cam}"] = pose_from_extrinsics(
            arrays[f"camera.extrinsics.{cam}"]
        )
    cols["action"] = arrays["action"]
    cols["next.reward"] = reward.astype(np.float32)
    cols["next.done"] = done.astype(np.bool_)
    cols["next.success"] = success.astype(np.bool_)
    cols["timestamp"] = (frame_index / fps).astype(np.float32)
    cols["frame_index"] = frame_index
    cols["episode_index"] = np.full(t, episode_index, dtype=np.int64)
    cols["index"] = np.arange(first_index, first_index + t, dtype=np.int64)
    cols["task_index"] = np.full(t, task_index, dtype=np.int64)
    return cols


def frame_table(cols: Mapping[str, np.ndarray], schema: pa.Schema) -> pa.Table:
    """The episode's rows as an arrow table of ``schema`` (no Python objects per value)."""
    arrays = []
    for field in schema:
        a = np.ascontiguousarray(cols[field.name])
        if pa.types.is_fixed_size_list(field.type):
            n = field.type.list_size
            flat = pa.array(
                a.reshape(-1).astype(field.type.value_type.to_pandas_dtype(), copy=False)
            )
            if a.ndim != 2 or a.shape[1] != n:
                raise ValueError(f"{field.name}: expected (T, {n}), got {a.shape}")
            arrays.append(pa.FixedSizeListArray.from_arrays(flat, n))
        else:
            arrays.append(pa.array(a.reshape(-1), type=field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def numeric_stats(
    cols: Mapping[str, np.ndarray], feats: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """Exact per-episode statistics of every non-video feature (min/max in its own type)."""
    return {c: episode_stats(np.asarray(cols[c])) for c in data_columns(feats)}


def flat_stats(stats: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """``{"stats/<feature>/<stat>": value}`` columns of one episode row."""
    return {f"stats/{f}/{k}": v for f, s in stats.items() for k, v in s.items()}


def stat_type(value: Any, stat: str) -> pa.DataType:
    """Arrow type of a stats column: lists (nested for images) of the value's type
    (count int64; min/max bool or int64 for bool/int features; double otherwise)."""
    depth = 0
    v = value
    while isinstance(v, list):
        depth += 1
        v = v[0] if v else None
    leaf: pa.DataType = pa.float64()
    if stat == "count" or (isinstance(v, int) and not isinstance(v, bool)):
        leaf = pa.int64()
    elif isinstance(v, bool):
        leaf = pa.bool_()
    t = leaf
    for _ in range(depth):
        t = pa.list_(t)
    return t


def episodes_schema(first_row: dict[str, Any], video_keys: list[str]) -> pa.Schema:
    """Arrow schema of the episode table, typed explicitly (no inference per file)."""
    fields = [
        pa.field("episode_index", pa.int64()),
        pa.field("tasks", pa.list_(pa.string())),
        pa.field("length", pa.int64()),
        pa.field("data/chunk_index", pa.int64()),
        pa.field("data/file_index", pa.int64()),
        pa.field("dataset_from_index", pa.int64()),
        pa.field("dataset_to_index", pa.int64()),
    ]
    for key in video_keys:
        fields += [
            pa.field(f"videos/{key}/chunk_index", pa.int64()),
            pa.field(f"videos/{key}/file_index", pa.int64()),
            pa.field(f"videos/{key}/from_timestamp", pa.float64()),
            pa.field(f"videos/{key}/to_timestamp", pa.float64()),
        ]
    for col, value in first_row.items():
        if col.startswith("stats/"):
            fields.append(pa.field(col, stat_type(value, col.rsplit("/", 1)[-1])))
    fields += [
        pa.field("meta/episodes/chunk_index", pa.int64()),
        pa.field("meta/episodes/file_index", pa.int64()),
        pa.field("scene_id", pa.string()),
        pa.field("run_id", pa.string()),
        pa.field("episode_id", pa.string()),
        pa.field("task_id", pa.string()),
        pa.field("success", pa.bool_()),
        pa.field("quality_score", pa.float64()),
        pa.field("split", pa.string()),
    ]
    if "lossless/chunk_index" in first_row:
        fields += [
            pa.field("lossless/chunk_index", pa.int64()),
            pa.field("lossless/file_index", pa.int64()),
        ]
    return pa.schema(fields)


def rows_table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """Rows (dicts) as a table of ``schema``; a missing column is an error, not a null."""
    cols = {}
    for field in schema:
        values = []
        for r in rows:
            if field.name not in r:
                raise ValueError(
                    f"episode row {r.get('episode_index')} lacks column {field.name!r}"
                )
            values.append(r[field.name])
        cols[field.name] = pa.array(values, type=field.type)
    return pa.Table.from_pydict(cols, schema=schema)


def tasks_table(tasks: list[str]) -> pa.Table:
    """``meta/tasks.parquet``: ``task_index`` plus the task string as pandas' index."""
    pandas_meta = {
        "index_columns": ["__index_level_0__"],
        "column_indexes": [
            {
                "name": None,
                "field_name": None,
                "pandas_type": "unicode",
                "numpy_type": "object",
                "metadata": {"encoding": "UTF-8"},
            }
        ],
        "columns": [
            {
                "name": "task_index",
                "field_name": "task_index",
                "pandas_type": "int64",
                "numpy_type": "int64",
                "metadata": None,
            },
            {
                "name": None,
                "field_name": "__index_level_0__",
                "pandas_type": "unicode",
                "numpy_type": "object",
                "metadata": None,
            },
        ],
        "attributes": {},
        "creator": {"library": "pyarrow", "version": pa.__version__},
        "pandas_version": "2.3.3",
    }
    schema = pa.schema(
        [pa.field("task_index", pa.int64()), pa.field("__index_level_0__", pa.string())],
        metadata={b"pandas": json.dumps(pandas_meta).encode()},
    )
    return pa.Table.from_pydict(
        {"task_index": list(range(len(tasks))), "__index_level_0__": tasks}, schema=schema
    )
