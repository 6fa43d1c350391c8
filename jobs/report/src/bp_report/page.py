"""The report page: one self-contained HTML document (inline CSS, data-URI images).

There is no script, no stylesheet link, no font or image URL: every plot and frame is a
``data:`` URI, so the page renders the same offline, from a bucket or from an email.
Sections: header (scene, run, dataset, verdict), key numbers, stages (timeline, table,
failures), episodes, camera frames, gate, delivery, estimated cost.
"""

from __future__ import annotations

from datetime import datetime
from importlib import resources

from bp_report.build import Report
from bp_report.collect import StageView, UnitState
from bp_report.markup import (
    esc,
    figure,
    number,
    pill,
    png_uri,
    rate,
    seconds,
    section,
    size,
    table,
    tag,
    usd,
    when,
)
from bp_report.sections import cost_section, delivery_section, gate_section, marker_box

STATUS_PILL = {
    "committed": "ok",
    "failed": "bad",
    "unreadable": "bad",
    "incomplete": "warn",
    "not run": "muted",
}


# --------------------------------------------------------------------------------- header
def verdict(r: Report) -> tuple[str, str]:
    """The headline: gate verdict, or where the run stopped."""
    g = r.gate
    if g.status == "passed":
        return "Gate passed", "ok"
    if g.status == "failed":
        failed = g.decision.failed if g.decision else []
        names = ", ".join(failed[:3]) + (f" and {len(failed) - 3} more" if len(failed) > 3 else "")
        text = f"Gate failed: {names}" if names else "Gate failed"
        return (f"{text} · approved", "warn") if g.approved_by else (text, "bad")
    broken = next((v for v in r.snap.stages if v.status in {"failed", "unreadable"}), None)
    if broken is not None:
        return f"Failed at {broken.stage}", "bad"
    if g.status in {"did not finish", "unreadable"}:
        return f"Gate {g.status}", "bad"
    return "Not gated yet", "muted"


def _header(r: Report) -> str:
    s = r.snap
    text, kind = verdict(r)
    badges = tag("span", esc(text), class_=f"verdict {kind}")
    if r.delivery.status == "delivered":
        badges += tag("span", "Delivered", class_="verdict ok")
    elif r.delivery.status in {"did not finish", "unreadable"}:
        badges += tag("span", "Delivery failed", class_="verdict bad")
    title = (
        f'{esc(s.scene)}<span class="sep">/</span>{esc(s.run)}'
        if s.scope == "run"
        else f"dataset {esc(s.dataset)}"
    )
    meta = {
        "scene": s.scene,
        "run": s.run,
        "dataset": s.dataset,
        "sources": ", ".join(f"{a}/{b}" for a, b in s.sources),
        "report id": r.report_id,
        "state as of": when(r.as_of),
    }
    dl = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in meta.items())
    kicker = f"BlueprintPipeline · {'run' if s.scope == 'run' else 'dataset'} report"
    return (
        f'<header class="top"><div class="inner"><div class="kicker">{esc(kicker)}</div>'
        f'<h1>{title}</h1><div>{badges}</div><dl class="meta">{dl}</dl></div></header>'
    )


def _card(label: str, value: str, sub: str = "") -> str:
    return (
        f'<div class="card"><div class="label">{esc(label)}</div>'
        f'<div class="value">{esc(value)}</div><div class="sub">{esc(sub)}</div></div>'
    )


def _cards(r: Report) -> str:
    views = r.snap.stages
    done = sum(v.status == "committed" for v in views)
    sm = r.summary
    quality = sm["quality"]["mean"]
    cards = [
        _card("stages committed", f"{done}/{len(views)}", _failed_note(views)),
        _card("episodes", str(sm["episodes"]), f"{rate(sm['success_rate'])} succeeded"),
        _card("mean quality", f"{quality:.3f}" if quality is not None else "—", "score 0–1"),
        _card("simulated time", seconds(sm["duration_s"]["total"]), "sum of episode durations"),
        _card("estimated cost", usd(r.cost.total_usd), f"list prices of {r.prices.read_on}"),
        _card("per 1,000 episodes", usd(r.cost.per_1000_episodes_usd), "estimate"),
    ]
    return f'<div class="cards">{"".join(cards)}</div>'


def _failed_note(views: list[StageView]) -> str:
    failed = [v.stage for v in views if v.status in {"failed", "unreadable"}]
    return f"failed: {', '.join(failed)}" if failed else "none failed"


def _toc(r: Report) -> str:
    items = [("stages", "Stages"), ("episodes", "Episodes"), ("frames", "Camera frames")]
    items += [("gate", "Gate"), ("delivery", "Delivery"), ("cost", "Estimated cost")]
    links = "".join(f'<a href="#{key}">{esc(name)}</a>' for key, name in items)
    return f'<nav class="toc">{links}</nav>'


# --------------------------------------------------------------------------------- stages
def _unit_row(u: UnitState, many: bool) -> list[str]:
    r = u.record
    name = f"{u.source}: {u.label}" if many and u.source else u.label
    return [
        tag("span", esc(name), class_="mono nowrap"),
        pill(u.status, STATUS_PILL.get(u.status, "muted")),
        tag("span", esc(r.attempt.attempt_id), class_="mono nowrap") if r else "—",
        tag("span", esc(_short_time(r.started_at if r else None)), class_="nowrap"),
        tag("span", esc(_short_time(r.committed_at if r else None)), class_="nowrap"),
        esc(seconds(u.seconds)),
        esc(str(len(r.files))) if r else "—",
        esc(size(sum(f.size for f in r.files.values()))) if r else "—",
        esc(str(len(u.markers))) if u.markers else "0",
    ]


def _short_time(value: datetime | None) -> str:
    return f"{value:%m-%d %H:%M:%S}" if value is not None else "—"


def failure_box(u: UnitState) -> str:
    """The newest failure of a unit: message, next step, problems, marker key."""
    m = u.last_marker
    if m is None:
        return ""
    later = " — a later attempt committed" if u.record is not None else ""
    return marker_box(m, u.label + later, u.unit.failure_path(m.attempt_id))


def _stages(r: Report) -> str:
    units = r.snap.units()
    many = len(r.snap.sources) > 1
    headers = [
        "unit",
        "status",
        "attempt",
        "started (UTC)",
        "committed (UTC)",
        "duration",
        "files",
        "bytes",
        "failed attempts",
    ]
    rows = [_unit_row(u, many) for u in units]
    failures = "".join(failure_box(u) for u in units if u.markers)
    unreadable = "".join(
        f'<div class="failure"><strong>{esc(u.label)}</strong>: {esc(u.error)}</div>'
        for u in units
        if u.error
    )
    body = figure(r.plots.get("timeline")) + table(headers, rows, numeric=(5, 6, 7, 8))
    if failures or unreadable:
        body += "<h3>Failed attempts</h3>" + unreadable + failures
    return section(
        "stages",
        "Stages",
        "Every unit the pipeline commits to, read from its commit record (_SUCCESS.json) or its failure markers.",
        body,
    )


# ------------------------------------------------------------------------------- episodes
def _episodes(r: Report) -> str:
    sm = r.summary
    origin = (
        "every episode the run's episodes stage committed (successes and failures)"
        if r.episodes.origin == "episodes"
        else "the dataset's meta/quality.json (the exported episodes)"
    )
    if not sm["episodes"]:
        return section(
            "episodes",
            "Episodes",
            f"From {origin}.",
            tag("p", "No committed episodes yet.", class_="empty"),
        )
    tasks = [
        [
            esc(t),
            esc(str(v["episodes"])),
            esc(str(v["successes"])),
            esc(rate(v["success_rate"])),
            number(v["mean_quality"]),
        ]
        for t, v in sm["per_task"].items()
    ]
    body = figure(r.plots.get("task-success"))
    body += table(
        ["task", "episodes", "successes", "success rate", "mean quality"],
        tasks,
        numeric=(1, 2, 3, 4),
    )
    body += (
        f'<div class="row">{figure(r.plots.get("quality"))}{figure(r.plots.get("durations"))}</div>'
    )
    body += figure(r.plots.get("contacts"))
    c, d, s = sm["collisions"], sm["drops"], sm["slips"]
    body += table(
        ["", "episodes with any", "total"],
        [
            [
                "robot–environment collision frames",
                esc(str(c["episodes_with_collisions"])),
                esc(str(c["collision_frames"])),
            ],
            ["object drops", esc(str(d["episodes_with_drops"])), esc(str(d["drops"]))],
            ["slips", esc(str(s["episodes_with_slips"])), esc(str(s["slips"]))],
        ],
        numeric=(1, 2),
    )
    if sm["failure_reasons"]:
        body += "<h3>Why episodes failed</h3>" + table(
            ["reason", "episodes"],
            [[esc(k), esc(str(v))] for k, v in sm["failure_reasons"].items()],
            numeric=(1,),
        )
    if r.episodes.problems:
        body += "<h3>Could not read</h3>" + "".join(
            tag("div", esc(p), class_="note") for p in r.episodes.problems
        )
    return section("episodes", "Episodes", f"{sm['episodes']} episodes, from {origin}.", body)


def _frames(r: Report) -> str:
    if not r.frames:
        return section(
            "frames",
            "Camera frames",
            "",
            tag("p", "No committed episode data to show frames of.", class_="empty"),
        )
    by_episode: dict[str, dict[str, list[str]]] = {}
    status: dict[str, bool] = {}
    for f in r.frames:
        status[f.episode_id] = f.success
        img = f'<img src="{png_uri(f.png)}" alt="{esc(f"{f.camera} frame {f.index}")}">'
        cap = tag("figcaption", esc(f"frame {f.index + 1}/{f.of}"))
        by_episode.setdefault(f.episode_id, {}).setdefault(f.camera, []).append(
            f"<figure>{img}{cap}</figure>"
        )
    blocks = []
    for eid, cams in by_episode.items():
        ok = status[eid]
        title = f'<div class="title">{pill("success" if ok else "failure", "ok" if ok else "bad")} <code>{esc(eid)}</code></div>'
        strips = "".join(
            f'<div class="cam"><div class="name">{esc(cam)}</div><div class="strip">{"".join(figs)}</div></div>'
            for cam, figs in cams.items()
        )
        blocks.append(f'<div class="episode-frames">{title}{strips}</div>')
    lead = "First, middle and last frame of every camera, from the committed episode data."
    return section("frames", "Camera frames", lead, f'<div class="frames">{"".join(blocks)}</div>')


def _css() -> str:
    return resources.files("bp_report").joinpath("report.css").read_text(encoding="utf-8")


def render(r: Report) -> str:
    """The whole page."""
    s = r.snap
    title = f"Report · {s.scene}/{s.run}" if s.scope == "run" else f"Report · dataset {s.dataset}"
    problems = "".join(
        tag("div", esc(p), class_="note") for p in r.gate.problems + r.delivery.problems
    )
    body = (
        _header(r)
        + "<main>"
        + _toc(r)
        + _cards(r)
        + problems
        + _stages(r)
        + _episodes(r)
        + _frames(r)
        + gate_section(r)
        + delivery_section(r)
        + cost_section(r)
        + f"<footer>Generated by bp-report · report {esc(r.report_id)} · self-contained: no scripts, no network.</footer>"
        + "</main>"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{_css()}</style></head><body>{body}</body></html>\n"
    )


__all__ = ["failure_box", "render", "verdict"]
