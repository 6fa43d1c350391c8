"""The same episodes give byte-identical data, videos and metadata tables, whatever the
number of encoder processes (so EXPORT_WORKERS is rightly not part of the inputs digest);
the same inputs recorded and exported again in another storage root give the same files
and content digest."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from bp_dataset.layout import content_digest
from bp_sdk.storage import open_storage

from tests.datasets import (
    EpisodesStore,
    ExportedDataset,
    copy_upstream,
    export_dataset,
    record_episodes,
)

# the session fixtures (real upstream stages + episodes) are charged to the first test using them
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]
SAME = ("data/", "videos/", "lossless/", "meta/episodes/", "meta/tasks.parquet", "meta/stats.json")


def _digests(ds: ExportedDataset) -> dict[str, str]:
    return {
        p.relative_to(ds.root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in ds.root.rglob("*")
        if p.is_file() and p.relative_to(ds.root).as_posix().startswith(SAME)
    }


def test_one_process_and_two_write_the_same_bytes(
    exported_full: ExportedDataset, episodes_store_full: EpisodesStore
) -> None:
    """Encoding in the job's process or in two workers yields identical files (and data at all)."""
    st = episodes_store_full
    again = export_dataset(st.storage, st.run, "kitchen-full-1proc", EXPORT_WORKERS="1")
    first, second = _digests(exported_full), _digests(again)
    assert any(k.startswith("videos/") for k in first) and any(
        k.startswith("lossless/") for k in first
    )
    assert first == second


def test_regeneration_in_another_root_is_byte_identical(
    exported_full: ExportedDataset, episodes_store_full: EpisodesStore, tmp_path: Path
) -> None:
    """The same committed upstream, configuration and seeds, recorded and exported again in
    another storage root: every data file (robomimic HDF5, card, quality, objects, initial
    states included) is byte-identical, and so is the content digest; only meta/lineage.json
    (its provenance section) and hence SHA256SUMS differ."""
    st = episodes_store_full
    other = open_storage((tmp_path / "other").as_uri())
    copy_upstream(st.storage, other, st.run)
    record_episodes(other, st.run, "full", CLOUD_RUN_EXECUTION="regenerate")
    again = export_dataset(other, st.run, exported_full.dataset_id)
    first, second = _all(exported_full.root), _all(again.root)
    assert set(first) == set(second)
    differ = sorted(k for k in first if first[k] != second[k])
    assert differ == ["meta/SHA256SUMS", "meta/lineage.json"], differ
    assert "robomimic/dataset.hdf5" in first and "meta/initial_states.parquet" in first
    digest = exported_full.record.summary["content_digest"]
    assert digest == again.record.summary["content_digest"]
    assert digest == content_digest(first)
    assert f"content digest: `{digest}`" in (again.root / "README.md").read_text()
    lin1, lin2 = (
        json.loads((d.root / "meta/lineage.json").read_bytes()) for d in (exported_full, again)
    )
    assert lin1["reproducible"] == lin2["reproducible"] and lin1["gate"] == lin2["gate"]
    assert lin1["provenance"]["created_at"] != lin2["provenance"]["created_at"]


def _all(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file()
    }
