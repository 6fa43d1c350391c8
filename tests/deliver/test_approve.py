"""``bp approve``: what an approval record must say, and what it may not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bp_dataset.approval import Approval, Identity, reason_problems
from bp_dataset.identity import current_identity

from tests.datasets import ExportedDataset
from tests.gate.helpers import Store, bp

REASON = "Single-variant pilot agreed with the customer in SOW 14; coverage reviewed by ops"


@pytest.fixture
def failed(exported_core: ExportedDataset, tmp_path: Path) -> Store:
    """A store whose dataset failed the shipped v1 gate (thresholds only)."""
    store = Store(exported_core, tmp_path / "store")
    code, decision = store.gate()
    assert code == 0 and decision is not None and not decision.passed
    return store


def approve_cli(
    store: Store, checks: str, reason: str = REASON, expires: str = "7d", dataset: str | None = None
):  # type: ignore[no-untyped-def]
    """``bp approve`` against the store, without looking for Google credentials."""
    return bp(
        "approve",
        "--storage",
        store.storage.uri,
        "--dataset",
        dataset or store.dataset_id,
        "--checks",
        checks,
        "--reason",
        reason,
        "--expires-in",
        expires,
        "--local-identity",
    )


@pytest.mark.slow
def test_approve_writes_an_audited_record_outside_the_gate_output(failed: Store) -> None:
    """The record names who (marked unauthenticated locally), why, which failed checks, the
    expiry and the decision's digest; it lives under approvals/, not in the gate's output."""
    decision = failed.decision()
    assert decision is not None
    result = approve_cli(failed, ",".join(decision.failed))
    assert result.exit_code == 0, result.output
    assert "UNAUTHENTICATED" in result.output
    records = list((failed.path / "datasets" / failed.dataset_id / "approvals").glob("*.json"))
    assert len(records) == 1
    a = Approval.model_validate_json(records[0].read_bytes())
    assert a.approver.principal.startswith("local:") and not a.approver.authenticated
    assert a.reason == REASON and a.checks == sorted(decision.failed)
    assert a.dataset_digest == decision.dataset_digest
    assert timedelta_days(a) == 7
    gate_dir = failed.path / "datasets" / failed.dataset_id / "gate"
    assert not any("approval" in p.name for p in gate_dir.rglob("*"))


def timedelta_days(a: Approval) -> int:
    """Whole days an approval is valid for."""
    return round((a.expires_at - a.created_at).total_seconds() / 86400)


@pytest.mark.slow
def test_bad_requests_are_refused_with_every_problem(failed: Store) -> None:
    """Boilerplate reasons, a check that did not fail, an integrity check, an expiry over 30
    days: exit 2, each problem named, nothing written."""
    decision = failed.decision()
    assert decision is not None
    failing = decision.failed[0]
    for reason in (
        "ok",
        "test",
        "override",
        "LGTM approved ok",
        "override override override override ok",
    ):
        result = approve_cli(failed, failing, reason=reason)
        assert result.exit_code == 2, reason
        assert "--reason" in result.output
    result = approve_cli(failed, "checksums,collision_rate", expires="31d")
    assert result.exit_code == 2
    assert "'checksums' did not fail" in result.output
    assert "'collision_rate' did not fail" in result.output
    assert "30-day maximum" in result.output
    result = approve_cli(failed, failing, expires="soon")
    assert result.exit_code == 2 and "--expires-in" in result.output
    assert not (failed.path / "datasets" / failed.dataset_id / "approvals").exists()


@pytest.mark.slow
def test_integrity_checks_cannot_be_approved(
    exported_core: ExportedDataset, tmp_path: Path
) -> None:
    """When an integrity check failed, approving it is refused: the data must be re-exported."""
    store = Store(exported_core, tmp_path / "store")
    (store.root / "README.md").write_text("tampered\n")
    _code, decision = store.gate()
    assert decision is not None and "checksums" in decision.failed
    result = approve_cli(store, ",".join(decision.failed))
    assert result.exit_code == 2
    assert "'checksums' is an integrity check" in result.output


@pytest.mark.slow
def test_no_decision_no_approval(exported_core: ExportedDataset, tmp_path: Path) -> None:
    """Approving a dataset that has no committed gate decision is a permanent error (exit 3)."""
    store = Store(exported_core, tmp_path / "store")
    result = approve_cli(store, "distinct_variants")
    assert result.exit_code == 3 and "no commit record" in result.output


def test_reason_rules() -> None:
    """Real reasons pass; empty, short and boilerplate ones do not."""
    assert reason_problems(REASON) == []
    for bad in (
        "",
        "   ",
        "ok",
        "fine",
        "test test test test test",
        "approved, override the gate check",
    ):
        assert reason_problems(bad), bad


def test_identity_without_google_credentials_is_local_and_unauthenticated(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With no Google credentials anywhere, the identity is local:<user>@<host>, marked
    unauthenticated (never a typed name)."""
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    who = current_identity()
    assert who.kind == "local" and not who.authenticated and who.principal.startswith("local:")
    assert who == Identity.local()


def test_claimed_service_account_that_google_cannot_confirm_is_not_authenticated(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A credentials file naming a service account whose key cannot be confirmed (its token
    endpoint refuses) does not become that identity: the approver stays local."""
    key = {
        "type": "service_account",
        "project_id": "p",
        "private_key_id": "k",
        "private_key": _pem(),
        "client_email": "approver@p.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": "http://127.0.0.1:9/token",  # nothing listens: the refresh fails at once
    }
    path = tmp_path / "sa.json"
    path.write_text(json.dumps(key))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    who = current_identity()
    assert not who.authenticated and who.principal.startswith("local:")


def _pem() -> str:
    """A fresh RSA private key in PEM (what a service-account key file holds)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return k.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
