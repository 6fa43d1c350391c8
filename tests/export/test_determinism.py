"""The same episodes give byte-identical data, videos and metadata tables, whatever the
number of encoder processes (so EXPORT_WORKERS is rightly not part of the inputs digest)."""

from __future__ import annotations

import hashlib

import pytest

from tests.datasets import EpisodesStore, ExportedDataset, export_dataset

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
