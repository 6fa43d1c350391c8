"""checkov passes on infra/terraform, and every skipped check says why."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from tests.infra.conftest import need_infra_venv
from tests.infra.provider_schema import checkov_bin
from tests.infra.tfconfig import TF_ROOT

SKIP = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?")


@pytest.fixture(scope="module")
def checkov_report() -> dict:
    """One checkov run over infra/terraform (terraform framework, offline)."""
    need_infra_venv()
    exe = checkov_bin()
    assert exe is not None
    proc = subprocess.run(
        [
            str(exe),
            "-d",
            str(TF_ROOT),
            "--framework",
            "terraform",
            "--skip-download",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    return report[0] if isinstance(report, list) else report


def test_checkov_passes(checkov_report: dict) -> None:
    """checkov finds no failed check and no parsing error."""
    summary = checkov_report["summary"]
    failed = [
        (c["check_id"], c["resource"], c["file_path"])
        for c in checkov_report["results"]["failed_checks"]
    ]
    assert summary["failed"] == 0, failed
    assert summary["parsing_errors"] == 0
    assert summary["passed"] > 50


def test_every_skip_is_explained(checkov_report: dict) -> None:
    """Each checkov:skip comment carries a reason of at least a sentence, and checkov honoured it."""
    skips = []
    for path in sorted(TF_ROOT.rglob("*.tf")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if m := SKIP.search(line):
                skips.append((path.name, m.group(1), (m.group(2) or "").strip()))
    assert skips, "expected the documented skips"
    for name, check, reason in skips:
        assert len(reason.split()) >= 8, f"{name}: skip of {check} without a reason"
    skipped = {c["check_id"] for c in checkov_report["results"]["skipped_checks"]}
    assert skipped == {check for _n, check, _r in skips}
