"""The commit protocol: attempt-scoped writes, one commit record written last.

A stage's outputs exist for readers only through its commit record. Writers put
files under their attempt folder (:class:`OutputWriter`); :func:`commit` writes the
record create-if-absent; readers go through :func:`read_committed` / :class:`CommittedUnit`,
which verify size and sha256 of every file they hand out.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, BinaryIO, Final, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bp_sdk.digest import canonical_json, sha256_json
from bp_sdk.errors import (
    BPError,
    NotFoundError,
    PermanentError,
    PreconditionFailed,
    RetryableError,
)
from bp_sdk.layout import RESERVED_NAMES, SHARD_RE, SHARDS, SUCCESS, Unit, scene_dir, stage_dir
from bp_sdk.storage import Storage, check_path, join

M = TypeVar("M", bound=BaseModel)
COMMIT_SCHEMA: Final = "bp.commit/v1"
MAX_RUNS_CHECKED: Final = 200  # runs of a scene searched for a missing upstream stage


class FileEntry(BaseModel):
    """Size and sha256 of one committed file."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class AttemptRef(BaseModel):
    """Which attempt produced the committed files."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    execution: str
    attempt: int
    attempt_id: str


class ShardRef(BaseModel):
    """Shard coordinates for a sharded stage."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    index: int = Field(ge=0)
    count: int = Field(ge=1)


class CommitRecord(BaseModel):
    """``_SUCCESS.json``: the only way a stage's outputs become visible."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    schema_: Literal["bp.commit/v1"] = Field(default=COMMIT_SCHEMA, alias="schema")
    stage: str
    scene_id: str
    run_id: str
    shard: ShardRef | None = None
    dataset_id: str | None = None  # set for dataset stages (datasets/<dataset_id>/<stage>)
    attempt: AttemptRef
    attempt_dir: str
    files: dict[str, FileEntry]
    outputs_digest: str
    inputs: dict[str, str]
    inputs_digest: str
    params: dict[str, Any]
    settings: dict[str, Any]
    code: dict[str, str]
    seeds: dict[str, int] = Field(default_factory=dict)
    summary: dict[str, Any] = Field(default_factory=dict)
    started_at: datetime | None = None  # when this attempt began its work (None in older records)
    committed_at: datetime

    def to_bytes(self) -> bytes:
        """Pretty JSON bytes of the record."""
        return (self.model_dump_json(by_alias=True, indent=2) + "\n").encode()


def outputs_digest(files: dict[str, FileEntry]) -> str:
    """Digest of the file manifest: changes iff any committed byte changes."""
    return sha256_json({k: [v.size, v.sha256] for k, v in sorted(files.items())})


def inputs_digest(stage: str, inputs: dict[str, str], params: dict[str, Any]) -> str:
    """Digest of what determines the stage's output: its inputs and parameters."""
    return sha256_json({"stage": stage, "inputs": inputs, "params": params})


class _HashingWriter:
    """File-like wrapper that hashes and counts what passes through."""

    def __init__(self, inner: BinaryIO) -> None:
        self._inner = inner
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        self.size += len(data)
        return self._inner.write(data)

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        self._inner.flush()


class OutputWriter:
    """Writes a unit's files into its attempt folder and remembers their digests."""

    def __init__(self, storage: Storage, unit: Unit, attempt_id: str) -> None:
        self.storage = storage
        self.unit = unit
        self.attempt_id = attempt_id
        self.dir = unit.attempt_dir(attempt_id)
        self.files: dict[str, FileEntry] = {}

    def _name(self, name: str) -> str:
        check_path(name)
        if name.rsplit("/", 1)[-1] in RESERVED_NAMES:
            raise ValueError(f"{name!r} is a reserved name")
        return name

    @contextlib.contextmanager
    def open(self, name: str) -> Iterator[BinaryIO]:
        """Stream one output file; it is recorded only if the block ends cleanly."""
        self._name(name)
        with self.storage.open_write(join(self.dir, name)) as raw:
            w = _HashingWriter(raw)
            yield w  # type: ignore[misc]
        self.files[name] = FileEntry(size=w.size, sha256=w.hash.hexdigest())

    def write_bytes(self, name: str, data: bytes) -> None:
        """Write one whole output file."""
        with self.open(name) as f:
            f.write(data)

    def write_json(self, name: str, value: Any) -> None:
        """Write JSON (a pydantic model or plain data), pretty and stable."""
        if isinstance(value, BaseModel):
            text = value.model_dump_json(indent=2, by_alias=True)
        else:
            text = json.dumps(value, indent=2, sort_keys=True, allow_nan=False)
        self.write_bytes(name, (text + "\n").encode())


def commit(storage: Storage, record: CommitRecord, unit: Unit | None = None) -> CommitRecord:
    """Write the record create-if-absent at ``unit`` (default: the unit its fields name).
    If another attempt committed first, accept its record when the inputs agree;
    otherwise the run id was reused: permanent error."""
    unit = unit or Unit(
        record.scene_id,
        record.run_id,
        record.stage,
        record.shard.index if record.shard else None,
        record.shard.count if record.shard else None,
        record.dataset_id,
    )
    try:
        storage.create_if_absent(unit.commit_path, record.to_bytes())
    except PreconditionFailed:
        existing = load_record(storage, unit)
        if existing is None:  # pragma: no cover - deleted between calls
            raise RetryableError(f"commit of {unit.label} raced with a delete; retry") from None
        check_same_inputs(existing, record.inputs_digest)
        return existing
    return record


def check_same_inputs(existing: CommitRecord, digest: str) -> None:
    """Raise if ``existing`` was committed for different inputs (run id reuse)."""
    if existing.inputs_digest != digest:
        raise PermanentError(
            f"run {existing.run_id!r} of scene {existing.scene_id!r} already has a committed "
            f"{existing.stage} made from different inputs (committed {existing.inputs_digest[:12]}, "
            f"now {digest[:12]})",
            next_step="Use a new RUN_ID for new inputs (bp derives one from the configuration); committed runs are never overwritten.",
        )


def load_record(storage: Storage, unit: Unit) -> CommitRecord | None:
    """The unit's commit record, or None. A malformed record is a permanent error."""
    try:
        raw = storage.read_bytes(unit.commit_path)
    except NotFoundError:
        return None
    try:
        return CommitRecord.model_validate_json(raw)
    except ValidationError as exc:
        raise PermanentError(
            f"commit record {unit.commit_path} is malformed: {exc.error_count()} errors"
        ) from None


class CommittedUnit:
    """Read access to one committed unit's files, verified against its record."""

    def __init__(self, storage: Storage, record: CommitRecord) -> None:
        self.storage = storage
        self.record = record

    def _entry(self, name: str) -> FileEntry:
        entry = self.record.files.get(name)
        if entry is None:
            raise NotFoundError(
                f"{self.record.stage} of run {self.record.run_id} committed no file {name!r}; "
                f"it has: {', '.join(sorted(self.record.files)) or '(none)'}"
            )
        return entry

    @contextlib.contextmanager
    def open(self, name: str) -> Iterator[BinaryIO]:
        """Stream a committed file (not verified; use :meth:`read_bytes` for that)."""
        self._entry(name)
        with self.storage.open_read(join(self.record.attempt_dir, name)) as f:
            yield f

    def read_bytes(self, name: str) -> bytes:
        """Whole file, checked against the record's size and sha256."""
        entry = self._entry(name)
        data = self.storage.read_bytes(join(self.record.attempt_dir, name))
        if len(data) != entry.size or hashlib.sha256(data).hexdigest() != entry.sha256:
            raise PermanentError(
                f"committed file {name!r} of {self.record.stage} does not match its commit record "
                "(size or sha256 differs): storage was modified after commit",
                next_step="Treat the run as corrupt; re-run it under a new RUN_ID.",
            )
        return data

    def read_json(self, name: str) -> Any:
        """Verified JSON content."""
        return json.loads(self.read_bytes(name))

    def read_model(self, name: str, model: type[M]) -> M:
        """Verified content validated as ``model``."""
        return model.model_validate_json(self.read_bytes(name))


def read_committed(
    storage: Storage, scene: str, run: str, stage: str
) -> list[CommittedUnit] | None:
    """Committed units of a stage (one, or every shard), or None while incomplete."""
    whole = load_record(storage, Unit(scene, run, stage))
    if whole is not None:
        return [CommittedUnit(storage, whole)]
    shards_prefix = join(stage_dir(scene, run, stage), SHARDS) + "/"
    names = storage.list_dirs(shards_prefix)
    # a shard folder may hold only a failed attempt of another split (another task count):
    # the stage is complete for a count when every shard of that count has committed
    counts = sorted({int(m.group(2)) for n in names if (m := SHARD_RE.match(n))})
    for count in counts:
        units = []
        for i in range(count):
            rec = load_record(storage, Unit(scene, run, stage, i, count))
            if rec is None:
                break
            units.append(CommittedUnit(storage, rec))
        else:
            return units
    return None


def require_unit(storage: Storage, unit: Unit) -> CommittedUnit:
    """The committed unit (e.g. a dataset stage), or a clear permanent error."""
    rec = load_record(storage, unit)
    if rec is None:
        where = (
            f"dataset {unit.dataset!r}"
            if unit.dataset
            else f"scene {unit.scene!r}, run {unit.run!r}"
        )
        raise PermanentError(
            f"stage {unit.stage!r} has no commit record for {where}",
            next_step=f"Run the {unit.stage} stage first (bp stage {unit.stage} ...).",
        )
    return CommittedUnit(storage, rec)


def require_committed(storage: Storage, scene: str, run: str, stage: str) -> CommittedUnit:
    """The single committed unit of an unsharded upstream stage, or a clear error."""
    units = read_committed(storage, scene, run, stage)
    if not units:
        raise missing_upstream(storage, scene, run, stage)
    return units[0]


def committed_runs(storage: Storage, scene: str, stage: str) -> list[str]:
    """The runs of ``scene`` in which ``stage`` has committed (the first ``MAX_RUNS_CHECKED``
    runs by name; a run whose record is unreadable is left out)."""
    found = []
    for run in storage.list_dirs(join(scene_dir(scene), "runs") + "/")[:MAX_RUNS_CHECKED]:
        with contextlib.suppress(PermanentError):
            if read_committed(storage, scene, run, stage):
                found.append(run)
    return found


def missing_upstream(storage: Storage, scene: str, run: str, stage: str) -> PermanentError:
    """The error for an upstream stage that has not committed in this run: when it has in
    another run of the scene, the message names those runs and why the run ids differ."""
    plain = f"stage {stage!r} has no commit record for scene {scene!r}, run {run!r}"
    try:
        others = [r for r in committed_runs(storage, scene, stage) if r != run]
    except BPError:  # a store that refuses the listing still gets the plain message
        others = []
    if not others:
        return PermanentError(
            plain,
            next_step=f"Run the {stage} stage for this scene and run id first (bp stage {stage} ...).",
        )
    listed = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
    return PermanentError(
        f"{plain}; it has committed in run{'s' if len(others) > 1 else ''} {listed} of this "
        "scene (a run id stands for one configuration: bp derives it from the scene input and "
        "the --set values, so stages given different --set values run in different runs)",
        next_step=(
            f"Run this stage in the run where {stage} committed (RUN_ID={others[0]}; bp stage "
            f"--run-id {others[0]}), or run {stage} in run {run} first (with bp: the same --set "
            "values on every stage)."
        ),
    )


def upstream_digests(storage: Storage, scene: str, run: str, stages: list[str]) -> dict[str, str]:
    """``{"<stage>": outputs digest}`` of each committed upstream stage (shards combined).

    This is what a downstream stage declares as its inputs: it changes iff any byte the
    upstream stage committed changes. A missing upstream stage is a permanent error.
    """
    out: dict[str, str] = {}
    for stage in stages:
        units = read_committed(storage, scene, run, stage)
        if not units:
            raise missing_upstream(storage, scene, run, stage)
        out[stage] = sha256_json([u.record.outputs_digest for u in units])
    return out


def now() -> datetime:
    """UTC now (commit records and markers are the only timestamped files)."""
    return datetime.now(tz=UTC)


__all__ = [
    "SUCCESS",
    "AttemptRef",
    "CommitRecord",
    "CommittedUnit",
    "FileEntry",
    "OutputWriter",
    "ShardRef",
    "canonical_json",
    "check_same_inputs",
    "commit",
    "committed_runs",
    "inputs_digest",
    "load_record",
    "missing_upstream",
    "now",
    "outputs_digest",
    "read_committed",
    "require_committed",
    "require_unit",
]
