"""The deliver stage: copy a passed or validly approved dataset, verify the copy, record it.

1. The gate decision must be committed for this dataset, and name the digest of the
   committed export as it is in storage now (a changed dataset needs a new decision).
2. A passed decision delivers. A failed one delivers only under one approval record that
   covers every failed check, answers this decision and digest, has not expired and, in
   production, comes from an authenticated identity listed in ``DELIVER_APPROVERS``.
   Otherwise the stage fails permanently, saying why for each approval it considered.
   No setting or environment variable changes this; nothing is approved by waiting.
3. Every file of ``meta/SHA256SUMS`` (and the file itself) is streamed to the destination,
   each checked against its sha256 on the way.
4. The copy is re-read from the destination and checked against SHA256SUMS (every file
   listed present with its sha256, nothing else there). A copy that does not verify
   stops here: no delivery record is written.
5. ``DELIVERY.md``, the statement for people (verdict, every check, the approval), then
   ``_DELIVERY.json``, naming the statement's sha256, last and create-if-absent, beside
   the copy; the stage's own commit (``datasets/<id>/deliver``) carries the same record.
   Neither is listed in ``meta/SHA256SUMS``: the dataset digest is unchanged.

A crash before the record is written leaves no delivery record: a partial copy (with or
without its statement) is never a delivery.
A re-delivery to a folder that holds this dataset's record keeps that record and renders
the same statement from it (see :mod:`bp_deliver.record`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime

from bp_dataset.approval import Approval, approval_problems, approval_summary, load_approvals
from bp_dataset.checksum_check import check_checksums
from bp_dataset.checksums import dataset_digest, parse_sums
from bp_dataset.decision import (
    DECISION_FILE,
    EXPORT_STAGE,
    GATE_STAGE,
    GateDecision,
    dataset_unit,
)
from bp_dataset.delivery import NOT_DATASET_FILES, DeliveredFile, DeliveryRecord, GateRef
from bp_dataset.layout import SHA256SUMS
from bp_dataset.root import DatasetRoot
from bp_sdk.commit import CommittedUnit, now, require_unit
from bp_sdk.digest import sha256_json
from bp_sdk.errors import PermanentError, Problem, RetryableError
from bp_sdk.layout import Unit, approvals_dir, delivery_dir
from bp_sdk.runner import Stage, StageContext, StageResult
from bp_sdk.storage import Storage, join, open_storage
from bp_sdk.version import code_version

from bp_deliver.copy import copy_all
from bp_deliver.record import (
    approval_ref,
    ensure_statement,
    existing_record,
    new_record,
    remove_leftovers,
    write_delivery,
)
from bp_deliver.settings import DeliverSettings
from bp_deliver.signing import sign_delivery

DELIVERY_COPY = "delivery.json"  # the record again, in the stage's committed output


class ApprovalRequired(PermanentError):  # noqa: N818 - named for what the run needs, as the workflow routes on it
    """The gate failed only threshold checks and no valid approval covers them: a person
    must decide (``bp approve``). The workflow routes on this error type (its marker's
    ``error_type``) to end a run as "needs approval" instead of "failed"."""


class DeliverStage(Stage[DeliverSettings]):
    """Deliver a dataset to a customer."""

    name = "deliver"
    distribution = "bp-deliver"
    settings_cls = DeliverSettings

    def __init__(self, open_destination: Callable[[str], Storage] = open_storage) -> None:
        self.open_destination = open_destination

    def unit(self, settings: DeliverSettings) -> Unit:
        """``datasets/<dataset_id>/deliver``."""
        return Unit(settings.scene_id, settings.run_id, self.name, dataset=settings.dataset())

    def inputs(self, settings: DeliverSettings, storage: Storage) -> dict[str, str]:
        """The committed export and gate, and every approval record (so a new approval is
        new input: a delivery refused for lack of one can run again once it exists)."""
        ds = settings.dataset()
        export = require_unit(storage, dataset_unit(ds, EXPORT_STAGE))
        gate = require_unit(storage, dataset_unit(ds, GATE_STAGE))
        approvals = sorted(
            (info.path, hashlib.sha256(storage.read_bytes(info.path)).hexdigest())
            for info in storage.list(approvals_dir(ds) + "/")
        )
        return {
            "export": export.record.outputs_digest,
            "gate": gate.record.outputs_digest,
            "approvals": sha256_json(approvals),
        }

    def run(self, ctx: StageContext[DeliverSettings]) -> StageResult:
        """Authorize, copy, verify the copy, write the record last."""
        s = ctx.settings
        ds = s.dataset()
        export = require_unit(ctx.storage, dataset_unit(ds, EXPORT_STAGE))
        gate = require_unit(ctx.storage, dataset_unit(ds, GATE_STAGE))
        decision = gate.read_model(DECISION_FILE, GateDecision)
        source = DatasetRoot(ctx.storage, export.record.attempt_dir)
        sums = source.read(SHA256SUMS)
        digest = dataset_digest(sums)
        _same_dataset(decision, export, digest)
        approval = authorize(ctx, decision, gate, datetime.now(tz=UTC))
        dest = self._destination(ctx.storage, s)
        existing = existing_record(dest, digest)
        listed = _listed(sums)
        for path in remove_leftovers(dest):
            ctx.log.info("removed %s, left at the destination by an interrupted write", path)
        if existing is None:
            ctx.log.info("copying %d files of dataset %s to %s", len(listed) + 1, ds, dest.label)
            _copied, problems = copy_all(
                source, dest, {**listed, SHA256SUMS: digest}, s.deliver_workers
            )
            if problems:
                raise RetryableError(
                    f"copy of dataset {ds} to {dest.label} failed for {len(problems)} files; "
                    "no delivery record was written",
                    problems=[
                        Problem(p.split(":", 1)[0], p.split(":", 1)[-1].strip()) for p in problems
                    ],
                )
        record = _verify_copy(ctx, dest, digest, decision, gate, approval, s)
        if existing is None:
            record = write_delivery(dest, record, decision)
        else:
            record = existing
            if ensure_statement(dest, record, decision):
                ctx.log.info("wrote %s again from the delivery record", "DELIVERY.md")
        ctx.output.write_bytes(DELIVERY_COPY, record.to_bytes())
        sign_delivery(ctx, dest.label, record)
        ctx.log.info(
            "delivered dataset %s (digest %s…) to %s: %d files, %d bytes%s",
            ds,
            digest[:16],
            dest.label,
            len(record.files),
            record.total_bytes,
            f", under approval {record.approval.approval_id}" if record.approval else "",
        )
        return StageResult(
            summary={
                "dataset_id": ds,
                "customer_id": s.customer_id(),
                "destination": dest.label,
                "dataset_digest": digest,
                "files": len(record.files),
                "bytes": record.total_bytes,
                "gate_passed": decision.passed,
                "approval_id": record.approval.approval_id if record.approval else None,
            }
        )

    def _destination(self, storage: Storage, s: DeliverSettings) -> DatasetRoot:
        if s.deliver_destination:
            return DatasetRoot(
                self.open_destination(s.deliver_destination), "", s.deliver_destination
            )
        if s.deliver_root:
            folder = join(s.customer_id(), s.dataset())
            return DatasetRoot(
                self.open_destination(s.deliver_root),
                folder,
                f"{s.deliver_root.rstrip('/')}/{folder}",
            )
        prefix = delivery_dir(s.customer_id(), s.dataset())
        return DatasetRoot(storage, prefix, f"{storage.uri}/{prefix}")


def _same_dataset(decision: GateDecision, export: CommittedUnit, digest: str) -> None:
    """The decision must be about exactly the dataset in storage now."""
    problems = []
    if decision.dataset_digest != digest:
        problems.append(
            Problem(
                SHA256SUMS,
                f"the dataset digest is {digest[:16]}… but the gate decided on "
                f"{str(decision.dataset_digest)[:16]}…",
            )
        )
    if decision.export.outputs_digest != export.record.outputs_digest:
        problems.append(Problem("export", "the committed export is not the one the gate read"))
    if problems:
        raise PermanentError(
            "the gate decision does not apply to the dataset in storage",
            problems=problems,
            next_step="Run the gate on the current export (a new dataset id), then deliver.",
        )


def authorize(
    ctx: StageContext[DeliverSettings], decision: GateDecision, gate: CommittedUnit, at: datetime
) -> Approval | None:
    """None if the gate passed; the approval that lets a failed gate through; else a
    permanent error saying why each approval on record does not."""
    if decision.passed:
        return None
    s = ctx.settings
    sha = gate.record.files[DECISION_FILE].sha256
    found, unreadable = load_approvals(ctx.storage, decision.dataset_id)
    valid: list[Approval] = []
    problems = [Problem("gate", f"failed checks: {', '.join(decision.failed)}")]
    for approval, _sha in found:
        why = approval_problems(
            approval, decision, sha, at, production=s.production, approvers=s.approvers()
        )
        if why:
            problems += [Problem(approval.path, w) for w in why]
        else:
            valid.append(approval)
    problems += [Problem(u.split(":", 1)[0], u.split(":", 1)[-1].strip()) for u in unreadable]
    if not valid:
        integrity = [n for n in decision.failed if (c := decision.check(n)) and not c.overridable]
        if integrity:
            step = f"Integrity checks failed ({', '.join(integrity)}): fix the data and export it again under a new dataset id; these are never approved."
        else:
            step = (
                f"Deliver only after an approver records `bp approve --dataset {decision.dataset_id} "
                f'--checks {",".join(decision.failed)} --reason "..." --expires-in 7d`'
                + (
                    " (an authenticated identity listed in DELIVER_APPROVERS)"
                    if s.production
                    else ""
                )
                + ", then run deliver again."
            )
        if not found:
            problems.append(
                Problem(
                    "approvals", f"no approval record under {approvals_dir(decision.dataset_id)}/"
                )
            )
        error = PermanentError if integrity else ApprovalRequired
        raise error(
            f"delivery of dataset {decision.dataset_id} refused: the gate failed and no valid approval covers it",
            problems=problems,
            next_step=step,
        )
    chosen = max(valid, key=lambda a: a.created_at)
    ctx.log.warning(
        "gate failed (%s) for dataset %s: delivering under approval %s; reason: %s",
        ", ".join(decision.failed),
        decision.dataset_id,
        approval_summary(chosen),
        chosen.reason,
        extra={
            "fields": {"approval_id": chosen.approval_id, "approver": chosen.approver.principal}
        },
    )
    return chosen


def _verify_copy(
    ctx: StageContext[DeliverSettings],
    dest: DatasetRoot,
    digest: str,
    decision: GateDecision,
    gate: CommittedUnit,
    approval: Approval | None,
    s: DeliverSettings,
) -> DeliveryRecord:
    """Re-read the copy and check it against SHA256SUMS; the record to write."""
    result = check_checksums(dest, s.deliver_workers)
    problems = list(result.result.problems)
    if result.digest != digest:
        problems.append(
            f"{SHA256SUMS}: the copy's digest {str(result.digest)[:16]}… is not {digest[:16]}…"
        )
    if problems:
        raise RetryableError(
            f"the delivered copy at {dest.label} does not verify against {SHA256SUMS}; "
            "no delivery record was written",
            problems=[Problem(p.split(":", 1)[0], p.split(":", 1)[-1].strip()) for p in problems],
            next_step="Retry the delivery; if it keeps failing, check the destination storage.",
        )
    sizes = {f.path: f.size for f in dest.files()}
    files = {
        p: DeliveredFile(size=sizes[p], sha256=sha) for p, sha in sorted(result.digests.items())
    }
    files[SHA256SUMS] = DeliveredFile(size=sizes[SHA256SUMS], sha256=digest)
    used = None
    if approval is not None:
        used = approval_ref(approval, ctx.storage.read_bytes(approval.path))
    return new_record(
        decision=decision,
        gate=GateRef(
            commit=dataset_unit(decision.dataset_id, GATE_STAGE).commit_path,
            decision_sha256=gate.record.files[DECISION_FILE].sha256,
            passed=decision.passed,
            failed=list(decision.failed),
            config_version=decision.config.version,
        ),
        customer_id=s.customer_id(),
        digest=digest,
        destination=dest.label,
        files=files,
        approval=used,
        delivered_by=f"{s.cloud_run_job or 'bp-deliver'} execution {s.cloud_run_execution} attempt {s.attempt_id}",
        delivered_at=now(),
        code_version=code_version(
            DeliverStage.distribution, s.build_revision, s.build_image_digest
        ),
    )


def _listed(sums: bytes) -> dict[str, str]:
    """``{path: sha256}`` of SHA256SUMS; a malformed file, or one that lists a name the
    delivery writes beside the dataset, is a permanent error."""
    listed, errors = parse_sums(sums)
    problems = [Problem(SHA256SUMS, f"line {e.line}: {e.problem}") for e in errors]
    problems += [
        Problem(SHA256SUMS, f"lists {name}, a name reserved for the delivery's own files")
        for name in sorted(NOT_DATASET_FILES & set(listed))
    ]
    if problems:
        raise PermanentError(f"{SHA256SUMS} of the export cannot be delivered", problems=problems)
    return listed
