"""Every resource type, attribute and block exists in hashicorp/google at the pinned range."""

from __future__ import annotations

import re

import pytest

from tests.infra import schema_checks
from tests.infra.conftest import TfCopy
from tests.infra.provider_schema import Schema
from tests.infra.test_terraform import PROVIDER_RANGE
from tests.infra.tfconfig import Module


def test_schema_source_matches_the_pinned_range(schema: Schema) -> None:
    """The offline schema is the provider release the version range starts at, same major."""
    low, high = re.fullmatch(r">= (\S+), < (\S+)", PROVIDER_RANGE).groups()  # type: ignore[union-attr]
    assert schema.provider_version == low, (schema.provider_version, PROVIDER_RANGE)
    assert int(high.split(".")[0]) == int(low.split(".")[0]) + 1
    assert len(schema.resources) > 1000
    assert "google_cloud_run_v2_job" in schema.resources


def test_every_resource_attribute_and_block_exists(tree: dict[str, Module], schema: Schema) -> None:
    """No resource type, data source, argument or nested block is unknown to the provider."""
    assert schema_checks.schema_problems(tree, schema) == []


@pytest.mark.parametrize(
    ("rel", "old", "new", "expected"),
    [
        (
            "modules/gcs-bucket/main.tf",
            "uniform_bucket_level_access = true",
            "uniform_bucket_level_acess = true",
            "no argument or block 'uniform_bucket_level_acess'",
        ),
        (
            "modules/cloud-run-job/main.tf",
            "max_retries           = var.execution.max_retries",
            "max_retry = var.execution.max_retries",
            "no argument or block 'max_retry'",
        ),
        (
            "modules/cloud-run-job/main.tf",
            'dynamic "node_selector"',
            'dynamic "node_selektor"',
            "no block 'node_selektor'",
        ),
        (
            "modules/cloud-run-job/main.tf",
            'resource "google_cloud_run_v2_job" "job"',
            'resource "google_cloud_run_v3_job" "job"',
            "no such resource type",
        ),
        (
            "modules/workflow/main.tf",
            "call_log_level      = var.call_log_level",
            "call_logging = var.call_log_level",
            "no argument or block 'call_logging'",
        ),
        (
            "workflows.tf",
            "    oauth_token {\n      service_account_email = module.scheduler_sa.email",
            "    oauth_token = {\n      service_account_email = module.scheduler_sa.email",
            "oauth_token is a block, set as an attribute",
        ),
        (
            "main.tf",
            'data "google_project" "this"',
            'data "google_projekt" "this"',
            "no such data source",
        ),
    ],
)
def test_a_misspelt_name_fails_the_schema_check(
    tf_copy: TfCopy, schema: Schema, rel: str, old: str, new: str, expected: str
) -> None:
    """A misspelt resource type, attribute or block in a copy of the HCL is reported."""
    tf_copy.replace(rel, old, new)
    problems = schema_checks.schema_problems(tf_copy.load(), schema)
    assert any(expected in p for p in problems), problems
