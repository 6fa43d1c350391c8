"""The page's gate, delivery and estimated-cost sections."""

from __future__ import annotations

from bp_dataset.decision import DecisionCheck
from bp_sdk.markers import FailureMarker

from bp_report.build import Report
from bp_report.gate import GateView
from bp_report.markup import esc, figure, number, pill, section, size, table, tag, usd, when

MAX_PROBLEMS = 8
MAX_DETAILS = 3
LIMITS = (
    "List prices only: no free tier, committed-use or negotiated discounts, taxes or egress.",
    (
        "Compute covers each committed attempt from the start of its work to its commit: "
        "container start-up, image pulls and failed or superseded attempts are not costed."
    ),
    (
        "Storage is priced per month kept, for committed files only "
        "(uncommitted attempt folders are removed by bp cleanup)."
    ),
    "Class B operations are estimated from each unit's declared inputs; listings are not counted.",
    "Workflow steps are an assumed number per stage execution, not counted steps.",
    "This report's own run is not included.",
)


def marker_box(m: FailureMarker, label: str, path: str) -> str:
    """A failure marker for people: what failed, the message, the next step, the problems."""
    kind = "permanent" if m.permanent else "retryable"
    items = "".join(tag("li", esc(p)) for p in m.problems[:MAX_PROBLEMS])
    if len(m.problems) > MAX_PROBLEMS:
        items += tag("li", esc(f"… and {len(m.problems) - MAX_PROBLEMS} more (see the marker)"))
    return (
        f'<div class="failure"><div><strong>{esc(label)}</strong> {pill(kind, "bad")} '
        f"{esc(m.error_type)} at {esc(when(m.failed_at))} (attempt <code>{esc(m.attempt_id)}</code>)</div>"
        f'<div class="msg">{esc(m.message)}</div>'
        f'<div class="next"><strong>Next step:</strong> {esc(m.next_step)}</div>'
        + (f"<ul>{items}</ul>" if items else "")
        + f'<div class="mono">marker: {esc(path)}</div></div>'
    )


# ----------------------------------------------------------------------------------- gate
def _requirement(c: DecisionCheck) -> str:
    return "holds" if c.op == "holds" else f"{c.op} {c.threshold}"


def _check_row(c: DecisionCheck, g: GateView) -> list[str]:
    approval = g.approved_by
    if c.passed:
        verdict = pill("pass", "ok")
    elif approval is not None and c.name in approval.approval.checks:
        verdict = pill("fail · approved", "warn")
    else:
        verdict = pill("fail", "bad")
    extra = [d for d in c.details if d != c.summary]
    details = "".join(tag("div", esc(d), class_="mono") for d in extra[:MAX_DETAILS])
    if len(extra) > MAX_DETAILS:
        more = f"… {len(extra) - MAX_DETAILS} more in decision.json"
        details += tag("div", esc(more), class_="mono")
    kind = pill(c.kind, "info" if c.kind == "threshold" else "muted")
    return [
        tag("strong", esc(c.name)),
        kind,
        number(c.value),
        esc(_requirement(c)),
        verdict,
        esc(c.summary) + details,
    ]


def _approvals(g: GateView) -> str:
    if not g.approvals and not g.bad_approvals:
        return tag("p", "No approval records for this dataset.", class_="empty")
    rows = []
    for a in g.approvals:
        ap = a.approval
        state = pill("valid", "ok") if a.valid else pill("not valid", "bad")
        why = "".join(tag("div", esc(p)) for p in a.problems[:MAX_PROBLEMS])
        rows.append(
            [
                tag("code", esc(ap.approval_id)),
                esc(ap.approver.principal)
                + ("" if ap.approver.authenticated else " " + pill("unauthenticated", "warn")),
                esc(", ".join(ap.checks)),
                esc(ap.reason),
                esc(when(ap.created_at)),
                esc(when(ap.expires_at)),
                state + why,
            ]
        )
    out = table(["approval", "approver", "checks", "reason", "created", "expires", "status"], rows)
    out += "".join(tag("div", esc(b), class_="note") for b in g.bad_approvals)
    return out


def gate_section(r: Report) -> str:
    """Every check of the committed decision, the approvals, or why there is no decision."""
    g = r.gate
    lead = (
        "The gate's committed decision.json: every check with its value, requirement and verdict."
    )
    d = g.decision
    if d is None:
        body = tag("p", esc(f"Gate: {g.status}."), class_="empty")
        if g.marker is not None:
            body += marker_box(g.marker, "gate", "datasets/" + r.snap.dataset + "/gate")
        body += "".join(tag("div", esc(p), class_="note") for p in g.problems)
        return section("gate", "Gate decision", lead, body)
    head = pill("passed", "ok") if d.passed else pill(f"failed: {', '.join(d.failed)}", "bad")
    if not d.passed and g.approved_by is not None:
        head += " " + pill(f"approved by {g.approved_by.approval.approval_id}", "warn")
    facts = table(
        ["decision", "config", "dataset digest", "decided"],
        [
            [
                head,
                esc(f"{d.config.version} ({d.config.source})"),
                tag("code", esc(d.dataset_digest or "—")),
                esc(when(d.decided_at)),
            ]
        ],
    )
    integrity = [c for c in d.checks if c.kind == "integrity"]
    thresholds = [c for c in d.checks if c.kind == "threshold"]
    headers = ["check", "kind", "value", "requirement", "verdict", "summary"]
    body = facts
    body += "<h3>Threshold checks</h3>" + table(headers, [_check_row(c, g) for c in thresholds])
    body += "<h3>Integrity checks (never approvable)</h3>" + table(
        headers, [_check_row(c, g) for c in integrity]
    )
    body += "<h3>Approvals</h3>" + _approvals(g)
    return section("gate", "Gate decision", lead, body)


# ------------------------------------------------------------------------------- delivery
def delivery_section(r: Report) -> str:
    """Where the dataset was delivered, with its digest, or why it was not."""
    v = r.delivery
    lead = "Deliver's committed record: the verified copy's location and digest."
    rec = v.record
    if rec is None:
        body = tag("p", esc(f"Delivery: {v.status}."), class_="empty")
        if v.marker is not None:
            body += marker_box(v.marker, "deliver", f"datasets/{r.snap.dataset}/deliver")
        body += "".join(tag("div", esc(p), class_="note") for p in v.problems)
        return section("delivery", "Delivery", lead, body)
    rows = [
        ["location", tag("code", esc(rec.destination))],
        ["customer", esc(rec.customer_id)],
        ["dataset digest (sha256 of SHA256SUMS)", tag("code", esc(rec.dataset_digest))],
        ["files", esc(f"{len(rec.files):,} ({size(rec.total_bytes)})")],
        ["delivered", esc(f"{when(rec.delivered_at)} by {rec.delivered_by}")],
        [
            "gate",
            esc(f"{'passed' if rec.gate.passed else 'failed'} (config {rec.gate.config_version})"),
        ],
        ["approval", esc(rec.approval.approval_id if rec.approval else "none needed")],
    ]
    return section("delivery", "Delivery", lead, pill("delivered", "ok") + table(["", ""], rows))


# ----------------------------------------------------------------------------------- cost
def _price(value: float) -> str:
    """A list price as written on the price page: ``$0.0001867``, never ``1.8e-05``."""
    return "$" + (f"{value:.10f}".rstrip("0").rstrip(".") or "0")


def _usage_rows(r: Report) -> list[list[str]]:
    rows = []
    for key, quantity in r.cost.usage.items():
        p = r.prices.prices[key]
        per = "" if p.per == 1 else f" per {p.per:,.0f}"
        shown = f"{quantity:,.6g} {p.unit}"
        if key == "storage_standard_gib_month":
            shown = f"{size(r.cost.storage_bytes)} = {quantity:.6g} GiB × 1 month"
        rows.append(
            [
                esc(p.what),
                esc(shown),
                esc(f"{_price(p.usd)}{per} {p.unit}"),
                esc(usd(r.cost.usd[key])),
            ]
        )
    rows.append(
        [tag("strong", "total (estimate)"), "", "", tag("strong", esc(usd(r.cost.total_usd)))]
    )
    return rows


def _unit_rows(r: Report) -> list[list[str]]:
    out = []
    for c in r.cost.units:
        res = r.resources.of(c.stage)
        gpu = f" + {res.gpu}× {res.gpu_type}" if res.gpu else ""
        out.append(
            [
                tag("span", esc(c.label), class_="mono"),
                esc(f"{res.cpu:g} vCPU, {res.memory_gib:g} GiB{gpu}"),
                esc(f"{c.seconds:.1f}" if c.seconds is not None else "not recorded"),
                esc(f"{c.vcpu_s:,.1f}"),
                esc(f"{c.gib_s:,.1f}"),
                esc(f"{c.gpu_s:,.1f}"),
                esc(usd(c.usd)),
            ]
        )
    return out


def cost_section(r: Report) -> str:
    """The estimate: plot, usage × prices, per-unit compute, the price table and its limits."""
    p, c = r.prices, r.cost
    lead = (
        f"An estimate, not a bill: measured usage × {p.currency} list prices for {p.region} "
        f"read on {p.read_on}."
    )
    per = (
        f"{usd(c.per_1000_episodes_usd)} per 1,000 episodes ({c.episodes} episodes), of which "
        f"the episodes job (compute) {usd(c.episodes_job_per_1000_usd)}"
        if c.episodes
        else "no episodes"
    )
    body = (
        f'<p><span class="estimate">Estimate</span> {tag("strong", esc(usd(c.total_usd)))} for this '
        f"{esc(r.snap.scope)} · {esc(per)}.</p>"
    )
    body += figure(r.plots.get("cost"))
    body += table(["item", "measured", "list price", "cost"], _usage_rows(r), numeric=(3,))
    body += "<h3>Compute by unit</h3>" + table(
        ["unit", "Cloud Run job", "seconds", "vCPU-s", "GiB-s", "GPU-s", "cost"],
        _unit_rows(r),
        numeric=(2, 3, 4, 5, 6),
    )
    if c.unmeasured:
        body += tag(
            "div",
            esc(
                f"No start time recorded (older commit records), not costed: {', '.join(c.unmeasured)}"
            ),
            class_="note",
        )
    prices = [
        [
            esc(x.what),
            esc(_price(x.usd) + ("" if x.per == 1 else f" per {x.per:,.0f}") + f" {x.unit}"),
            tag("code", esc(x.source)),
        ]
        for x in p.prices.values()
    ]
    limits = "".join(tag("li", esc(x)) for x in LIMITS)
    if c.failed_attempts:
        limits += tag(
            "li",
            esc(
                f"{c.failed_attempts} failed attempt(s) are not costed (a failure marker has no start time)."
            ),
        )
    body += f"<h3>Price table ({esc(p.region)}, {esc(p.currency)}, read on {esc(p.read_on)})</h3>"
    body += table(["item", "list price", "source"], prices)
    body += f"<h3>What the estimate leaves out</h3><ul>{limits}</ul>"
    return section("cost", "Estimated cost", lead, body)


__all__ = ["cost_section", "delivery_section", "gate_section", "marker_box"]
