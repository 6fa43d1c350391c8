"""Deliver settings: which dataset, to whom, where, and who may approve overrides."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from bp_dataset.settings import DatasetStageSettings
from bp_sdk.ids import Identifier
from bp_sdk.settings import JobSettings, SecretName
from bp_sdk.storage import parse_storage_uri
from pydantic import Field, field_validator, model_validator

DEFAULT_CUSTOMER = "internal"
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")


class DeliverSettings(DatasetStageSettings):
    """``bp-deliver`` configuration (environment only). No setting forces a delivery:
    a failed gate needs an approval record (``bp approve``)."""

    stage_name: ClassVar[str] = "deliver"
    infra_fields: ClassVar[frozenset[str]] = JobSettings.infra_fields | {"deliver_workers"}

    deliver_customer_id: Identifier | None = Field(
        default=None,
        description="Customer receiving the dataset (folder under deliveries/). Required in production; development default: internal.",
    )
    deliver_destination: str | None = Field(
        default=None,
        description="Root of the delivered copy in another bucket or folder (gs://bucket/prefix or file:///abs/path). Default: <STORAGE_URI>/deliveries/<customer>/<dataset>/.",
    )
    deliver_approvers: str = Field(
        default="",
        description="Comma-separated Google identities (user or service-account emails) whose approvals of a failed gate are accepted. Production accepts approvals only from these, authenticated.",
    )
    deliver_workers: int = Field(
        default=2, ge=1, le=64, description="Threads copying and re-reading files."
    )

    deliver_root: str | None = Field(
        default=None,
        description="Root of every customer's deliveries in another bucket or folder (gs://bucket[/prefix] or file:///abs/path): the copy goes to <DELIVER_ROOT>/<customer>/<dataset>/. Terraform sets it to the delivery bucket. Not with DELIVER_DESTINATION.",
    )

    deliver_signing_key: SecretName | None = Field(
        default=None,
        description="Id of the secret holding the delivery signer service account's JSON key (Secret Manager in production; outside it BP_SECRET_<ID> in the environment or .env). Set: deliver writes signed_urls.json (V4 signed GET URLs of every delivered file) into its output. Needs a gs:// delivery destination.",
    )
    deliver_signed_url_days: int = Field(
        default=7,
        ge=1,
        le=7,
        description="Days the signed URLs stay valid (V4 signed URLs: at most 7).",
    )

    @field_validator("deliver_destination", "deliver_root")
    @classmethod
    def _destination(cls, value: str | None) -> str | None:
        if value is not None:
            parse_storage_uri(value)
        return value

    @field_validator("deliver_approvers")
    @classmethod
    def _approvers(cls, value: str) -> str:
        names = [a.strip() for a in value.split(",") if a.strip()]
        bad = [a for a in names if not _EMAIL.fullmatch(a) and not a.startswith("local:")]
        if bad:
            raise ValueError(f"approvers must be Google identities (emails), got {bad[:5]}")
        return ",".join(names)

    @model_validator(mode="after")
    def _one_destination(self) -> DeliverSettings:
        if self.deliver_destination and self.deliver_root:
            raise ValueError(
                "set DELIVER_DESTINATION (this dataset's folder) or DELIVER_ROOT (the root of every customer's deliveries), not both"
            )
        return self

    @model_validator(mode="after")
    def _signing(self) -> DeliverSettings:
        where = self.deliver_destination or self.deliver_root or self.storage_uri
        if self.deliver_signing_key and not where.startswith("gs://"):
            raise ValueError(
                "DELIVER_SIGNING_KEY signs gs:// URLs: set DELIVER_ROOT (or DELIVER_DESTINATION) to the gs:// delivery bucket, or unset it"
            )
        return self

    @model_validator(mode="after")
    def _production(self) -> DeliverSettings:
        if self.pipeline_env == "production":
            if self.deliver_customer_id is None:
                raise ValueError("DELIVER_CUSTOMER_ID is required when PIPELINE_ENV=production")
            local = [a for a in self.approvers() if a.startswith("local:")]
            if local:
                raise ValueError(
                    f"DELIVER_APPROVERS lists unauthenticated local identities {local}; production accepts Google identities only"
                )
        return self

    def output_params(self) -> dict[str, Any]:
        """The stage's parameters; the signing ones only when signing is on, so that
        deliveries made before signing existed keep their inputs digest."""
        params = super().output_params()
        if self.deliver_signing_key is None:
            params.pop("DELIVER_SIGNING_KEY", None)
            params.pop("DELIVER_SIGNED_URL_DAYS", None)
        return params

    def approvers(self) -> frozenset[str]:
        """The approvers, as a set."""
        return frozenset(a for a in self.deliver_approvers.split(",") if a)

    def customer_id(self) -> str:
        """The customer (``internal`` outside production when unset)."""
        return self.deliver_customer_id or DEFAULT_CUSTOMER

    @property
    def production(self) -> bool:
        """True when PIPELINE_ENV=production."""
        return self.pipeline_env == "production"
