"""Report settings: which run or dataset, and under which report id it is committed."""

from __future__ import annotations

from typing import ClassVar, Literal

from bp_dataset.settings import DatasetStageSettings
from bp_sdk.ids import Identifier
from bp_sdk.settings import JobSettings
from pydantic import Field


class ReportSettings(DatasetStageSettings):
    """``bp-report`` configuration (environment only).

    A report is a snapshot: every REPORT_ID commits its own unit
    (``scenes/<scene>/runs/<run>/reports/<REPORT_ID>/`` or
    ``datasets/<DATASET_ID>/reports/<REPORT_ID>/``), so a report can be written at the end
    of every run, a failed one included, and again after the run is resumed.
    """

    stage_name: ClassVar[str] = "report"
    infra_fields: ClassVar[frozenset[str]] = JobSettings.infra_fields | {"report_id"}

    report_id: Identifier = Field(
        description="Id of this report (folder under reports/): the workflow passes its own execution id, `bp report` a fresh one. The same id with the same committed state is skipped.",
    )
    report_scope: Literal["run", "dataset"] = Field(
        default="run",
        description="run: the scene run SCENE_ID/RUN_ID (and its dataset DATASET_ID, if exported); dataset: the dataset DATASET_ID and every scene run it was exported from.",
    )
    report_sample_episodes: int = Field(
        default=2,
        ge=0,
        le=16,
        description="Episodes whose camera frames (first, middle, last of every camera) are embedded in the report.",
    )
