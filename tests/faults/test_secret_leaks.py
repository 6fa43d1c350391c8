"""A real secret, used for real (deliver signs URLs with the delivery signer's key), never leaks.

The key is planted where the pipeline reads secrets (``BP_SECRET_*`` outside production;
Secret Manager — the real client against a local stand-in — in production) and every log
line, marker, commit record and output file is searched for it and for each part of it
that would leak it alone (key id, private key, each base64 line), through a run that
succeeds, one that fails with a traceback that carries the key, and one whose secret is
missing.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import logging
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
from bp_sdk.commit import load_record
from bp_sdk.markers import FailureMarker
from bp_sdk.runner import run_stage
from bp_sdk.storage import Storage, open_storage
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.faults.keys import SIGNER, leak_markers, service_account_key
from tests.faults.secret_standin import secret_manager
from tests.faults.stages import Spec, env_for

pytestmark = pytest.mark.slow
SECRET_ID = "deliver-signing-key"
BUCKET = "bp-delivery-test"
ROOT = f"gs://{BUCKET}/root"


@pytest.fixture(scope="module")
def key() -> tuple[str, rsa.RSAPublicKey]:
    """A fresh service-account key for this module."""
    return service_account_key()


def _deliver(spec: Spec, store: Path, bucket: Path, **extra: str) -> int:
    """Run deliver in-process, its gs:// delivery root backed by a local folder."""
    from bp_deliver.stage import DeliverStage

    def destination(uri: str) -> Storage:
        assert uri == ROOT
        return open_storage(bucket.as_uri())

    env = env_for(store.as_uri(), spec, DELIVER_ROOT=ROOT, DELIVER_SIGNING_KEY=SECRET_ID,
                  LOG_LEVEL="DEBUG", CLOUD_RUN_EXECUTION="sig", **extra)
    return run_stage(DeliverStage(open_destination=destination), env)


def _copy(prepared: dict[str, Path], tmp_path: Path) -> tuple[Path, Path]:
    store = tmp_path / "bp-data"
    shutil.copytree(prepared["deliver"], store)
    return store, tmp_path / "bucket"


def assert_no_leak(key_json: str, stderr: str, *folders: Path) -> int:
    """No part of the key in the logs or in any file under ``folders``; files searched."""
    markers = leak_markers(key_json)
    for m in markers:
        assert m not in stderr, "the key leaked into a log line"
    searched = 0
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                searched += 1
                for m in markers:
                    assert m.encode() not in data, f"the key leaked into {path.relative_to(folder)}"
    return searched


def _verify_v4(url: str, public: rsa.RSAPublicKey) -> None:
    """Check a V4 signed URL's signature with the key's public half (the GCS algorithm)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    signature = binascii.unhexlify(query.pop("X-Goog-Signature"))
    canonical_query = "&".join(sorted(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in query.items()))
    canonical = "\n".join(["GET", parts.path, canonical_query, f"host:{parts.netloc}\n", "host", "UNSIGNED-PAYLOAD"])
    scope = query["X-Goog-Credential"].split("/", 1)[1]
    to_sign = "\n".join(["GOOG4-RSA-SHA256", query["X-Goog-Date"], scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    public.verify(signature, to_sign.encode(), padding.PKCS1v15(), hashes.SHA256())
    assert query["X-Goog-Credential"].startswith(SIGNER + "/")
    assert int(query["X-Goog-Expires"]) == 7 * 86400


def _signed_urls(store: Path, spec: Spec) -> dict[str, Any]:
    record = load_record(open_storage(store.as_uri()), spec.unit)
    assert record is not None and "signed_urls.json" in record.files
    assert record.params["DELIVER_SIGNING_KEY"] == SECRET_ID  # the name, never the value
    return json.loads((store / record.attempt_dir / "signed_urls.json").read_text())


def test_signed_delivery_from_env_secret(key: tuple[str, rsa.RSAPublicKey], stage_specs: dict[str, Spec],
                                         prepared: dict[str, Path], tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Outside production the key comes from BP_SECRET_*: every delivered file gets a valid signed URL; nothing leaks."""
    key_json, public = key
    spec = stage_specs["deliver"]
    store, bucket = _copy(prepared, tmp_path)
    capsys.readouterr()
    assert _deliver(spec, store, bucket, BP_SECRET_DELIVER_SIGNING_KEY=key_json) == 0
    err = capsys.readouterr().err
    doc = _signed_urls(store, spec)
    folder = bucket / "internal/kitchen-core"  # the bucket folder stands for gs://…/root
    delivered = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert len(delivered) > 10
    assert {f["path"] for f in doc["files"]} == delivered
    for f in doc["files"]:
        assert f["url"].startswith(f"https://storage.googleapis.com/{BUCKET}/root/internal/kitchen-core/")
        _verify_v4(f["url"], public)
    assert doc["signer"] == SIGNER
    assert assert_no_leak(key_json, err, store, bucket) > 20


class _Exploded(Exception):
    pass


@pytest.mark.parametrize("log_format", ["json", "console"])
def test_failure_with_traceback_carrying_the_key(log_format: str, key: tuple[str, rsa.RSAPublicKey],
                                                 stage_specs: dict[str, Spec], prepared: dict[str, Path],
                                                 tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The key in a debug log, an error message and a traceback: redacted in logs, marker and everything else."""
    from bp_deliver import signing

    key_json, _ = key

    def explode(k: str, *args: Any) -> Any:
        info = json.loads(k)
        logging.getLogger("bp.deliver").debug("signing with %s", k)
        logging.getLogger("bp.deliver").error("key id %s, private key %s", info["private_key_id"], info["private_key"])
        raise _Exploded(f"cannot sign with {info['private_key']} (whole key: {k})")

    monkeypatch.setattr(signing, "sign_all", explode)
    spec = stage_specs["deliver"]
    store, bucket = _copy(prepared, tmp_path)
    capsys.readouterr()
    assert _deliver(spec, store, bucket, BP_SECRET_DELIVER_SIGNING_KEY=key_json, LOG_FORMAT=log_format) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "_Exploded" in err and "**redacted**" in err
    marker = FailureMarker.model_validate_json((store / spec.unit.failure_path("sig-a0")).read_bytes())
    assert "**redacted**" in marker.message and "**redacted**" in marker.traceback
    assert "_Exploded" in marker.traceback
    assert_no_leak(key_json, err, store, bucket)


def test_missing_secret_is_a_config_error(stage_specs: dict[str, Spec], prepared: dict[str, Path],
                                          tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A signing key named but not set: exit 2 before any copy, the variable to set named; nothing delivered."""
    spec = stage_specs["deliver"]
    store, bucket = _copy(prepared, tmp_path)
    capsys.readouterr()
    assert _deliver(spec, store, bucket) == 2
    err = capsys.readouterr().err
    assert "DELIVER_SIGNING_KEY: secret 'deliver-signing-key' not found: set BP_SECRET_DELIVER_SIGNING_KEY" in err
    assert not bucket.exists()
    marker = FailureMarker.model_validate_json((store / spec.unit.failure_path("sig-a0")).read_bytes())
    assert marker.error_type == "ConfigError" and marker.exit_code == 2


def test_production_reads_secret_manager(key: tuple[str, rsa.RSAPublicKey], stage_specs: dict[str, Spec],
                                         prepared: dict[str, Path], tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """In production the real Secret Manager client fetches the key (anonymously, from the local stand-in); nothing leaks."""
    key_json, public = key
    spec = stage_specs["deliver"]
    store, bucket = _copy(prepared, tmp_path)
    with secret_manager() as sm:
        sm.secrets[("test-project", SECRET_ID)] = key_json.encode()
        capsys.readouterr()
        code = _deliver(spec, store, bucket, PIPELINE_ENV="production",
                        GOOGLE_CLOUD_PROJECT="test-project", SECRET_MANAGER_ENDPOINT=sm.endpoint,
                        DELIVER_CUSTOMER_ID="acme", DELIVER_APPROVERS="alice@example.com")
        err = capsys.readouterr().err
        assert code == 0, err[-3000:]
        paths = [r.path.split("?")[0] for r in sm.requests]
        assert paths == [f"/v1/projects/test-project/secrets/{SECRET_ID}/versions/latest:access"]
        assert all(r.authorization is None for r in sm.requests)  # no token on plain http
    doc = _signed_urls(store, spec)
    assert doc["customer_id"] == "acme" and len(doc["files"]) > 10
    _verify_v4(doc["files"][0]["url"], public)
    assert_no_leak(key_json, err, store, bucket)


def test_production_refuses_env_secret(key: tuple[str, rsa.RSAPublicKey], stage_specs: dict[str, Spec],
                                       prepared: dict[str, Path], tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """BP_SECRET_* in production is refused (exit 2) without reading or echoing it."""
    key_json, _ = key
    spec = stage_specs["deliver"]
    store, bucket = _copy(prepared, tmp_path)
    capsys.readouterr()
    code = _deliver(spec, store, bucket, PIPELINE_ENV="production", GOOGLE_CLOUD_PROJECT="test-project",
                    DELIVER_CUSTOMER_ID="acme", BP_SECRET_DELIVER_SIGNING_KEY=key_json)
    err = capsys.readouterr().err
    assert code == 2 and "BP_SECRET_DELIVER_SIGNING_KEY set with PIPELINE_ENV=production" in err
    assert_no_leak(key_json, err, store)


def test_signing_settings_join_the_digest_only_when_used() -> None:
    """Deliveries made before signing existed keep their inputs digest; signing is a parameter when on."""
    from bp_deliver.settings import DeliverSettings
    from bp_sdk.errors import ConfigError
    from bp_sdk.settings import load_settings

    base = {"STORAGE_URI": "gs://bucket-a/p", "SCENE_ID": "s", "RUN_ID": "r"}
    plain = load_settings(DeliverSettings, base).output_params()
    assert "DELIVER_SIGNING_KEY" not in plain and "DELIVER_SIGNED_URL_DAYS" not in plain
    signed = load_settings(DeliverSettings, {**base, "DELIVER_SIGNING_KEY": SECRET_ID}).output_params()
    assert signed["DELIVER_SIGNING_KEY"] == SECRET_ID and signed["DELIVER_SIGNED_URL_DAYS"] == 7
    with pytest.raises(ConfigError, match="DELIVER_SIGNING_KEY signs gs:// URLs"):
        load_settings(DeliverSettings, {**base, "STORAGE_URI": "file:///tmp/x", "DELIVER_SIGNING_KEY": SECRET_ID})
