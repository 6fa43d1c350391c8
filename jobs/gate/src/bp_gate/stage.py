"""The gate stage: re-read the committed dataset as a lab would, and decide.

It reads the export's committed attempt folder through storage (the dataset root), runs
:func:`bp_dataset.verify.run_checks` on it (checksums, schema, tier, frames, values),
checks every file against the export's commit record, cross-checks ``meta/quality.json``
with the data, recomputes the metrics and compares them with the versioned threshold
config. It writes ``decision.json``: every check with its value, threshold and verdict,
the dataset digest and the config version and digest.

A failed gate is a **committed decision** (``passed: false``, exit 0): the decision is
the stage's output, the workflow branches on it, and deliver refuses the dataset
unless an approval record covers every failed threshold check. Integrity failures are
never approvable. No setting or environment variable changes a verdict.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final, Literal

from bp_dataset.decision import (
    DECISION_FILE,
    EXPORT_STAGE,
    ConfigRef,
    DecisionCheck,
    ExportRef,
    GateDecision,
    dataset_unit,
)
from bp_dataset.layout import QUALITY, SHA256SUMS
from bp_dataset.report import CHECK_MEANING, Problems
from bp_dataset.root import DatasetRoot
from bp_dataset.verify import Verification, run_checks
from bp_sdk.commit import CommittedUnit, now, require_unit
from bp_sdk.errors import BPError
from bp_sdk.layout import Unit
from bp_sdk.runner import Stage, StageContext, StageResult
from bp_sdk.storage import Storage

from bp_gate import diversity
from bp_gate.config import LoadedConfig, Thresholds, load_config
from bp_gate.metrics import Metrics, compute
from bp_gate.settings import GateSettings

EXPORT_COMMIT: Final = "export_commit"
QUALITY_REPORT: Final = "quality_report"
# metric name, threshold field, comparison
THRESHOLDS: Final[tuple[tuple[str, str, Literal[">=", "<="]], ...]] = (
    ("success_rate", "min_success_rate", ">="),
    ("collision_rate", "max_collision_rate", "<="),
    ("mean_quality_score", "min_mean_quality_score", ">="),
    ("episodes_per_task", "min_episodes_per_task", ">="),
    ("distinct_instructions", "min_distinct_instructions", ">="),
    ("distinct_variants", "min_distinct_variants", ">="),
    ("rejected_fraction", "max_rejected_fraction", "<="),
    ("initial_state_spread", "min_initial_state_spread_m", ">="),
)
OPS: Final[dict[str, Callable[[float, float], bool]]] = {
    ">=": lambda v, t: v >= t,
    "<=": lambda v, t: v <= t,
}


class GateStage(Stage[GateSettings]):
    """Decide whether a committed dataset may be delivered."""

    name = "gate"
    distribution = "bp-gate"
    settings_cls = GateSettings

    def __init__(self) -> None:
        self._export: CommittedUnit | None = None
        self._config: LoadedConfig | None = None

    def unit(self, settings: GateSettings) -> Unit:
        """``datasets/<dataset_id>/gate``."""
        return Unit(settings.scene_id, settings.run_id, self.name, dataset=settings.dataset())

    def inputs(self, settings: GateSettings, storage: Storage) -> dict[str, str]:
        """The committed export (its outputs digest) and the threshold config's digest."""
        self._export = require_unit(storage, dataset_unit(settings.dataset(), EXPORT_STAGE))
        self._config = load_config(settings.gate_config, storage)
        return {"export": self._export.record.outputs_digest, "config": self._config.digest}

    def run(self, ctx: StageContext[GateSettings]) -> StageResult:
        """Verify, measure, decide, write ``decision.json``."""
        s = ctx.settings
        if self._export is None or self._config is None:
            self.inputs(s, ctx.storage)
        export, cfg = self._export, self._config
        assert export is not None  # noqa: S101 - set by inputs()
        assert cfg is not None  # noqa: S101 - set by inputs()
        root = DatasetRoot(ctx.storage, export.record.attempt_dir)

        def progress(what: str, done: int, total: int) -> None:
            ctx.progress(what, done, total)

        verified = run_checks(root, workers=s.gate_workers, progress=progress)
        checks = [
            _integrity(c.name, c.passed, c.value, c.summary, c.problems)
            for c in verified.report.checks
        ]
        checks.append(_export_commit(verified, export))
        quality_problems = Problems()
        quality = _read_quality(root, quality_problems)
        try:
            metrics = compute(verified.meta, verified.scan, quality, quality_problems)
            spread, spread_doc = diversity.compute(
                root, verified.meta, verified.scan, quality, quality_problems
            )
            metrics.initial_state_spread = spread
            metrics.detail["initial_state"] = spread_doc
        except (TypeError, ValueError, AttributeError, KeyError) as exc:  # a malformed report
            quality_problems.add(f"{QUALITY}: malformed ({type(exc).__name__}: {str(exc)[:120]})")
            metrics = Metrics()
        checks.append(
            _integrity(
                QUALITY_REPORT,
                not quality_problems,
                {
                    "exported": metrics.detail.get("exported"),
                    "recorded": metrics.detail.get("recorded"),
                },
                f"{QUALITY} agrees with the data"
                if not quality_problems
                else f"{len(quality_problems)} problem(s)",
                quality_problems.lines,
            )
        )
        checks += threshold_checks(metrics, cfg.config.thresholds)
        failed = [c.name for c in checks if not c.passed]
        decision = GateDecision(
            dataset_id=s.dataset(),
            dataset_digest=verified.report.dataset_digest,
            export=ExportRef(
                commit=dataset_unit(s.dataset(), EXPORT_STAGE).commit_path,
                attempt_dir=export.record.attempt_dir,
                dataset_root=export.record.attempt_dir,
                outputs_digest=export.record.outputs_digest,
            ),
            config=ConfigRef(version=cfg.config.version, digest=cfg.digest, source=cfg.source),
            checks=checks,
            passed=not failed,
            failed=failed,
            decided_at=now(),
        )
        ctx.output.write_bytes(DECISION_FILE, decision.to_bytes())
        if failed:
            ctx.log.warning(
                "gate FAILED for dataset %s: %s (delivery is blocked unless an approval covers "
                "every failed threshold check; integrity failures need a new export)",
                s.dataset(),
                ", ".join(failed),
                extra={"fields": {"event": "gate_decided", "failed": failed, "passed": False}},
            )
        else:
            ctx.log.info(
                "gate passed for dataset %s",
                s.dataset(),
                extra={"fields": {"event": "gate_decided", "failed": [], "passed": True}},
            )
        return StageResult(
            summary={
                "passed": not failed,
                "failed": failed,
                "dataset_id": s.dataset(),
                "dataset_digest": decision.dataset_digest,
                "config_version": cfg.config.version,
                "metrics": {name: getattr(metrics, name) for name, _f, _o in THRESHOLDS},
            }
        )


def _integrity(
    name: str, passed: bool, value: Any, summary: str, problems: list[str]
) -> DecisionCheck:
    return DecisionCheck(
        name=name,
        kind="integrity",
        value=value,
        threshold=None,
        op="holds",
        passed=passed,
        overridable=False,
        summary=summary or CHECK_MEANING.get(name, ""),
        details=problems,
    )


def _read_quality(root: DatasetRoot, problems: Problems) -> Any:
    try:
        return json.loads(root.read(QUALITY))
    except BPError:
        problems.add(f"{QUALITY}: missing")
    except ValueError as exc:
        problems.add(f"{QUALITY}: not valid JSON ({str(exc)[:120]})")
    return None


def _export_commit(verified: Verification, export: CommittedUnit) -> DecisionCheck:
    """Every dataset file is byte for byte what the export committed (its record's sha256)."""
    problems = Problems()
    record = export.record.files
    digests = dict(verified.report.file_digests)
    present = set(digests) | ({SHA256SUMS} if verified.report.dataset_digest else set())
    for name in sorted(set(record) - present):
        problems.add(f"{name}: committed by export but missing or unreadable in the dataset")
    for name in sorted(present - set(record)):
        problems.add(f"{name}: in the dataset but not in the export's commit record")
    for name, sha in sorted(digests.items()):
        if name in record and record[name].sha256 != sha:
            problems.add(
                f"{name}: sha256 differs from the export's commit record (changed after commit)"
            )
    summary_digest = export.record.summary.get("dataset_digest")
    if summary_digest and summary_digest != verified.report.dataset_digest:
        problems.add(
            f"{SHA256SUMS}: dataset digest {str(verified.report.dataset_digest)[:16]}… differs from "
            f"the one export committed ({str(summary_digest)[:16]}…)"
        )
    sums = record.get(SHA256SUMS)
    digest = verified.report.dataset_digest
    # the digest is the sha256 of SHA256SUMS, so the record's entry must equal it
    if sums is not None and digest is not None and sums.sha256 != digest:
        problems.add(f"{SHA256SUMS}: differs from the export's commit record")
    return _integrity(
        EXPORT_COMMIT,
        not problems,
        {"files": len(record)},
        f"{len(record)} files as committed by export"
        if not problems
        else f"{len(problems)} problem(s)",
        problems.lines,
    )


def threshold_checks(metrics: Metrics, t: Thresholds) -> list[DecisionCheck]:
    """One overridable check per threshold the config sets; a metric that could not be
    computed fails."""
    out = []
    for name, field_name, op in THRESHOLDS:
        value = getattr(metrics, name)
        limit = getattr(t, field_name)
        if limit is None:
            continue  # a threshold this config version does not have
        ok = value is not None and OPS[op](value, limit)
        summary = (
            f"{name} = {value} ({op} {limit} required)"
            if value is not None
            else f"{name} could not be computed ({_why_none(name, metrics)})"
        )
        details = [] if ok else [summary]
        if name == "initial_state_spread" and not ok:
            details += _spread_details(metrics, limit)
        if (
            name == "episodes_per_task"
            and not ok
            and metrics.detail.get("successful_episodes_per_task")
        ):
            short = {
                k: v for k, v in metrics.detail["successful_episodes_per_task"].items() if v < limit
            }
            details.append(f"tasks below {limit}: {json.dumps(short)[:400]}")
        out.append(
            DecisionCheck(
                name=name,
                kind="threshold",
                value=value,
                threshold=limit,
                op=op,
                passed=ok,
                overridable=True,
                summary=summary,
                details=details,
            )
        )
    return out


def _why_none(name: str, metrics: Metrics) -> str:
    doc = metrics.detail.get("initial_state") or {}
    if name == "initial_state_spread" and doc.get("note"):
        return str(doc["note"])
    if name == "initial_state_spread" and doc:
        return (
            f"{doc.get('groups_measured', 0)} (scene, variant, task) groups have 2 or more "
            "episodes with objects to compare; repeated episodes are needed to measure diversity"
        )
    return "see the integrity checks"


def _spread_details(metrics: Metrics, limit: float) -> list[str]:
    doc = metrics.detail.get("initial_state") or {}
    low = [
        f"{g['scene_id']}/{g['variant_id']}/{g['task_id']}: {g['object_spread_m']} m over {g['episodes']} episodes"
        for g in doc.get("groups") or []
        if g.get("object_spread_m") is not None and g["object_spread_m"] < limit
    ]
    return [f"groups below {limit} m: {'; '.join(low[:20])}"] if low else []


__all__ = ["GateStage", "threshold_checks"]
