"""The deliver stage: a failed gate blocks delivery unless a valid approval covers it; the
copy is verified before its record is written; a crash leaves no record."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from bp_dataset.approval import Identity
from bp_dataset.decision import dataset_unit
from bp_dataset.delivery import DELIVERY_RECORD, NOT_DATASET_FILES, DeliveryRecord
from bp_deliver.stage import DeliverStage
from bp_sdk.commit import load_record
from bp_sdk.storage import Storage, open_storage

from tests.datasets import ExportedDataset
from tests.deliver.helpers import approve, delivered
from tests.gate.helpers import BYPASS_ENV, Store, bp

pytestmark = pytest.mark.slow  # the fixtures export real datasets (once per session)

PROD = {
    "PIPELINE_ENV": "production",
    "GOOGLE_CLOUD_PROJECT": "bp-test",
    "DELIVER_CUSTOMER_ID": "acme",
}


@pytest.fixture
def failed(exported_core: ExportedDataset, tmp_path: Path) -> Store:
    """A store whose dataset failed the shipped v1 gate (thresholds only)."""
    store = Store(exported_core, tmp_path / "store")
    code, decision = store.gate()
    assert code == 0 and decision is not None and not decision.passed
    return store


def committed(store: Store) -> bool:
    """True if the deliver stage committed."""
    return load_record(store.storage, dataset_unit(store.dataset_id, "deliver")) is not None


def test_failed_gate_blocks_delivery_and_no_variable_bypasses_it(failed: Store) -> None:
    """No approval: exit 3, nothing delivered, the marker says which checks failed and what
    to do; bypass-sounding variables change nothing."""
    assert failed.deliver() == 3
    assert failed.deliver(**BYPASS_ENV) == 3
    assert delivered(failed) is None and not committed(failed)
    marker = failed.marker_text("deliver")
    assert "gate failed" in marker and "distinct_variants" in marker and "bp approve" in marker


def test_valid_approval_lets_delivery_proceed(failed: Store) -> None:
    """An approval covering every failed check: delivered, the record references it, and the
    copy verifies with bp verify."""
    approval = approve(failed)
    assert failed.deliver() == 0
    record = delivered(failed)
    assert record is not None and record.approval is not None
    assert record.approval.approval_id == approval.approval_id
    assert record.approval.approver == "alice@example.com"
    assert record.gate.passed is False and sorted(record.gate.failed) == approval.checks
    assert record.dataset_digest == approval.dataset_digest
    assert committed(failed)
    result = bp("verify", str(failed.delivery_dir()))
    assert result.exit_code == 0, result.output


def test_approval_for_another_digest_is_refused(failed: Store) -> None:
    """An approval whose dataset digest is not the decision's is refused, saying so."""
    good = approve(failed)
    forged = good.model_copy(
        update={"dataset_digest": "0" * 64, "approval_id": good.approval_id[:-8] + "00000000"}
    )
    failed.storage.delete(good.path)
    failed.storage.write_bytes(forged.path, forged.to_bytes())
    assert failed.deliver() == 3
    assert delivered(failed) is None
    assert "is for dataset digest 0000000000000000" in failed.marker_text("deliver")


def test_expired_approval_is_refused(failed: Store) -> None:
    """An approval past its expiry is refused: nothing is approved by waiting."""
    approve(failed, now=datetime.now(tz=UTC) - timedelta(days=8), days=7)
    assert failed.deliver() == 3
    assert delivered(failed) is None
    assert "expired at" in failed.marker_text("deliver")


def test_approval_must_cover_every_failed_check(failed: Store) -> None:
    """An approval of only some failed checks is refused."""
    decision = failed.decision()
    assert decision is not None and len(decision.failed) >= 2
    approve(failed, checks=decision.failed[:1])
    assert failed.deliver() == 3
    assert "does not cover failed check" in failed.marker_text("deliver")


def test_production_requires_a_listed_authenticated_approver(failed: Store) -> None:
    """In production: a local (unauthenticated) approval, or one from an identity not in
    DELIVER_APPROVERS, is refused; the same approval from a listed identity delivers."""
    approve(failed, who=Identity.local())
    assert failed.deliver(**PROD, DELIVER_APPROVERS="alice@example.com") == 3
    text = failed.marker_text("deliver")
    assert "is not authenticated" in text
    approve(
        failed,
        who=Identity(
            principal="mallory@example.com", kind="user", authenticated=True, source="test"
        ),
    )
    assert failed.deliver(**PROD, DELIVER_APPROVERS="alice@example.com,bob@example.com") == 3
    assert "'mallory@example.com' is not in DELIVER_APPROVERS" in failed.marker_text("deliver")
    assert failed.deliver(**PROD) == 3  # an empty approvers list accepts no approval
    assert delivered(failed, "acme") is None
    approve(failed)
    assert failed.deliver(**PROD, DELIVER_APPROVERS="alice@example.com") == 0
    record = delivered(failed, "acme")
    assert (
        record is not None
        and record.approval is not None
        and record.approval.approver == "alice@example.com"
    )


def test_production_refuses_local_approvers_in_settings(failed: Store) -> None:
    """Listing an unauthenticated local identity as approver in production is a config error."""
    assert failed.deliver(**PROD, DELIVER_APPROVERS="local:root@host") == 2


def test_passed_gate_delivers_to_another_root(
    exported_core: ExportedDataset, tmp_path: Path
) -> None:
    """A passed decision delivers without approval, here to another storage root; the copy
    verifies and its record lists every file."""
    store = Store(exported_core, tmp_path / "store")
    code, decision = store.gate(GATE_CONFIG=store.put_loose_config())
    assert code == 0 and decision is not None and decision.passed
    dest = tmp_path / "customer-bucket" / "drop"
    assert store.deliver(DELIVER_DESTINATION=dest.as_uri()) == 0
    record = DeliveryRecord.model_validate_json((dest / DELIVERY_RECORD).read_bytes())
    assert record.approval is None and record.gate.passed
    files = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert sorted(record.files) == [f for f in files if f not in NOT_DATASET_FILES]
    assert bp("verify", str(dest)).exit_code == 0


def test_deliver_root_places_each_customer_and_dataset(
    exported_core: ExportedDataset, tmp_path: Path
) -> None:
    """DELIVER_ROOT (the delivery bucket) receives <customer>/<dataset>/; with
    DELIVER_DESTINATION as well it is a configuration error."""
    store = Store(exported_core, tmp_path / "store")
    store.gate(GATE_CONFIG=store.put_loose_config())
    root = tmp_path / "delivery-bucket"
    assert store.deliver(DELIVER_ROOT=root.as_uri(), DELIVER_CUSTOMER_ID="acme") == 0
    dest = root / "acme" / store.dataset_id
    assert (dest / DELIVERY_RECORD).is_file() and bp("verify", str(dest)).exit_code == 0
    both = store.deliver(DELIVER_ROOT=root.as_uri(), DELIVER_DESTINATION=(tmp_path / "x").as_uri())
    assert both == 2


class _Faulty(Storage):
    """A destination backend that fails or corrupts writes (a disk or network fault)."""

    def __init__(
        self, inner: Storage, *, crash_after: int | None = None, corrupt: str | None = None
    ) -> None:
        self.inner, self.uri = inner, inner.uri
        self.crash_after, self.corrupt = crash_after, corrupt
        self.writes = 0

    def read_bytes(self, path: str) -> bytes:
        return self.inner.read_bytes(path)

    def open_read(self, path: str) -> contextlib.AbstractContextManager[BinaryIO]:
        return self.inner.open_read(path)

    def write_bytes(self, path: str, data: bytes) -> None:
        self.inner.write_bytes(path, data)

    @contextlib.contextmanager
    def open_write(self, path: str) -> Iterator[BinaryIO]:
        self.writes += 1
        if self.crash_after is not None and self.writes > self.crash_after:
            raise RuntimeError("simulated crash mid-copy")
        with self.inner.open_write(path) as f:
            yield f
            if self.corrupt is not None and path.endswith(self.corrupt):
                f.write(b"\x00")  # one extra byte the source does not have

    def create_if_absent(self, path: str, data: bytes) -> None:
        self.inner.create_if_absent(path, data)

    def replace_if_generation(self, path: str, data: bytes, generation: int) -> int:
        return self.inner.replace_if_generation(path, data, generation)

    def delete_if_generation(self, path: str, generation: int) -> None:
        self.inner.delete_if_generation(path, generation)

    def stat(self, path: str) -> Any:
        return self.inner.stat(path)

    def list(self, prefix: str = "", *, include_temporary: bool = False) -> Any:
        return self.inner.list(prefix, include_temporary=include_temporary)

    def delete(self, path: str) -> None:
        self.inner.delete(path)


def test_crash_mid_copy_leaves_no_delivery_record(
    exported_core: ExportedDataset, tmp_path: Path
) -> None:
    """A copy that dies after a few files leaves a partial copy without _DELIVERY.json and no
    stage commit; a retry completes it and removes what an interrupted write left."""
    store = Store(exported_core, tmp_path / "store")
    store.gate(GATE_CONFIG=store.put_loose_config())
    dest = tmp_path / "dest"
    stage = DeliverStage(open_destination=lambda uri: _Faulty(open_storage(uri), crash_after=3))
    code = store.deliver(stage, DELIVER_DESTINATION=dest.as_uri(), DELIVER_WORKERS="1")
    assert code == 1
    assert any(dest.rglob("*")) and not (dest / DELIVERY_RECORD).exists()
    assert not committed(store)
    leftover = dest / "meta" / ".bp-tmp-killed-rename"  # what a SIGKILL mid-rename leaves
    leftover.parent.mkdir(parents=True, exist_ok=True)
    leftover.write_bytes(b"half a file")
    assert store.deliver(DELIVER_DESTINATION=dest.as_uri()) == 0
    assert not leftover.exists()
    assert (dest / DELIVERY_RECORD).exists() and bp("verify", str(dest)).exit_code == 0


def test_corrupted_copy_is_detected_before_the_record(
    exported_core: ExportedDataset, tmp_path: Path
) -> None:
    """A destination that corrupts a file on write: the re-read catches it, no record is
    written, the failure names the file."""
    store = Store(exported_core, tmp_path / "store")
    store.gate(GATE_CONFIG=store.put_loose_config())
    dest = tmp_path / "dest"
    stage = DeliverStage(
        open_destination=lambda uri: _Faulty(open_storage(uri), corrupt="meta/info.json")
    )
    assert store.deliver(stage, DELIVER_DESTINATION=dest.as_uri()) == 1
    assert not (dest / DELIVERY_RECORD).exists() and not committed(store)
    marker = store.marker_text("deliver")
    assert "does not verify" in marker and "meta/info.json" in marker


def test_edited_decision_is_refused(failed: Store) -> None:
    """A decision.json edited after the gate committed (flipped to passed) is refused."""
    path = next((failed.path / "datasets" / failed.dataset_id / "gate").rglob("decision.json"))
    body = json.loads(path.read_text())
    body["passed"], body["failed"] = True, []
    path.write_text(json.dumps(body))
    assert failed.deliver() == 3
    assert delivered(failed) is None
    assert "does not match its commit record" in failed.marker_text("deliver")
