"""What every fault test asserts about a failed job: one line, no traceback, no host path."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from bp_sdk.layout import Unit
from bp_sdk.markers import FailureMarker

FULL = re.compile(
    r"^(?P<label>.+?) failed \(StorageFull, retryable\): (?P<what>storage|local temp space) full at "
    r"(?P<where>\S+): no space left on the device \(ENOSPC\); free space or raise the quota, "
    r"then retry(?P<unwritten>; no failure marker: it could not be written either \(storage full\))?$"
)
READ_ONLY = re.compile(
    r"^(?P<label>.+?) failed \(StorageRefused, retryable\): storage read-only at (?P<where>\S+): "
    r"the file system is read-only \(EROFS\); make it writable for the job \(or use another "
    r"location\), then retry(?P<unwritten>; no failure marker: it could not be written either "
    r"\(storage read-only\))?$"
)


def json_lines(stderr: str) -> list[dict[str, Any]]:
    """The job's log records (every stderr line must be one JSON object)."""
    out = []
    for line in stderr.splitlines():
        if line.strip():
            out.append(json.loads(line))
    return out


def failure_line(stderr: str, pattern: re.Pattern[str], label: str, host_paths: list[str]) -> re.Match[str]:
    """The one error record of a failed job: matched against ``pattern``, one line, no
    traceback, no absolute host path; returns the match."""
    records = json_lines(stderr)
    errors = [r for r in records if r["severity"] == "ERROR"]
    assert len(errors) == 1, f"expected one error line, got {[e['message'] for e in errors]}"
    message = errors[0]["message"]
    assert "\n" not in message, message
    assert "Traceback" not in stderr and "traceback" not in stderr.lower()
    for path in host_paths:
        assert path not in message, f"host path {path} in the failure line"
    m = pattern.fullmatch(message)
    assert m is not None, message
    assert m.group("label") == label
    assert errors[0]["event"] == "stage_failed" and errors[0]["exit_code"] == 1
    assert errors[0]["marker_written"] is (m.group("unwritten") is None)
    return m


def marker_of(root: Path, unit: Unit, attempt_id: str) -> FailureMarker | None:
    """The attempt's failure marker, if it was written."""
    path = root / unit.failure_path(attempt_id)
    return FailureMarker.model_validate_json(path.read_bytes()) if path.exists() else None


def assert_marker(root: Path, unit: Unit, attempt_id: str, line: str, error_type: str,
                  host_paths: list[str]) -> None:
    """The marker says what the log line says: type, message, retryable exit 1."""
    marker = marker_of(root, unit, attempt_id)
    assert marker is not None, "the log line says the marker was written"
    assert marker.error_type == error_type and marker.exit_code == 1 and not marker.permanent
    assert marker.message in line
    text = (root / unit.failure_path(attempt_id)).read_text()
    for path in host_paths:
        assert path not in text
