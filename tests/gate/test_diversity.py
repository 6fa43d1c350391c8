"""The initial-state diversity threshold (config v2, the default): near-duplicate episodes
fail it, perturbed repeats pass, v1 keeps its meaning, and the numbers it uses must agree
with the data (the quality_report integrity check)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from bp_dataset.layout import INITIAL_STATES, QUALITY
from bp_export.initial_states import SCHEMA

from tests.datasets import EpisodesStore, ExportedDataset, derive_repeated_run, export_dataset
from tests.gate.helpers import Store, resign

pytestmark = pytest.mark.slow  # exports real datasets

CHECK = "initial_state_spread"
V1_THRESHOLDS = [
    "success_rate",
    "collision_rate",
    "mean_quality_score",
    "episodes_per_task",
    "distinct_instructions",
    "distinct_variants",
    "rejected_fraction",
]


def _shifted(shift_m: float) -> Any:
    """Copy k's recorded objects start ``k * shift_m`` further along x (robot unchanged)."""

    def change(meta: dict[str, Any], arrays: Any, k: int) -> tuple[dict[str, Any], Any]:
        init = json.loads(json.dumps(meta["initial_state"]))
        for pose in init["objects"].values():
            pose["position_m"][0] += k * shift_m
        return {**meta, "initial_state": init}, arrays

    return change


@pytest.fixture(scope="module")
def repeated(episodes_store_core: EpisodesStore) -> dict[str, ExportedDataset]:
    """Two core datasets of 2 episodes per task: identical repeats, and repeats 2 cm apart."""
    st = episodes_store_core
    out = {}
    for name, shift in (("dup", 0.0), ("rep", 0.02)):
        derive_repeated_run(st.storage, st.run, f"r-{name}", 2, _shifted(shift))
        out[name] = export_dataset(st.storage, f"r-{name}", f"{name}-core")
    return out


def test_v2_is_the_default_and_v1_keeps_its_meaning(
    exported_core: ExportedDataset, tmp_path: Path
) -> None:
    """The default config is v2 with the diversity check (failing: one episode per task
    cannot show diversity, and says why); GATE_CONFIG=v1 has exactly v1's checks."""
    code, v2 = Store(exported_core, tmp_path / "a").gate()
    assert code == 0 and v2 is not None and v2.config.version == "v2"
    check = v2.check(CHECK)
    assert check is not None and check.value is None and not check.passed and check.overridable
    assert "repeated episodes are needed" in check.summary and check.threshold == 0.005
    code, v1 = Store(exported_core, tmp_path / "b").gate(GATE_CONFIG="v1")
    assert code == 0 and v1 is not None and v1.config.version == "v1"
    assert [c.name for c in v1.checks if c.kind == "threshold"] == V1_THRESHOLDS
    assert set(v2.failed) - set(v1.failed) == {CHECK}


def test_near_duplicate_episodes_fail_and_perturbed_repeats_pass(
    repeated: dict[str, ExportedDataset], tmp_path: Path
) -> None:
    """Identical starts measure 0 and fail, naming the groups; starts 2 cm apart measure
    1 cm RMS and pass. quality.json reports what the gate recomputed."""
    code, dup = Store(repeated["dup"], tmp_path / "dup").gate()
    assert code == 0 and dup is not None and "quality_report" not in dup.failed
    check = dup.check(CHECK)
    assert check is not None and check.value == 0.0 and not check.passed
    assert "groups below 0.005 m" in "\n".join(check.details)
    code, rep = Store(repeated["rep"], tmp_path / "rep").gate()
    assert code == 0 and rep is not None and "quality_report" not in rep.failed
    check = rep.check(CHECK)
    assert check is not None and check.passed and check.value == pytest.approx(0.01, abs=1e-6)
    quality = json.loads((repeated["rep"].root / QUALITY).read_bytes())
    assert quality["summary"]["diversity"]["initial_state"]["min_object_spread_m"] == check.value


def _rewrite_states(root: Path, change: Any) -> None:
    path = root / INITIAL_STATES
    rows = pq.read_table(path).to_pylist()
    change(rows)
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), buf)
    path.write_bytes(buf.getvalue())


def _quality_problems(store: Store) -> str:
    _code, decision = store.gate()
    assert decision is not None and "quality_report" in decision.failed
    check = decision.check("quality_report")
    assert check is not None
    return "\n".join(check.details)


def test_reported_spread_must_be_what_the_initial_states_give(
    repeated: dict[str, ExportedDataset], tmp_path: Path
) -> None:
    """quality.json claiming more diversity than the data holds fails quality_report."""
    store = Store(repeated["dup"], tmp_path / "s")
    path = store.root / QUALITY
    q = json.loads(path.read_text())
    q["summary"]["diversity"]["initial_state"]["min_object_spread_m"] = 0.5
    path.write_text(json.dumps(q))
    resign(store.root)
    assert "min_object_spread_m is 0.5" in _quality_problems(store)


def test_initial_states_must_agree_with_the_first_frames(
    repeated: dict[str, ExportedDataset], exported_full: ExportedDataset, tmp_path: Path
) -> None:
    """A robot start that is not the data's first frame, or (tier full) object poses that are
    not the lossless first frame, fail quality_report even when re-signed."""
    store = Store(repeated["rep"], tmp_path / "robot")

    def move_robot(rows: list[dict[str, Any]]) -> None:
        rows[1]["robot_qpos"] = [x + 0.1 for x in rows[1]["robot_qpos"]]

    _rewrite_states(store.root, move_robot)
    resign(store.root)
    assert (
        "robot_qpos is not the first frame's observation.state for episodes [1]"
        in _quality_problems(store)
    )
    store = Store(exported_full, tmp_path / "objects")

    def move_object(rows: list[dict[str, Any]]) -> None:
        poses = np.asarray(rows[0]["object_poses"]).reshape(-1, 7)
        poses[0, 0] += 0.05
        rows[0]["object_poses"] = poses.ravel().tolist()

    _rewrite_states(store.root, move_object)
    resign(store.root)
    assert "differ from the lossless first frame for episodes [0]" in _quality_problems(store)
