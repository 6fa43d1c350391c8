"""``meta/initial_states.parquet``: every exported episode's initial state, and its spread.

One row per episode, in episode order (every tier: the gate recomputes the diversity
metric from it, and cross-checks the robot start with the data's first frame and, in
tier full, the object rows with the lossless object poses' first frame):

| column | type | meaning |
|---|---|---|
| ``episode_index`` | int64 | LeRobot episode index |
| ``scene_id``, ``run_id``, ``episode_id``, ``variant_id``, ``task_id`` | string | identity and group |
| ``seed`` | int64 | the initial state's seed (-1: not recorded) |
| ``recorded`` | bool | the episodes stage recorded the state (false: robot from frame 0, no objects) |
| ``robot_qpos`` | list<double> (7) | arm joint positions at reset (rad) |
| ``object_poses`` | list<double> (7 N) | per object of ``blueprintpipeline.objects``: x y z qw qx qy qz |
| ``object_present`` | list<bool> (N) | the object exists in the episode's scene variant |
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from bp_dataset.features import ABSENT_POSE
from bp_dataset.stats import InitialStateRow, initial_state_spread

from bp_export.objects import ObjectIndex, object_name
from bp_export.sources import ExportEpisode

SCHEMA: Final = pa.schema(
    [
        pa.field("episode_index", pa.int64()),
        pa.field("scene_id", pa.string()),
        pa.field("run_id", pa.string()),
        pa.field("episode_id", pa.string()),
        pa.field("variant_id", pa.string()),
        pa.field("task_id", pa.string()),
        pa.field("seed", pa.int64()),
        pa.field("recorded", pa.bool_()),
        pa.field("robot_qpos", pa.list_(pa.float64())),
        pa.field("object_poses", pa.list_(pa.float64())),
        pa.field("object_present", pa.list_(pa.bool_())),
    ]
)
ARM_JOINTS: Final = 7


@dataclass(frozen=True)
class StateRow:
    """One episode's row."""

    episode_index: int
    scene_id: str
    run_id: str
    episode_id: str
    variant_id: str
    task_id: str
    seed: int
    recorded: bool
    robot_qpos: list[float]
    object_poses: list[float]
    object_present: list[bool]

    def spread_row(self) -> InitialStateRow:
        """What the spread needs."""
        poses = np.asarray(self.object_poses, dtype=np.float64).reshape(-1, 7)
        return InitialStateRow(
            group=(self.scene_id, self.run_id, self.variant_id, self.task_id),
            object_xy=poses[:, :2],
            present=np.asarray(self.object_present, dtype=bool),
            robot_qpos=np.asarray(self.robot_qpos, dtype=np.float64),
        )


def state_row(
    record: ExportEpisode, index: ObjectIndex, first_state: np.ndarray | None
) -> StateRow:
    """The row of an accepted episode (``first_state``: its frame-0 ``observation.state``,
    used when the episode JSON records no initial state)."""
    meta = record.meta
    init = meta.initial_state
    n = len(index.names)
    poses = [list(ABSENT_POSE) for _ in range(n)]
    present = [False] * n
    seed: int | None = None
    if init is not None:
        rows = index.rows
        for oid, pose in init.objects.items():
            i = rows.get(object_name(record.scene_id, oid))
            if i is not None:
                poses[i] = [*pose.position_m, *pose.orientation_wxyz]
                present[i] = True
        robot = list(init.robot_qpos)
        seed = init.seed
    else:
        robot = [] if first_state is None else [float(x) for x in first_state[:ARM_JOINTS]]
    return StateRow(
        episode_index=record.dataset_index,
        scene_id=record.scene_id,
        run_id=record.run_id,
        episode_id=record.episode_id,
        variant_id=meta.variant_id,
        task_id=record.task_id,
        seed=-1 if seed is None else seed,
        recorded=init is not None,
        robot_qpos=robot,
        object_poses=[x for p in poses for x in p],
        object_present=present,
    )


def table_bytes(rows: list[StateRow]) -> bytes:
    """The parquet file (rows in episode order; the same rows give the same bytes)."""
    ordered = sorted(rows, key=lambda r: r.episode_index)
    cols = {f.name: [getattr(r, f.name) for r in ordered] for f in SCHEMA}
    table = pa.Table.from_pydict(cols, schema=SCHEMA)
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="snappy")
    return buf.getvalue()


def spread(rows: list[StateRow]) -> dict[str, Any]:
    """The initial-state spread of the rows (quality.json's ``diversity.initial_state``)."""
    usable = [r for r in rows if len(r.robot_qpos) == ARM_JOINTS]
    return initial_state_spread([r.spread_row() for r in usable])
