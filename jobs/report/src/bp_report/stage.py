"""The report stage: read the committed state of a run or dataset, write one HTML page.

It reads storage only through commit records (``load_record``, ``CommittedUnit``) and
failure markers (``list_markers``), never an uncommitted attempt, and commits
``report.html`` (self-contained) and ``report.json`` (the numbers behind it) under
``reports/<REPORT_ID>/`` of the run or the dataset (:mod:`bp_report.units`).

Its inputs are every unit's committed outputs and failure markers, every approval and
the price and resource tables: the same REPORT_ID with the same state is skipped; a
report of a later state needs a new REPORT_ID (the workflow passes its execution id).
"""

from __future__ import annotations

import hashlib
import json

from bp_sdk.errors import PermanentError
from bp_sdk.runner import Stage, StageContext, StageResult
from bp_sdk.storage import Storage

from bp_report.build import build_report, report_json
from bp_report.collect import Snapshot, collect
from bp_report.cost import load_prices, load_resources, table_bytes
from bp_report.page import render, verdict
from bp_report.settings import ReportSettings
from bp_report.units import REPORT_HTML, REPORT_JSON, REPORT_STAGE, ReportUnit, report_unit


class ReportStage(Stage[ReportSettings]):
    """One self-contained HTML report of a run or a dataset."""

    name = REPORT_STAGE
    distribution = "bp-report"
    settings_cls = ReportSettings

    def __init__(self) -> None:
        self._snap: Snapshot | None = None

    def unit(self, settings: ReportSettings) -> ReportUnit:
        """``scenes/<s>/runs/<r>/reports/<id>`` or ``datasets/<d>/reports/<id>``."""
        dataset = settings.dataset() if settings.report_scope == "dataset" else None
        return report_unit(settings.scene_id, settings.run_id, settings.report_id, dataset)

    def inputs(self, settings: ReportSettings, storage: Storage) -> dict[str, str]:
        """Every unit's committed outputs and markers, every approval, the tables."""
        self._snap = collect(
            storage, settings.report_scope, settings.scene_id, settings.run_id, settings.dataset()
        )
        if self._snap.as_of() is None:
            what = (
                f"scene {settings.scene_id!r}, run {settings.run_id!r}"
                if settings.report_scope == "run"
                else f"dataset {settings.dataset()!r}"
            )
            raise PermanentError(
                f"nothing to report: no stage of {what} has a commit record or a failure marker",
                next_step="Check SCENE_ID, RUN_ID and DATASET_ID (bp report --scene S --run R), "
                "or run the pipeline first.",
            )
        tables = {k: hashlib.sha256(v).hexdigest() for k, v in table_bytes().items()}
        return self._snap.digests(tables)

    def run(self, ctx: StageContext[ReportSettings]) -> StageResult:
        """Build the report from the snapshot taken for the inputs; write page and numbers."""
        s = ctx.settings
        snap = self._snap
        if snap is None:
            self.inputs(s, ctx.storage)
            snap = self._snap
        assert snap is not None  # noqa: S101 - set by inputs()
        report = build_report(
            ctx.storage,
            snap,
            s.report_id,
            load_prices(),
            load_resources(),
            s.report_sample_episodes,
        )
        numbers = report_json(report)
        ctx.output.write_bytes(
            REPORT_JSON,
            (json.dumps(numbers, indent=2, sort_keys=True, allow_nan=False) + "\n").encode(),
        )
        page = render(report).encode("utf-8")
        ctx.output.write_bytes(REPORT_HTML, page)
        headline, _ = verdict(report)
        ctx.log.info(
            "report %s of %s: %s; %d units, %d episodes, estimated cost $%.4f",
            s.report_id,
            f"{s.scene_id}/{s.run_id}" if s.report_scope == "run" else f"dataset {s.dataset()}",
            headline,
            len(snap.units()),
            len(report.episodes.rows),
            report.cost.total_usd,
        )
        return StageResult(
            summary={
                "report_id": s.report_id,
                "scope": s.report_scope,
                "dataset_id": s.dataset(),
                "verdict": headline,
                "episodes": len(report.episodes.rows),
                "estimated_cost_usd": round(report.cost.total_usd, 6),
                "plots": len(report.plots),
                "frames": len(report.frames),
                "html_bytes": len(page),
                "problems": len(report.problems),
            }
        )


__all__ = ["ReportStage"]
