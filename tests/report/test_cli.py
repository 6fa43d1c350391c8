"""``bp report``: runs the bp-report entry point, copies the committed page to --out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer
from bp_cli.report_cmd import report_cmd
from bp_report.units import report_unit
from bp_sdk.commit import CommittedUnit, load_record
from typer.testing import CliRunner

from tests.gate.helpers import Store


def bp_report(*args: str) -> Any:
    """``bp report ARGS`` in-process (the command as bp_cli.main registers it)."""
    app = typer.Typer()
    app.command("report")(report_cmd)
    app.command("noop")(lambda: None)  # two commands: "report" stays a sub-command
    return CliRunner().invoke(app, ["report", *args], env={"COLUMNS": "400"})


def _committed_html(store: Store, base: str) -> dict[str, bytes]:
    """Every committed report.html under ``base``/reports/, by report id."""
    out = {}
    for report_id in store.storage.list_dirs(f"{base}/reports/"):
        dataset = store.dataset_id if base.startswith("datasets/") else None
        rec = load_record(store.storage, report_unit(store.scene, store.run, report_id, dataset))
        if rec is not None:
            out[report_id] = CommittedUnit(store.storage, rec).read_bytes("report.html")
    return out


def test_reports_commit_where_the_workflow_looks() -> None:
    """Run reports commit under the run's reports/<id>/ (where workflows/pipeline.yaml's
    unit_prefix looks), dataset reports under the dataset's."""
    assert (
        report_unit("s", "r", "rep-1").commit_path == "scenes/s/runs/r/reports/rep-1/_SUCCESS.json"
    )
    assert (
        report_unit("s", "r", "rep-1", "ds-1").commit_path
        == "datasets/ds-1/reports/rep-1/_SUCCESS.json"
    )
    pipeline = (Path(__file__).resolve().parents[2] / "workflows" / "pipeline.yaml").read_text()
    assert '"/runs/" + cfg.run_id + "/reports/" + cfg.execution_id + "/"' in pipeline


@pytest.mark.slow
def test_run_report_is_written_to_out_and_committed(full: Store, tmp_path: Path) -> None:
    """bp report --scene --run writes the committed report.html to --out and prints the path."""
    out = tmp_path / "nested" / "run.html"
    before = _committed_html(full, f"scenes/{full.scene}/runs/{full.run}")
    result = bp_report(
        "--scene", full.scene, "--run", full.run, "--dataset", full.dataset_id,
        "--storage", full.storage.uri, "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == str(out.resolve())
    after = _committed_html(full, f"scenes/{full.scene}/runs/{full.run}")
    (new,) = set(after) - set(before)
    assert out.read_bytes() == after[new]


@pytest.mark.slow
def test_dataset_report_is_committed_under_the_dataset(full: Store, tmp_path: Path) -> None:
    """bp report --dataset commits under datasets/<id>/reports/ and writes the page."""
    out = tmp_path / "ds.html"
    result = bp_report(
        "--dataset", full.dataset_id, "--storage", full.storage.uri, "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    pages = _committed_html(full, f"datasets/{full.dataset_id}")
    assert out.read_bytes() in pages.values()


def test_nothing_to_report_prints_the_marker_not_a_traceback(tmp_path: Path) -> None:
    """A run with nothing committed fails with the marker's message and next step."""
    root = tmp_path / "empty"
    root.mkdir()
    result = bp_report(
        "--scene",
        "nowhere",
        "--run",
        "r-none",
        "--storage",
        root.as_uri(),
        "--out",
        str(tmp_path / "x.html"),
    )
    assert result.exit_code == 3, result.output
    assert "nothing to report" in result.output
    assert "next:" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "x.html").exists()


def test_arguments_are_checked_before_anything_runs(tmp_path: Path) -> None:
    """Missing or half-given targets and bad ids are usage errors (exit 2)."""
    uri = tmp_path.as_uri()
    for args in (
        [],
        ["--scene", "s"],
        ["--run", "r"],
        ["--scene", "../x", "--run", "r"],
        ["--dataset", "missing"],
    ):
        result = bp_report(*args, "--storage", uri)
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output
