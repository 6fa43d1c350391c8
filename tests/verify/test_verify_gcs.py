"""``bp verify gs://...`` and delivery to another bucket, through the real GCS client
against the local fake-gcs-server emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from bp_dataset.delivery import DELIVERY_RECORD, DeliveryRecord
from bp_sdk.storage import open_storage

from tests.contract import emulator as emu
from tests.datasets import ExportedDataset
from tests.gate.helpers import Store, bp, dataset_files

pytestmark = [pytest.mark.slow, pytest.mark.gcs]


@pytest.fixture(scope="module")
def gcs() -> Iterator[emu.Emulator]:
    """A fake-gcs-server for this module (fails, never skips, if it cannot start)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        server = emu.start_or_fail(Path(tmp) / "server.log")
        try:
            yield server
        finally:
            server.stop()


def upload(root: Path, uri: str) -> None:
    """Copy a dataset folder to a gs:// prefix."""
    st = open_storage(uri)
    try:
        for rel in dataset_files(root):
            st.write_bytes(rel, (root / rel).read_bytes())
    finally:
        st.close()


def test_verify_over_gcs(
    gcs: emu.Emulator, exported_full: ExportedDataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dataset in a bucket verifies through gs:// (streams, parquet, video and npz read
    from blobs); one changed object fails naming it."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs.url)
    uri = f"gs://{gcs.new_bucket()}/received/kitchen"
    upload(exported_full.root, uri)
    result = bp("verify", uri)
    assert result.exit_code == 0, result.output
    st = open_storage(uri)
    rel = sorted(r for r in dataset_files(exported_full.root) if r.startswith("lossless/"))[0]
    data = bytearray(st.read_bytes(rel))
    data[len(data) // 2] ^= 1
    st.write_bytes(rel, bytes(data))
    st.close()
    result = bp("verify", uri)
    assert result.exit_code == 1 and rel in result.output


def test_deliver_to_another_bucket(
    gcs: emu.Emulator,
    exported_core: ExportedDataset,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A passed dataset is delivered into another bucket; the copy verifies there and its
    record is beside it."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs.url)
    store = Store(exported_core, tmp_path / "store")
    code, decision = store.gate(GATE_CONFIG=store.put_loose_config())
    assert code == 0 and decision is not None and decision.passed
    dest = f"gs://{gcs.new_bucket()}/acme/kitchen-core"
    assert store.deliver(DELIVER_DESTINATION=dest, DELIVER_CUSTOMER_ID="acme") == 0
    st = open_storage(dest)
    record = DeliveryRecord.model_validate_json(st.read_bytes(DELIVERY_RECORD))
    st.close()
    assert record.destination == dest and record.customer_id == "acme"
    assert record.dataset_digest == decision.dataset_digest
    assert bp("verify", dest, "--checksums-only").exit_code == 0
