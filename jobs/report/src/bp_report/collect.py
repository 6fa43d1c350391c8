"""The state of a run or dataset, read through commit records and failure markers only.

Every unit the pipeline commits to (each stage of each source run, each shard of a
sharded stage, each dataset stage) becomes a :class:`UnitState`: its commit record if
there is one, and every failure marker of its attempts. Nothing here opens an attempt
folder without a commit record naming it; markers are read with ``list_markers``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from bp_contracts.stages import DATASET_STAGES, RUN_STAGES, SHARDED_STAGES
from bp_dataset.approval import Approval, load_approvals
from bp_dataset.decision import dataset_unit
from bp_sdk.commit import CommitRecord, load_record
from bp_sdk.digest import sha256_json
from bp_sdk.errors import BPError
from bp_sdk.layout import SHARD_RE, SHARDS, Unit, stage_dir
from bp_sdk.markers import FailureMarker, list_markers
from bp_sdk.storage import Storage, join

Status = Literal["committed", "incomplete", "failed", "not run", "unreadable"]


@dataclass
class UnitState:
    """One unit: a stage of a scene run (or one shard of it), or a dataset stage."""

    stage: str
    label: str  # "episodes[1/2]", "gate"
    source: str | None  # "scene/run" for run stages, None for dataset stages
    unit: Unit
    record: CommitRecord | None = None
    markers: list[FailureMarker] = field(default_factory=list)
    error: str | None = None  # the record could not be read

    @property
    def status(self) -> Status:
        """committed, failed (markers and no record), not run, or unreadable."""
        if self.error is not None:
            return "unreadable"
        if self.record is not None:
            return "committed"
        return "failed" if self.markers else "not run"

    @property
    def seconds(self) -> float | None:
        """Wall time of the committed attempt (started_at → committed_at), if recorded."""
        r = self.record
        if r is None or r.started_at is None:
            return None
        return max(0.0, (r.committed_at - r.started_at).total_seconds())

    @property
    def last_marker(self) -> FailureMarker | None:
        """The newest failure marker."""
        return self.markers[-1] if self.markers else None


@dataclass
class StageView:
    """A stage of one source run (or a dataset stage) and all its units."""

    stage: str
    source: str | None
    units: list[UnitState]

    @property
    def status(self) -> Status:
        """committed when every unit (every shard of one split) committed."""
        states = [u.status for u in self.units]
        if any(s == "unreadable" for s in states):
            return "unreadable"
        if self.complete_units() is not None:
            return "committed"
        if any(s == "failed" for s in states):
            return "failed"
        return "incomplete" if any(s == "committed" for s in states) else "not run"

    def complete_units(self) -> list[UnitState] | None:
        """The committed units of one complete split (as ``read_committed`` takes them)."""
        whole = [u for u in self.units if u.unit.shard_index is None and u.record is not None]
        if whole:
            return whole
        by_count: dict[int, list[UnitState]] = {}
        for u in self.units:
            if u.unit.shard_count is not None:
                by_count.setdefault(u.unit.shard_count, []).append(u)
        for count in sorted(by_count):
            units = by_count[count]
            if len(units) == count and all(u.record is not None for u in units):
                return sorted(units, key=lambda u: u.unit.shard_index or 0)
        return None

    def committed(self) -> list[UnitState]:
        """Every unit with a commit record (also of an incomplete stage)."""
        return [u for u in self.units if u.record is not None]


@dataclass
class Snapshot:
    """Everything the report shows, as committed at the time it was read."""

    scope: Literal["run", "dataset"]
    scene: str
    run: str
    dataset: str
    sources: list[tuple[str, str]]
    stages: list[StageView]
    approvals: list[tuple[Approval, str]] = field(default_factory=list)
    bad_approvals: list[str] = field(default_factory=list)

    def stage(self, name: str, source: str | None = None) -> StageView | None:
        """The view of ``name`` (of ``source`` for run stages; dataset stages have none)."""
        for view in self.stages:
            if view.stage == name and (view.source == source or name in DATASET_STAGES):
                return view
        return None

    def units(self) -> list[UnitState]:
        """Every unit, in pipeline order."""
        return [u for view in self.stages for u in view.units]

    def as_of(self) -> datetime | None:
        """The newest commit or failure the snapshot contains."""
        times = [u.record.committed_at for u in self.units() if u.record is not None]
        times += [m.failed_at for u in self.units() for m in u.markers]
        return max(times) if times else None

    def digests(self, extra: dict[str, str]) -> dict[str, str]:
        """The report's inputs: every unit's committed outputs and markers, every approval."""
        out = dict(extra)
        for u in self.units():
            key = f"{u.source or 'dataset:' + self.dataset}:{u.label}"
            out[key] = sha256_json(
                {
                    "record": [u.record.outputs_digest, u.record.attempt.attempt_id]
                    if u.record
                    else None,
                    "markers": [[m.attempt_id, m.failed_at.isoformat()] for m in u.markers],
                    "error": u.error,
                }
            )
        for approval, sha in self.approvals:
            out[f"approval:{approval.approval_id}"] = sha
        if self.bad_approvals:
            out["approvals:unreadable"] = hashlib.sha256(
                "\n".join(self.bad_approvals).encode()
            ).hexdigest()
        return out


def _state(storage: Storage, stage: str, label: str, source: str | None, unit: Unit) -> UnitState:
    state = UnitState(stage, label, source, unit)
    try:
        state.record = load_record(storage, unit)
    except BPError as exc:
        state.error = exc.message
    state.markers = list_markers(storage, unit)
    return state


def _shard_units(storage: Storage, scene: str, run: str, stage: str) -> list[Unit]:
    """Every shard of every split that has a folder (missing indices of a split included)."""
    names = storage.list_dirs(join(stage_dir(scene, run, stage), SHARDS) + "/")
    counts: dict[int, set[int]] = {}
    for name in names:
        m = SHARD_RE.match(name)
        if m and int(m.group(1)) < int(m.group(2)):
            counts.setdefault(int(m.group(2)), set()).add(int(m.group(1)))
    return [Unit(scene, run, stage, i, n) for n in sorted(counts) for i in range(n)]


def run_stage_view(storage: Storage, scene: str, run: str, stage: str) -> StageView:
    """One stage of a scene run: the whole unit, or every shard of a sharded stage."""
    source = f"{scene}/{run}"
    whole = _state(storage, stage, stage, source, Unit(scene, run, stage))
    units = [whole]
    if stage in SHARDED_STAGES and whole.record is None:
        shards = [
            _state(storage, stage, f"{stage}[{u.shard_index}/{u.shard_count}]", source, u)
            for u in _shard_units(storage, scene, run, stage)
        ]
        if shards:
            units = shards + ([whole] if whole.markers else [])
    return StageView(stage, source, units)


def dataset_sources(storage: Storage, dataset: str) -> list[tuple[str, str]]:
    """The scene runs a committed export read (its inputs ``episodes:<scene>/<run>``)."""
    try:
        record = load_record(storage, dataset_unit(dataset, "export"))
    except BPError:
        return []
    if record is None:
        return []
    out = []
    for key in sorted(record.inputs):
        kind, _, label = key.partition(":")
        scene, _, run = label.partition("/")
        if kind == "episodes" and scene and run:
            out.append((scene, run))
    return out


def collect(
    storage: Storage,
    scope: Literal["run", "dataset"],
    scene: str,
    run: str,
    dataset: str,
) -> Snapshot:
    """Read the state of a run (and its dataset) or of a dataset (and its source runs)."""
    sources = [(scene, run)]
    if scope == "dataset":
        sources = dataset_sources(storage, dataset) or sources
    stages = [run_stage_view(storage, s, r, stage) for s, r in sources for stage in RUN_STAGES]
    for stage in DATASET_STAGES:
        unit = dataset_unit(dataset, stage)
        stages.append(StageView(stage, None, [_state(storage, stage, stage, None, unit)]))
    approvals, bad = load_approvals(storage, dataset)
    approvals.sort(key=lambda a: a[0].created_at)
    return Snapshot(scope, scene, run, dataset, sources, stages, approvals, bad)


__all__ = ["Snapshot", "StageView", "Status", "UnitState", "collect", "dataset_sources"]
