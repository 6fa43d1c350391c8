"""``bp verify`` on a delivered folder: the record and the statement are checked, a deleted
record is reported, and ``--digest`` pins what the lab received."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from bp_dataset.delivery import DELIVERY_RECORD, STATEMENT_FILE

from tests.datasets import ExportedDataset
from tests.gate.helpers import Store, bp, copy_dataset

pytestmark = pytest.mark.slow  # the fixtures export real datasets (once per session)

OTHER = hashlib.sha256(b"another dataset").hexdigest()


@pytest.fixture
def delivery(exported_core: ExportedDataset, tmp_path: Path) -> Path:
    """A dataset that passed a loose gate, delivered to deliveries/internal/<dataset>/."""
    store = Store(exported_core, tmp_path / "store")
    code, decision = store.gate(GATE_CONFIG=store.put_loose_config())
    assert code == 0 and decision is not None and decision.passed
    assert store.deliver() == 0
    return store.delivery_dir()


def digest_of(folder: Path) -> str:
    """The digest the delivery record names."""
    return str(json.loads((folder / DELIVERY_RECORD).read_text())["dataset_digest"])


def verify(*args: str) -> tuple[int, dict[str, Any]]:
    """``bp verify --json ...``: exit code and the report."""
    result = bp("verify", "--json", *args)
    return result.exit_code, json.loads(result.stdout)


def problems(body: dict[str, Any], check: str) -> str:
    """Every problem line of one check, joined."""
    return "\n".join(next(c for c in body["checks"] if c["name"] == check)["problems"])


def failed(body: dict[str, Any]) -> list[str]:
    """Names of the failed checks."""
    return [c["name"] for c in body["checks"] if not c["passed"]]


def test_pinned_digest_passes_when_it_is_the_delivered_one(delivery: Path) -> None:
    """--digest with the record's digest: every check holds (delivery and digest included),
    exit 0, full verification and --checksums-only alike; upper-case hex is accepted."""
    pin = digest_of(delivery)
    result = bp("verify", str(delivery), "--digest", pin)
    assert result.exit_code == 0, result.output
    assert f"pinned digest (--digest): {pin}: matches" in result.output
    code, body = verify(str(delivery), "--digest", pin.upper(), "--checksums-only")
    assert code == 0 and [c["name"] for c in body["checks"]] == ["checksums", "delivery", "digest"]


def test_pinned_digest_fails_with_another_digest_naming_both(delivery: Path) -> None:
    """--digest with another sha256: exit 1; the message names the pinned and the actual
    digest, and that the record names another one."""
    actual = digest_of(delivery)
    result = bp("verify", str(delivery), "--digest", OTHER, "--checksums-only")
    assert result.exit_code == 1
    assert OTHER in result.output and actual in result.output
    assert "does NOT match" in result.output
    code, body = verify(str(delivery), "--digest", OTHER, "--checksums-only")
    assert code == 1 and failed(body) == ["digest"]
    text = problems(body, "digest")
    assert f"the dataset digest is {actual}, not the pinned {OTHER}" in text
    assert f"{DELIVERY_RECORD}: names dataset digest {actual}, not the pinned {OTHER}" in text


def test_record_naming_another_digest_fails_the_pin(delivery: Path) -> None:
    """A record edited to name another digest fails the delivery check, and the pin of the
    dataset's real digest fails because the record does not name it."""
    actual = digest_of(delivery)
    record = json.loads((delivery / DELIVERY_RECORD).read_text())
    record["dataset_digest"] = OTHER
    (delivery / DELIVERY_RECORD).write_text(json.dumps(record))
    code, body = verify(str(delivery), "--digest", actual, "--checksums-only")
    assert code == 1 and failed(body) == ["delivery", "digest"]
    assert f"names dataset digest {OTHER}, not the pinned {actual}" in problems(body, "digest")


def test_deleted_delivery_record_is_reported(delivery: Path, tmp_path: Path) -> None:
    """Without _DELIVERY.json a delivery fails (exit 1, the file named), under
    deliveries/<customer>/<dataset>/, elsewhere beside DELIVERY.md, or with --delivery; the
    right --digest does not make up for it."""
    pin = digest_of(delivery)
    (delivery / DELIVERY_RECORD).unlink()
    code, body = verify(str(delivery))
    assert code == 1 and failed(body) == ["delivery"]
    assert f"{DELIVERY_RECORD}: missing" in problems(body, "delivery")
    assert f"{STATEMENT_FILE} is here" in problems(body, "delivery")
    code, body = verify(str(delivery), "--digest", pin, "--checksums-only")
    assert code == 1 and failed(body) == ["delivery", "digest"]
    moved = shutil.copytree(delivery, tmp_path / "received" / "kitchen")
    (delivery / STATEMENT_FILE).unlink()
    code, body = verify(str(delivery), "--checksums-only")
    assert code == 1 and "deliveries/<customer>/<dataset>/" in problems(body, "delivery")
    code, body = verify(str(moved), "--checksums-only")
    assert code == 1 and f"{STATEMENT_FILE} is here" in problems(body, "delivery")
    (moved / STATEMENT_FILE).unlink()
    assert verify(str(moved), "--checksums-only")[0] == 0  # a plain dataset folder
    code, body = verify(str(moved), "--checksums-only", "--delivery")
    assert code == 1 and f"{DELIVERY_RECORD}: missing" in problems(body, "delivery")


def test_unreadable_record_fails_naming_the_field(delivery: Path) -> None:
    """A record that is not a valid delivery record fails the delivery check, saying where."""
    record = json.loads((delivery / DELIVERY_RECORD).read_text())
    del record["gate"]
    (delivery / DELIVERY_RECORD).write_text(json.dumps(record))
    code, body = verify(str(delivery), "--checksums-only")
    assert code == 1 and failed(body) == ["delivery"]
    assert f"{DELIVERY_RECORD}: not a valid delivery record (gate: Field required)" in problems(
        body, "delivery"
    )
    (delivery / DELIVERY_RECORD).write_text("{not json")
    assert verify(str(delivery), "--checksums-only")[0] == 1


def test_edited_statement_fails(delivery: Path) -> None:
    """DELIVERY.md changed after delivery (the digest is untouched): the delivery check
    fails naming it, with both sha256s."""
    path = delivery / STATEMENT_FILE
    path.write_text(path.read_text().replace("passed", "approved by the CEO"))
    result = bp("verify", str(delivery), "--digest", digest_of(delivery))
    assert result.exit_code == 1 and STATEMENT_FILE in result.output
    code, body = verify(str(delivery), "--checksums-only")
    assert code == 1 and failed(body) == ["delivery"]
    assert "the statement was modified after delivery" in problems(body, "delivery")
    path.unlink()
    code, body = verify(str(delivery), "--checksums-only")
    assert code == 1 and f"{STATEMENT_FILE}: missing" in problems(body, "delivery")


def test_other_unlisted_files_beside_a_delivery_are_reported(delivery: Path) -> None:
    """Only DELIVERY.md and _DELIVERY.json may lie beside the dataset unlisted: any other
    file, an interrupted write's .bp-tmp-* leftover included, fails checksums naming it."""
    (delivery / "notes.txt").write_text("mine\n")
    (delivery / "meta" / ".bp-tmp-abc123").write_bytes(b"partial")
    code, body = verify(str(delivery), "--checksums-only")
    text = problems(body, "checksums")
    assert code == 1 and failed(body) == ["checksums"]
    assert "notes.txt: present but not listed" in text
    assert "meta/.bp-tmp-abc123: present but not listed" in text
    assert STATEMENT_FILE not in text and DELIVERY_RECORD not in text


@pytest.mark.parametrize("bad", ["abc", "g" * 64, "0" * 63, "0" * 65, "[red]x[/]"])
def test_malformed_digest_is_a_usage_error(
    bad: str, exported_core: ExportedDataset, tmp_path: Path
) -> None:
    """A --digest that is not 64 hex characters: exit 2, one error line, no traceback (the
    same folder verifies with a well-formed digest of its own)."""
    root = copy_dataset(exported_core, tmp_path / "ds")
    result = bp("verify", str(root), "--digest", bad, "--checksums-only")
    assert result.exit_code == 2, result.output
    assert "error: --digest must be a sha256" in result.output
    assert "Traceback" not in result.output and repr(bad) in result.output
    own = hashlib.sha256((root / "meta" / "SHA256SUMS").read_bytes()).hexdigest()
    assert bp("verify", str(root), "--digest", own, "--checksums-only").exit_code == 0
