"""meta/initial_states.parquet and the initial-state spread quality.json reports."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pyarrow.parquet as pq
from bp_export.initial_states import spread, state_row, table_bytes
from bp_export.objects import build_index
from bp_export.sources import Candidate

from tests.export_extras.builders import make_record, record_of

OBJECTS = ["cube", "ball"]


def _index() -> Any:
    meta = record_of("e", variant_id="v0000", movable_objects=OBJECTS)
    c = Candidate("scene_a", "r-1", "e", meta, None, None)  # type: ignore[arg-type]
    return build_index([c], ["scene_a/r-1"])


def _record(i: int, task: str, shift: float, *, init: bool = True) -> Any:
    rec = make_record(i, task_id=task, episode_id=f"ep{i}")
    if init:
        rec.meta.initial_state = {
            "seed": 10 + i,
            "robot_qpos": [0.1 * shift] * 7,
            "objects": {
                "cube": {"position_m": [shift, 0.0, 0.9], "orientation_wxyz": [1, 0, 0, 0]},
                "ball": {"position_m": [0.5, shift, 0.9], "orientation_wxyz": [1, 0, 0, 0]},
            },
        }
    return rec


def test_identical_starts_have_zero_spread_and_perturbed_ones_do_not() -> None:
    """The near-duplicate case measures 0; 1 cm apart measures 0.5 cm RMS; single-episode
    groups are counted but not measured."""
    index = _index()
    same = [state_row(_record(i, "pick", 0.0), index, None) for i in range(3)]
    s = spread(same)
    assert s["min_object_spread_m"] == 0.0 and s["min_robot_spread_rad"] == 0.0
    apart = [state_row(_record(i, "pick", 0.01 * i), index, None) for i in range(2)]
    apart.append(state_row(_record(5, "push", 0.0), index, None))
    s = spread(apart)
    assert s["min_object_spread_m"] == 0.005 and s["groups_measured"] == 1
    assert s["groups_with_one_episode"] == 1
    (pick,) = [g for g in s["groups"] if g["task_id"] == "pick"]
    assert (pick["variant_id"], pick["episodes"]) == ("v0000", 2)
    assert spread([state_row(_record(0, "pick", 0.0), index, None)])["min_object_spread_m"] is None


def test_rows_follow_the_object_list_and_fall_back_to_the_first_frame() -> None:
    """Object rows in the dataset's order with presence; without a recorded state the robot
    comes from frame 0 and no object is present."""
    index = _index()
    row = state_row(_record(0, "pick", 0.02), index, None)
    assert row.recorded and row.seed == 10 and row.object_present == [True, True]
    assert row.object_poses[:7] == [0.02, 0.0, 0.9, 1.0, 0.0, 0.0, 0.0]
    old = state_row(_record(1, "pick", 0.0, init=False), index, np.arange(8, dtype=np.float32))
    assert not old.recorded and old.seed == -1 and old.robot_qpos == [float(x) for x in range(7)]
    assert old.object_present == [False, False] and old.object_poses[3] == 1.0


def test_parquet_round_trips_and_is_deterministic() -> None:
    """The table reads back row for row, in episode order; the same rows give the same bytes."""
    index = _index()
    rows = [state_row(_record(i, "pick", 0.01 * i), index, None) for i in (1, 0)]
    data = table_bytes(rows)
    assert table_bytes(list(reversed(rows))) == data
    back = pq.read_table(io.BytesIO(data)).to_pylist()
    assert [r["episode_index"] for r in back] == [0, 1]
    assert (
        back[1]["object_poses"] == rows[0].object_poses
        and back[1]["robot_qpos"] == rows[0].robot_qpos
    )
