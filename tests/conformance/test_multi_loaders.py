"""A multi-scene, multi-variant tier-full export, trained on as a lab would: every
observation key has one shape across the dataset, and the official loaders (robomimic's
``SequenceDataset`` and LeRobot's ``LeRobotDataset``) give shuffled torch batches over
every split. The same export passes the official readers' own checks.

The dataset: kitchen_counter (9 movable objects) and office_desk (12), each in v0000 and
v0001 (distractors added), 2 episodes per (variant, task): the recordings differ in object
count between scenes and variants, which is what used to break the loaders.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pyarrow.parquet as pq
import pytest

from tests.conformance import harness
from tests.conformance.conftest import MultiStore
from tests.conftest import script

pytestmark = [pytest.mark.lerobot, pytest.mark.slow]
DATASET_ID = "multi"


def export_multi(store: MultiStore, dataset_id: str, timeout_s: float = 1800) -> Path:
    """Run ``bp-export`` on the store's spec; the committed dataset's root folder."""
    scene, run = store.sources[0]
    env = {
        k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR", "MUJOCO_GL"}
    }
    env.update(
        {
            "STORAGE_URI": store.root.as_uri(),
            "SCENE_ID": scene,
            "RUN_ID": run,
            "DATASET_ID": dataset_id,
            "EXPORT_SPEC": store.spec,
            "EXPORT_VALID_FRACTION": "0.25",
            "LOG_FORMAT": "json",
        }
    )
    proc = subprocess.run(
        [script("bp-export")],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    assert proc.returncode == 0, f"bp-export exited {proc.returncode}:\n{proc.stderr[-4000:]}"
    record = json.loads(
        (store.root / "datasets" / dataset_id / "export" / "_SUCCESS.json").read_text()
    )
    return (store.root / str(record["attempt_dir"])).resolve()


@pytest.fixture(scope="module")
def multi(multi_store: MultiStore, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Our export of the multi-scene store (on a hard-linked copy)."""
    store = multi_store.linked_copy(tmp_path_factory.mktemp("multi-export"))
    return export_multi(store, DATASET_ID)


def _episodes(root: Path) -> list[dict[str, object]]:
    return pq.read_table(root / "meta/episodes/chunk-000/file-000.parquet").to_pylist()


def test_every_observation_key_has_one_shape(multi: Path) -> None:
    """Recordings differ in object count, the dataset does not: robomimic obs keys and the
    lossless object streams have one shape per key, rows = the named object list."""
    info = json.loads((multi / "meta/info.json").read_bytes())
    names = info["blueprintpipeline"]["objects"]
    objects = json.loads((multi / "meta/objects.json").read_bytes())
    eps = _episodes(multi)
    assert {e["scene_id"] for e in eps} == {"kitchen_counter", "office_desk"}
    maps = objects["segmentation"]["episodes"]
    assert len({m.rsplit("/", 1)[-1] for m in maps}) == 2  # both variants
    present_counts = set()
    with h5py.File(multi / "robomimic/dataset.hdf5", "r") as f:
        shapes: dict[str, set[tuple[int, ...]]] = {}
        for demo in f["data"].values():
            for k, ds in demo["obs"].items():
                shapes.setdefault(k, set()).add(tuple(ds.shape[1:]))
            present_counts.add(int(demo["obs/object_present"][0].sum()))
    assert all(len(s) == 1 for s in shapes.values()), shapes
    assert shapes["object"] == {(7 * len(names),)} and shapes["object_contacts"] == {
        (4 * len(names),)
    }
    assert shapes["object_present"] == {(len(names),)}
    assert len(present_counts) > 1  # the episodes really hold different object sets
    lossless = sorted((multi / "lossless").rglob("*.npz"))
    for path in lossless:
        with np.load(path, allow_pickle=False) as z:
            for key in z.files:
                if key.endswith(("object_poses", "contacts", "object_present")):
                    assert z[key].shape[1] == len(names), key


def test_splits_are_stratified_per_task(multi: Path) -> None:
    """Every task is in train; valid holds the requested share, per task."""
    info = json.loads((multi / "meta/info.json").read_bytes())
    eps = _episodes(multi)
    train = {t for e in eps if e["split"] == "train" for t in e["tasks"]}  # type: ignore[attr-defined]
    assert train == {t for e in eps for t in e["tasks"]}  # type: ignore[attr-defined]
    assert "valid" in info["splits"]
    n_valid = sum(e["split"] == "valid" for e in eps)
    assert n_valid == int(len(eps) * 0.25 + 0.5)


def test_shuffled_training_batches_over_every_split(lerobot_python: Path, multi: Path) -> None:
    """robomimic: a shuffled DataLoader epoch over every mask (train, valid, *_success) with
    seq_length 10; LeRobot: shuffled DataLoader batches of every split; shapes as declared."""
    result = harness.check_loaders(multi)
    assert result.ok, result.explain()
    masks = result.summary["robomimic"]["masks"]
    assert {"train", "valid"} <= set(masks)
    assert all(m["seen"] == m["samples"] > 0 for m in masks.values()), masks
    splits = result.summary["lerobot"]["splits"]
    assert set(splits) == {"train", "valid"} and all(s["batches"] > 0 for s in splits.values())


def test_official_readers_accept_the_multi_scene_export(lerobot_python: Path, multi: Path) -> None:
    """LeRobotDataset reads every frame at its time; robomimic's SequenceDataset fetches every
    sample and its shape metadata agrees with every demo."""
    lerobot = harness.check_lerobot(multi)
    assert lerobot.ok, lerobot.explain()
    robomimic = harness.check_robomimic(multi / "robomimic" / "dataset.hdf5")
    assert robomimic.ok, robomimic.explain()
    assert robomimic.summary["samples_fetched"] == robomimic.summary["total"]
