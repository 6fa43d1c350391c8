"""Storage layout: every key the pipeline writes is built here, nowhere else.

```
scenes/<scene>/input/...                                        the blueprint (+ meshes)
scenes/<scene>/runs/<run>/<stage>/_SUCCESS.json                 commit record (unsharded)
scenes/<scene>/runs/<run>/<stage>/attempts/<attempt>/...        an attempt's files
scenes/<scene>/runs/<run>/<stage>/attempts/<attempt>/_FAILURE.json
scenes/<scene>/runs/<run>/<stage>/shards/<i>-of-<n>/_SUCCESS.json   (sharded stages)
scenes/<scene>/runs/<run>/<stage>/shards/<i>-of-<n>/attempts/<attempt>/...
datasets/<dataset>/<stage>/_SUCCESS.json                         dataset stages (export, gate, deliver)
datasets/<dataset>/<stage>/attempts/<attempt>/...                  e.g. the dataset itself under export
datasets/<dataset>/approvals/<approval>.json                     audited gate overrides (never in gate output)
scenes/<scene>/runs/<run>/reports/<report>/_SUCCESS.json         a run report (one per report id: a snapshot)
datasets/<dataset>/reports/<report>/_SUCCESS.json                a dataset report
scenes/<scene>/runs/<run>/_LEASE.json                            a batch's claim on the scene run (workflows/batch.yaml)
deliveries/<customer>/<dataset>/...                              a delivered copy, its record written last
```
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bp_sdk.ids import ID_HINT, is_valid_id
from bp_sdk.storage.base import join

SUCCESS = "_SUCCESS.json"
FAILURE = "_FAILURE.json"
ATTEMPTS = "attempts"
SHARDS = "shards"
RESERVED_NAMES = frozenset({SUCCESS, FAILURE})
SHARD_RE = re.compile(r"^(\d{5})-of-(\d{5})$")
REPORTS = "reports"
REPORT_STAGE = "report"
LEASE = "_LEASE.json"


def _id(kind: str, value: str) -> str:
    if not is_valid_id(value):
        raise ValueError(f"invalid {kind} {value[:60]!r}: {ID_HINT}")
    return value


def scene_dir(scene: str) -> str:
    """``scenes/<scene>``."""
    return join("scenes", _id("scene id", scene))


def input_dir(scene: str) -> str:
    """``scenes/<scene>/input`` where the blueprint and meshes live."""
    return join(scene_dir(scene), "input")


def run_dir(scene: str, run: str) -> str:
    """``scenes/<scene>/runs/<run>``."""
    return join(scene_dir(scene), "runs", _id("run id", run))


def stage_dir(scene: str, run: str, stage: str) -> str:
    """``scenes/<scene>/runs/<run>/<stage>``."""
    return join(run_dir(scene, run), _id("stage", stage))


def dataset_dir(dataset: str) -> str:
    """``datasets/<dataset>``: a dataset's stages, spanning one or many scene runs."""
    return join("datasets", _id("dataset id", dataset))


def approvals_dir(dataset: str) -> str:
    """``datasets/<dataset>/approvals``: override records, kept outside any stage output."""
    return join(dataset_dir(dataset), "approvals")


def delivery_dir(customer: str, dataset: str) -> str:
    """``deliveries/<customer>/<dataset>``: where a delivered copy lives."""
    return join("deliveries", _id("customer id", customer), _id("dataset id", dataset))


def shard_name(index: int, count: int) -> str:
    """``00003-of-00008``."""
    if not 0 <= index < count <= 99_999:
        raise ValueError(f"shard {index} of {count} is out of range")
    return f"{index:05d}-of-{count:05d}"


@dataclass(frozen=True)
class Unit:
    """What one commit record covers: a whole stage, or one shard of it."""

    scene: str
    run: str
    stage: str
    shard_index: int | None = None
    shard_count: int | None = None
    dataset: str | None = None  # dataset stages live under datasets/<dataset>/<stage>

    @property
    def dir(self) -> str:
        """Folder that holds the commit record and the attempts."""
        base = (
            join(dataset_dir(self.dataset), _id("stage", self.stage))
            if self.dataset is not None
            else stage_dir(self.scene, self.run, self.stage)
        )
        if self.shard_index is None or self.shard_count is None:
            return base
        return join(base, SHARDS, shard_name(self.shard_index, self.shard_count))

    @property
    def commit_path(self) -> str:
        """Key of the commit record."""
        return join(self.dir, SUCCESS)

    def attempt_dir(self, attempt_id: str) -> str:
        """Folder of one attempt's files."""
        return join(self.dir, ATTEMPTS, _id("attempt id", attempt_id))

    def failure_path(self, attempt_id: str) -> str:
        """Key of one attempt's failure marker."""
        return join(self.attempt_dir(attempt_id), FAILURE)

    @property
    def label(self) -> str:
        """``stage`` or ``stage[3/8]`` for messages."""
        if self.shard_index is None:
            return self.stage
        return f"{self.stage}[{self.shard_index}/{self.shard_count}]"


def lease_path(scene: str, run: str) -> str:
    """``scenes/<scene>/runs/<run>/_LEASE.json``: a batch's claim (written by the workflow)."""
    return join(run_dir(scene, run), LEASE)


@dataclass(frozen=True)
class ReportUnit(Unit):
    """``.../reports/<report_id>``: one report, under its run or its dataset.

    A report is a snapshot committed once per id (not a stage of the run it describes),
    so it can be written after a failed run and again after the run resumed."""

    report_id: str = ""

    @property
    def dir(self) -> str:
        """Folder that holds the report's commit record and attempts."""
        base = (
            dataset_dir(self.dataset) if self.dataset is not None else run_dir(self.scene, self.run)
        )
        return join(base, REPORTS, _id("report id", self.report_id))

    @property
    def label(self) -> str:
        """``report <id>`` for messages."""
        return f"{REPORT_STAGE} {self.report_id}"


def report_unit(scene: str, run: str, report_id: str, dataset: str | None = None) -> ReportUnit:
    """The unit of a run report (``dataset`` None) or of a dataset report."""
    return ReportUnit(scene, run, REPORT_STAGE, dataset=dataset, report_id=report_id)
