"""Assemble everything a report shows, and the numbers behind it (``report.json``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from bp_sdk.storage import Storage

from bp_report.collect import Snapshot, UnitState
from bp_report.cost import CostEstimate, PriceTable, ResourceTable, estimate, prices_json
from bp_report.episodes import Episodes, Frame, read_episodes, sample_frames
from bp_report.gate import DeliveryView, GateView, delivery_view, gate_view
from bp_report.plots import Plot, render_plots
from bp_report.summary import episode_summary

REPORT_SCHEMA: Final = "bp.report/v1"


@dataclass
class Report:
    """One report: the snapshot and everything derived from it."""

    report_id: str
    snap: Snapshot
    as_of: datetime | None
    episodes: Episodes
    summary: dict[str, Any]
    frames: list[Frame]
    gate: GateView
    delivery: DeliveryView
    cost: CostEstimate
    prices: PriceTable
    resources: ResourceTable
    plots: dict[str, Plot] = field(default_factory=dict)

    @property
    def problems(self) -> list[str]:
        """What could not be read (shown on the page, listed in report.json)."""
        return self.episodes.problems + self.gate.problems + self.delivery.problems


def as_of(snap: Snapshot) -> datetime | None:
    """The newest commit, failure or approval in the snapshot."""
    times = [t for t in [snap.as_of()] if t is not None]
    times += [a.created_at for a, _ in snap.approvals]
    return max(times) if times else None


def build_report(
    storage: Storage,
    snap: Snapshot,
    report_id: str,
    prices: PriceTable,
    table: ResourceTable,
    sample_episodes: int,
) -> Report:
    """Read what the snapshot's commit records name and derive every section."""
    at = as_of(snap)
    eps = read_episodes(snap, storage)
    frames = sample_frames(eps, sample_episodes)
    gate = gate_view(storage, snap, at) if at is not None else gate_view_never(snap)
    delivery = delivery_view(storage, snap)
    cost = estimate(snap, prices, table, len(eps.rows))
    report = Report(
        report_id,
        snap,
        at,
        eps,
        episode_summary(eps.rows),
        frames,
        gate,
        delivery,
        cost,
        prices,
        table,
    )
    report.plots = render_plots(snap, eps.rows, cost)
    return report


def gate_view_never(snap: Snapshot) -> GateView:
    """A snapshot with nothing in it: nothing was gated."""
    return GateView("not run", bad_approvals=snap.bad_approvals)


# ------------------------------------------------------------------------------- report.json
def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t is not None else None


def _unit_json(u: UnitState) -> dict[str, Any]:
    r = u.record
    return {
        "stage": u.stage,
        "label": u.label,
        "source": u.source,
        "shard": {"index": u.unit.shard_index, "count": u.unit.shard_count}
        if u.unit.shard_index is not None
        else None,
        "status": u.status,
        "attempt_id": r.attempt.attempt_id if r else None,
        "execution": r.attempt.execution if r else None,
        "started_at": _iso(r.started_at) if r else None,
        "committed_at": _iso(r.committed_at) if r else None,
        "seconds": u.seconds,
        "files": len(r.files) if r else 0,
        "bytes": sum(f.size for f in r.files.values()) if r else 0,
        "error": u.error,
        "failed_attempts": [
            {
                "attempt_id": m.attempt_id,
                "execution": m.execution,
                "failed_at": _iso(m.failed_at),
                "error_type": m.error_type,
                "permanent": m.permanent,
                "exit_code": m.exit_code,
                "message": m.message,
                "problems": m.problems[:20],
                "next_step": m.next_step,
            }
            for m in u.markers
        ],
    }


def _gate_json(g: GateView) -> dict[str, Any]:
    d = g.decision
    return {
        "status": g.status,
        "passed": d.passed if d else None,
        "failed": d.failed if d else [],
        "dataset_digest": d.dataset_digest if d else None,
        "config": d.config.model_dump() if d else None,
        "checks": [c.model_dump(mode="json") for c in d.checks] if d else [],
        "approvals": [
            {
                "approval_id": a.approval.approval_id,
                "approver": a.approval.approver.principal,
                "checks": a.approval.checks,
                "reason": a.approval.reason,
                "created_at": _iso(a.approval.created_at),
                "expires_at": _iso(a.approval.expires_at),
                "sha256": a.sha256,
                "valid": a.valid,
                "problems": a.problems,
            }
            for a in g.approvals
        ],
        "approved_by": g.approved_by.approval.approval_id if g.approved_by else None,
        "unreadable_approvals": g.bad_approvals,
        "marker": {"message": g.marker.message, "next_step": g.marker.next_step}
        if g.marker
        else None,
    }


def _delivery_json(v: DeliveryView) -> dict[str, Any]:
    r = v.record
    return {
        "status": v.status,
        "destination": r.destination if r else None,
        "customer_id": r.customer_id if r else None,
        "dataset_digest": r.dataset_digest if r else None,
        "files": len(r.files) if r else None,
        "total_bytes": r.total_bytes if r else None,
        "delivered_at": _iso(r.delivered_at) if r else None,
        "delivered_by": r.delivered_by if r else None,
        "approval_id": r.approval.approval_id if r and r.approval else None,
        "marker": {"message": v.marker.message, "next_step": v.marker.next_step}
        if v.marker
        else None,
    }


def report_json(report: Report) -> dict[str, Any]:
    """The numbers behind the page."""
    s = report.snap
    return {
        "schema": REPORT_SCHEMA,
        "report_id": report.report_id,
        "scope": s.scope,
        "scene_id": s.scene,
        "run_id": s.run,
        "dataset_id": s.dataset,
        "sources": [f"{scene}/{run}" for scene, run in s.sources],
        "as_of": _iso(report.as_of),
        "stages": [{"stage": v.stage, "source": v.source, "status": v.status} for v in s.stages],
        "units": [_unit_json(u) for u in s.units()],
        "episodes": {"origin": report.episodes.origin, **report.summary},
        "frames": [
            {"episode_id": f.episode_id, "camera": f.camera, "index": f.index, "of": f.of}
            for f in report.frames
        ],
        "gate": _gate_json(report.gate),
        "delivery": _delivery_json(report.delivery),
        "cost": report.cost.to_json(report.prices),
        "prices": prices_json(report.prices),
        "resources": report.resources.model_dump(by_alias=True),
        "plots": sorted(report.plots),
        "problems": report.problems,
    }


__all__ = ["REPORT_SCHEMA", "Report", "build_report", "report_json"]
