"""The initial-state diversity metric, recomputed from the data and cross-checked.

``meta/initial_states.parquet`` holds every episode's initial state (robot joints, every
object of the dataset's object list). Before the gate trusts it, it must agree with the
rest of the dataset:

* one row per episode, in order, with the episode table's scene, run, episode and task ids
  and quality.json's variant;
* the recorded robot joints are the first frame's ``observation.state`` (data parquet);
* in tier full, the object rows and presence are the first frame of the lossless
  ``observation.object_poses`` / ``observation.object_present``;

and ``meta/quality.json``'s ``summary.diversity.initial_state`` must be what the rows give
(:func:`bp_dataset.stats.initial_state_spread`). Any disagreement is a ``quality_report``
problem; the metric is the smallest group's object spread (None: nothing to measure).
"""

from __future__ import annotations

import math
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from bp_dataset.data_scan import DataScan
from bp_dataset.layout import INITIAL_STATES, QUALITY, lossless_member, lossless_path
from bp_dataset.report import Problems
from bp_dataset.root import DatasetRoot
from bp_dataset.stats import InitialStateRow, initial_state_spread
from bp_dataset.tables import Meta
from bp_sdk.errors import BPError

TOLERANCE: Final = 1e-5  # float32 storage of the data and lossless streams
POSES: Final = "observation.object_poses"
PRESENT: Final = "observation.object_present"
ID_COLUMNS: Final = ("scene_id", "run_id", "episode_id", "task_id")


def _read(root: DatasetRoot, problems: Problems) -> list[dict[str, Any]] | None:
    try:
        with root.open(INITIAL_STATES) as f:
            return list(pq.read_table(f).to_pylist())
    except BPError:
        problems.add(f"{INITIAL_STATES}: missing (info.json declares it)")
    except (pa.ArrowException, OSError, ValueError) as exc:
        problems.add(f"{INITIAL_STATES}: not a readable parquet file ({str(exc)[:120]})")
    return None


def _rows_problems(
    rows: list[dict[str, Any]], meta: Meta, quality_eps: dict[int, dict[str, Any]], n_objects: int
) -> list[str]:
    eps = meta.episodes
    assert eps is not None  # noqa: S101 - caller checks
    out: list[str] = []
    if [r.get("episode_index") for r in rows] != list(range(len(eps))):
        return [f"{INITIAL_STATES}: rows must be episodes 0..{len(eps) - 1} in order"]
    wrong: dict[str, list[int]] = {}
    for e, r in enumerate(rows):
        for col in ID_COLUMNS:
            if col in eps.extra and eps.extra[col][e] != r.get(col):
                wrong.setdefault(f"{col} (vs meta/episodes)", []).append(e)
        if e in quality_eps and quality_eps[e].get("variant_id") != r.get("variant_id"):
            wrong.setdefault(f"variant_id (vs {QUALITY})", []).append(e)
        poses, present = r.get("object_poses") or [], r.get("object_present") or []
        if len(poses) != 7 * n_objects or len(present) != n_objects:
            wrong.setdefault("object columns (vs blueprintpipeline.objects)", []).append(e)
        if len(r.get("robot_qpos") or []) != 7:
            wrong.setdefault("robot_qpos (7 joints)", []).append(e)
    out += [
        f"{INITIAL_STATES}: {what} disagrees for episodes {e[:20]}" for what, e in wrong.items()
    ]
    return out


def _robot_problems(rows: list[dict[str, Any]], scan: DataScan) -> list[str]:
    off = [
        e
        for e, r in enumerate(rows)
        if r.get("recorded")
        and e in scan.first_state
        and len(r.get("robot_qpos") or []) == 7
        and np.abs(np.subtract(r["robot_qpos"], scan.first_state[e][:7])).max() > TOLERANCE
    ]
    if not off:
        return []
    return [
        f"{INITIAL_STATES}: robot_qpos is not the first frame's observation.state for episodes {off[:20]}"
    ]


def _lossless_problems(root: DatasetRoot, rows: list[dict[str, Any]], meta: Meta) -> list[str]:
    """Tier full: object rows and presence at reset equal the lossless streams' first frame."""
    eps = meta.episodes
    assert eps is not None  # noqa: S101 - caller checks
    cols = ("lossless/chunk_index", "lossless/file_index")
    if not all(c in eps.extra for c in cols):
        return []  # the tier check reports missing lossless columns
    off: list[int] = []
    by_file: dict[str, list[int]] = {}
    for e in range(len(eps)):
        rel = lossless_path(int(eps.extra[cols[0]][e]), int(eps.extra[cols[1]][e]))
        by_file.setdefault(rel, []).append(e)
    for rel, members in sorted(by_file.items()):
        try:
            with root.open(rel) as f, np.load(f, allow_pickle=False) as npz:
                for e in members:
                    r = rows[e]
                    if not r.get("recorded"):
                        continue
                    present = np.asarray(npz[lossless_member(e, PRESENT)][0]).astype(bool)
                    poses = np.asarray(npz[lossless_member(e, POSES)][0], dtype=np.float64)
                    want = np.asarray(r["object_poses"], dtype=np.float64).reshape(-1, 7)
                    same = present.shape == want[:, 0].shape and bool(
                        (present == np.asarray(r["object_present"], dtype=bool)).all()
                    )
                    if (
                        not same
                        or np.abs(poses[present] - want[present]).max(initial=0) > TOLERANCE
                    ):
                        off.append(e)
        except (BPError, OSError, ValueError, KeyError) as exc:
            return [f"{rel}: cannot cross-check initial states ({str(exc)[:120]})"]
    if not off:
        return []
    return [
        f"{INITIAL_STATES}: object poses at reset differ from the lossless first frame for episodes {off[:20]}"
    ]


def _spread(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return initial_state_spread(
        [
            InitialStateRow(
                group=(r["scene_id"], r["run_id"], r["variant_id"], r["task_id"]),
                object_xy=np.asarray(r["object_poses"], dtype=np.float64).reshape(-1, 7)[:, :2],
                present=np.asarray(r["object_present"], dtype=bool),
                robot_qpos=np.asarray(r["robot_qpos"], dtype=np.float64),
            )
            for r in rows
            if len(r.get("robot_qpos") or []) == 7
        ]
    )


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    return (
        isinstance(a, int | float)
        and isinstance(b, int | float)
        and math.isfinite(float(b))
        and abs(float(a) - float(b)) <= 1e-6
    )


def compute(
    root: DatasetRoot, meta: Meta, scan: DataScan | None, quality: Any, problems: Problems
) -> tuple[float | None, dict[str, Any]]:
    """The smallest group's initial object spread (m) and the spread document, with every
    disagreement between the initial states, the data and quality.json in ``problems``."""
    info, eps = meta.info, meta.episodes
    if info is None or eps is None or scan is None:
        return None, {}
    reported = ((quality or {}).get("summary") or {}).get("diversity") or {}
    claimed = reported.get("initial_state") if isinstance(reported, dict) else None
    if info.blueprintpipeline.initial_states is None:
        if claimed is not None:
            problems.add(
                f"{QUALITY}: reports an initial-state spread, the dataset has no {INITIAL_STATES}"
            )
        return None, {"note": f"no {INITIAL_STATES}: exported before initial states were recorded"}
    rows = _read(root, problems)
    if rows is None:
        return None, {}
    q_eps = {
        q["dataset_index"]: q
        for q in (quality or {}).get("episodes") or []
        if isinstance(q, dict) and isinstance(q.get("dataset_index"), int)
    }
    found = _rows_problems(rows, meta, q_eps, len(info.blueprintpipeline.objects))
    if not found:
        found += _robot_problems(rows, scan)
        if info.blueprintpipeline.tier == "full":
            found += _lossless_problems(root, rows, meta)
    problems.extend(found)
    if found:
        return None, {}
    spread = _spread(rows)
    if not isinstance(claimed, dict):
        problems.add(f"{QUALITY}: summary.diversity.initial_state is missing")
    else:
        for key in ("min_object_spread_m", "min_robot_spread_rad", "groups_measured"):
            if not _same(spread.get(key), claimed.get(key)):
                problems.add(
                    f"{QUALITY}: summary.diversity.initial_state.{key} is {claimed.get(key)!r}, "
                    f"{INITIAL_STATES} gives {spread.get(key)!r}"
                )
    return spread["min_object_spread_m"], spread
