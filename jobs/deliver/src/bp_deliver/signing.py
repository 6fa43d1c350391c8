"""Signed URLs for a delivery: every delivered file readable by a lab without a Google identity.

With ``DELIVER_SIGNING_KEY`` set (the id of the secret holding the delivery signer service
account's JSON key: Secret Manager in production, ``BP_SECRET_<ID>`` or ``.env`` outside
it), deliver adds ``signed_urls.json`` to its committed output: one V4 signed ``GET`` URL
per delivered object (every file of ``meta/SHA256SUMS``, the file itself, ``DELIVERY.md``
and ``_DELIVERY.json``), valid ``DELIVER_SIGNED_URL_DAYS`` days. The URLs are made offline
by google-cloud-storage's own V4 signer with the key (no API call). The key never leaves
the process: the runner registered it (and its private-key lines) for redaction before the
work began, and a URL carries only the signer's email and a signature.

The operator sends the file to the lab (``gsutil cat``/``bp`` from the committed output);
the signed-URL alternative to per-customer IAM is described in infra/terraform/README.md.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from bp_dataset.delivery import DELIVERY_RECORD, STATEMENT_FILE, DeliveryRecord
from bp_sdk.commit import now
from bp_sdk.errors import ConfigError, Problem
from bp_sdk.runner import StageContext
from bp_sdk.storage import parse_storage_uri
from pydantic import BaseModel, ConfigDict, Field

from bp_deliver.settings import DeliverSettings

SIGNED_URLS: Final = "signed_urls.json"
SIGNING_SETTING: Final = "deliver_signing_key"
ENDPOINT: Final = "https://storage.googleapis.com"
_KEY_FIELDS: Final = ("type", "client_email", "private_key", "token_uri")


class SignedUrl(BaseModel):
    """One delivered object and the URL that reads it until ``expires_at``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    path: str
    object: str
    url: str


class SignedUrls(BaseModel):
    """``signed_urls.json``: what the lab receives to download the delivery."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    schema_: Literal["bp.signed_urls/v1"] = Field(default="bp.signed_urls/v1", alias="schema")
    dataset_id: str
    customer_id: str
    dataset_digest: str
    destination: str
    signer: str
    signed_at: datetime
    expires_at: datetime
    files: list[SignedUrl]


def _bad_key(why: str) -> ConfigError:
    """The secret is unusable; the message names what is wrong, never the content."""
    return ConfigError(
        f"DELIVER_SIGNING_KEY: the secret is not a usable service-account key ({why})",
        problems=[
            Problem(
                "DELIVER_SIGNING_KEY",
                why,
                "store the delivery signer account's JSON key (gcloud iam service-accounts keys create)",
            )
        ],
    )


def credentials(key: str) -> Any:
    """Service-account credentials from the JSON key (offline: nothing is fetched)."""
    from google.oauth2 import service_account  # noqa: PLC0415 - only when signing

    try:
        info = json.loads(key)
    except ValueError:
        raise _bad_key("not JSON") from None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        raise _bad_key('not a JSON object with "type": "service_account"')
    missing = [f for f in _KEY_FIELDS if not isinstance(info.get(f), str) or not info[f]]
    if missing:
        raise _bad_key(f"missing {', '.join(missing)}")
    try:
        return service_account.Credentials.from_service_account_info(info)  # type: ignore[no-untyped-call]
    except (ValueError, TypeError) as exc:
        raise _bad_key(f"the private key cannot be loaded: {type(exc).__name__}") from None


def sign_all(
    key: str, destination: str, paths: list[str], days: int
) -> tuple[str, list[SignedUrl]]:
    """The signer's email and a V4 signed GET URL for each path under the ``gs://``
    ``destination`` (a delivered folder)."""
    from google.cloud import storage  # noqa: PLC0415 - only when signing

    scheme, bucket, prefix = parse_storage_uri(destination)
    if scheme != "gs":
        raise ConfigError(
            f"signed URLs need a gs:// delivery destination, not {scheme}://",
            next_step="Deliver to the delivery bucket (DELIVER_ROOT=gs://...) or unset DELIVER_SIGNING_KEY.",
        )
    creds = credentials(key)
    client = storage.Client(project=creds.project_id or "signing", credentials=creds)
    try:
        folder = client.bucket(bucket)
        urls = []
        for path in paths:
            name = f"{prefix}/{path}" if prefix else path
            url = folder.blob(name).generate_signed_url(
                version="v4",
                expiration=timedelta(days=days),
                method="GET",
                credentials=creds,
                api_access_endpoint=ENDPOINT,
            )
            urls.append(SignedUrl(path=path, object=f"gs://{bucket}/{name}", url=url))
    finally:
        client.close()
    return str(creds.service_account_email), urls


def sign_delivery(
    ctx: StageContext[DeliverSettings], destination: str, record: DeliveryRecord
) -> SignedUrls | None:
    """Write ``signed_urls.json`` for the delivered folder at ``destination`` (its
    ``gs://`` URI), if a signing key is configured; the document written, or None."""
    key = ctx.secret(SIGNING_SETTING)
    if key is None:
        return None
    s = ctx.settings
    paths = sorted({*record.files, STATEMENT_FILE, DELIVERY_RECORD})
    signed_at = now()
    signer, urls = sign_all(key, destination, paths, s.deliver_signed_url_days)
    doc = SignedUrls(
        dataset_id=record.dataset_id,
        customer_id=record.customer_id,
        dataset_digest=record.dataset_digest,
        destination=destination,
        signer=signer,
        signed_at=signed_at,
        expires_at=signed_at + timedelta(days=s.deliver_signed_url_days),
        files=urls,
    )
    ctx.output.write_json(SIGNED_URLS, doc)
    ctx.log.info(
        "signed %d URLs for dataset %s as %s, valid until %s",
        len(urls),
        record.dataset_id,
        signer,
        doc.expires_at.isoformat(timespec="seconds"),
        extra={"fields": {"signed_urls": SIGNED_URLS, "signer": signer}},
    )
    return doc
