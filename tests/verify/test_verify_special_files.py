"""Verify's readers tell a missing file from one that is there but refused (a named pipe in a
local dataset folder): never "missing" for a pipe, and never a blocking read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from bp_dataset.checksum_check import check_checksums
from bp_dataset.layout import SHA256SUMS
from bp_dataset.report import Problems
from bp_dataset.root import open_target
from bp_dataset.tables import read_json

pytestmark = pytest.mark.timeout(60)  # a blocking read of a pipe fails here instead of hanging

REFUSED = "a named pipe (FIFO), not a regular file"


def test_pipe_as_sha256sums_is_refused_not_missing(tmp_path: Path) -> None:
    """meta/SHA256SUMS as a pipe: the checksums check fails saying it cannot be read, and why."""
    (tmp_path / "meta").mkdir()
    os.mkfifo(tmp_path / SHA256SUMS)
    outcome = check_checksums(open_target(str(tmp_path)))
    assert not outcome.result.passed
    assert outcome.digest is None
    [problem] = outcome.result.problems
    assert problem.startswith(f"{SHA256SUMS}: cannot be read (refused storage object ")
    assert REFUSED in problem and "(the dataset cannot be checked without it)" in problem


def test_missing_sha256sums_is_still_missing(tmp_path: Path) -> None:
    """No meta/SHA256SUMS at all: the problem still says missing."""
    outcome = check_checksums(open_target(str(tmp_path)))
    assert outcome.result.problems == [
        f"{SHA256SUMS}: missing (the dataset cannot be checked without it)"
    ]


def test_read_json_names_a_pipe_and_a_missing_file_apart(tmp_path: Path) -> None:
    """read_json of a pipe: 'cannot be read (…pipe…)'; of an absent file: 'missing'."""
    (tmp_path / "meta").mkdir()
    os.mkfifo(tmp_path / "meta" / "info.json")
    root = open_target(str(tmp_path))
    problems = Problems()
    assert read_json(root, "meta/info.json", problems) is None
    assert read_json(root, "meta/absent.json", problems) is None
    found = problems.lines
    assert found[0].startswith("meta/info.json: cannot be read (refused storage object ")
    assert REFUSED in found[0]
    assert found[1] == "meta/absent.json: missing"
