"""The report's plots: matplotlib (Agg, no pyplot state) → SVG → ``data:`` URIs.

Each plot is rendered on its own :class:`~matplotlib.figure.Figure` and embedded as an
``<img>`` with an SVG data URI, so plots share no ids or styles with the page and need
nothing from the network. Text from data goes through :func:`plot_text`: mathtext is
disabled by escaping ``$``, control characters and glyphs the font lacks become ``?``.
"""

from __future__ import annotations

import base64
import functools
import io
import math
from dataclasses import dataclass
from datetime import datetime

import matplotlib
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font
from matplotlib.ticker import MaxNLocator

from bp_report.collect import Snapshot, UnitState
from bp_report.cost import CostEstimate
from bp_report.episodes import EpisodeRow

OK, BAD, NEUTRAL, INK, MUTED = "#2f9e6e", "#d9534f", "#4c72b0", "#222222", "#8a8f98"
STATUS_COLOUR = {"committed": OK, "failed": BAD, "unreadable": BAD, "not run": MUTED}
MAX_LABEL = 42
MAX_ROWS = 40


@dataclass(frozen=True)
class Plot:
    """One embedded plot: a name (``data-plot``), a caption and its SVG data URI."""

    name: str
    caption: str
    uri: str


@functools.lru_cache(maxsize=1)
def _glyphs() -> frozenset[int]:
    path = font_manager.findfont(
        font_manager.FontProperties(family=matplotlib.rcParams["font.family"])
    )
    return frozenset(FT2Font(path).get_charmap())


def plot_text(text: str, limit: int = MAX_LABEL) -> str:
    """``text`` safe for matplotlib: printable, in the font, no mathtext, at most ``limit``."""
    glyphs = _glyphs()
    chars = [c if c.isprintable() and ord(c) in glyphs else "?" for c in text]
    out = "".join(chars)
    if len(out) > limit:
        out = out[: limit - 1] + "…"
    return out.replace("$", r"\$")


def _uri(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    svg = buf.getvalue()
    start = svg.find(b"<svg")  # drop the XML declaration and the DOCTYPE (an external DTD URL)
    return "data:image/svg+xml;base64," + base64.b64encode(svg[start:]).decode()


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def _render(name: str, caption: str, draw: functools.partial[Figure]) -> Plot:
    with matplotlib.rc_context(
        {
            "svg.fonttype": "path",  # text as paths: the browser needs no font
            "svg.hashsalt": "bp-report",  # stable ids: the same data gives the same bytes
            "font.size": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titlesize": 10,
            "axes.titleweight": "bold",
        }
    ):
        fig = draw()
        return Plot(name, caption, _uri(fig))


# ------------------------------------------------------------------------------- timeline
def _start(u: UnitState) -> datetime | None:
    r = u.record
    if r is not None:
        return r.started_at or r.committed_at
    return u.markers[0].failed_at if u.markers else None


def _timeline(snap: Snapshot) -> Figure:
    units = snap.units()
    many = len(snap.sources) > 1
    times = [t for u in units if (t := _start(u)) is not None]
    t0 = min(times) if times else None
    fig = _figure(9.5, 0.9 + 0.3 * len(units))
    ax = fig.add_subplot()
    labels = []
    for y, u in enumerate(units):
        prefix = f"{u.source}: " if many and u.source else ""
        labels.append(plot_text(prefix + u.label, 48))
        _timeline_row(ax, y, u, t0)
    ax.set_yticks(range(len(units)), labels)
    ax.invert_yaxis()
    ax.set_xlabel(f"seconds since {t0:%Y-%m-%d %H:%M:%S} UTC" if t0 else "seconds")
    ax.set_xlim(left=0)
    ax.grid(axis="x", color="#e5e7eb", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.set_title("Stage timeline (committed attempts; × failed attempts)")
    return fig


def _timeline_row(ax: Axes, y: int, u: UnitState, t0: datetime | None) -> None:
    if t0 is None:
        _not_run(ax, y)
        return
    r = u.record
    if r is not None:
        start = ((r.started_at or r.committed_at) - t0).total_seconds()
        width = max((r.committed_at - (r.started_at or r.committed_at)).total_seconds(), 0.05)
        ax.barh(y, width, left=start, height=0.6, color=NEUTRAL if r.shard else OK)
        ax.text(start + width, y, f" {width:.1f}s", va="center", fontsize=7, color=INK)
    for m in u.markers:
        ax.plot([(m.failed_at - t0).total_seconds()], [y], "x", color=BAD, markersize=7, mew=2)
    if r is None and not u.markers:
        _not_run(ax, y)


def _not_run(ax: Axes, y: int) -> None:
    ax.text(
        0.005,
        y,
        "not run",
        va="center",
        color=MUTED,
        fontsize=8,
        transform=ax.get_yaxis_transform(),
    )


# -------------------------------------------------------------------------------- episodes
def _task_success(rows: list[EpisodeRow]) -> Figure:
    tasks: dict[str, list[bool]] = {}
    for r in rows:
        tasks.setdefault(r.task_id, []).append(r.success)
    names = sorted(tasks)[:MAX_ROWS]
    rates = [sum(tasks[t]) / len(tasks[t]) for t in names]
    fig = _figure(9.5, 0.9 + 0.28 * len(names))
    ax = fig.add_subplot()
    colours = [OK if r >= 0.999 else (NEUTRAL if r >= 0.5 else BAD) for r in rates]
    ax.barh(range(len(names)), rates, color=colours, height=0.6)
    for y, t in enumerate(names):
        ax.text(rates[y], y, f" {sum(tasks[t])}/{len(tasks[t])}", va="center", fontsize=8)
    ax.set_yticks(range(len(names)), [plot_text(t) for t in names])
    ax.invert_yaxis()
    ax.set_xlim(0, 1.12)
    ax.set_xlabel("success rate")
    shown = "" if len(tasks) <= MAX_ROWS else f" (first {MAX_ROWS} of {len(tasks)})"
    ax.set_title(f"Success rate per task{shown}")
    return fig


def _stacked_hist(
    ax: Axes, rows: list[EpisodeRow], values: list[float | None], bins: list[float]
) -> None:
    ok = [v for r, v in zip(rows, values, strict=True) if v is not None and r.success]
    bad = [v for r, v in zip(rows, values, strict=True) if v is not None and not r.success]
    ax.hist([ok, bad], bins=bins, stacked=True, color=[OK, BAD], label=["success", "failure"])
    ax.legend(frameon=False, fontsize=8)
    ax.set_ylabel("episodes")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))


def _quality(rows: list[EpisodeRow]) -> Figure:
    fig = _figure(6.0, 2.8)
    ax = fig.add_subplot()
    values = [r.quality for r in rows]
    _stacked_hist(ax, rows, values, [i / 20 for i in range(21)])
    known = [v for v in values if v is not None]
    if known:
        mean = sum(known) / len(known)
        ax.axvline(mean, color=INK, linestyle="--", linewidth=1)
        ax.text(mean, ax.get_ylim()[1] * 0.95, f" mean {mean:.3f}", fontsize=8, va="top")
    ax.set_xlim(0, 1)
    ax.set_xlabel("quality score")
    ax.set_title("Quality-score distribution")
    return fig


def _durations(rows: list[EpisodeRow]) -> Figure:
    fig = _figure(6.0, 2.8)
    ax = fig.add_subplot()
    values = [r.duration_s for r in rows]
    known = [v for v in values if v is not None]
    top = max(known) if known else 1.0
    step = max(top / 20, 0.05)
    _stacked_hist(ax, rows, values, [i * step for i in range(22)])
    ax.set_xlabel("episode duration (simulated seconds)")
    ax.set_title("Episode durations")
    return fig


def _contacts(rows: list[EpisodeRow]) -> Figure:
    fig = _figure(9.5, 2.6)
    left, right = fig.subplots(1, 2, width_ratios=[3, 2])
    frames = [r.collision_frames for r in rows]
    top = max(frames) if frames else 0
    step = max(1, math.ceil((top + 1) / 25))
    edges = [i * step - 0.5 for i in range(math.ceil((top + 1) / step) + 1)]
    left.hist(frames, bins=edges, color=BAD if top else OK, rwidth=0.85)
    left.set_xlim(-0.5, max(edges[-1], 4.5))
    left.xaxis.set_major_locator(MaxNLocator(integer=True))
    left.yaxis.set_major_locator(MaxNLocator(integer=True))
    left.set_xlabel("robot–environment collision frames per episode")
    left.set_ylabel("episodes")
    left.set_title("Collisions")
    kinds = ["collisions", "drops", "slips"]
    counts = [
        sum(r.collision_frames > 0 for r in rows),
        sum(r.drops > 0 for r in rows),
        sum(r.slips > 0 for r in rows),
    ]
    right.barh(kinds, counts, color=[BAD if c else OK for c in counts], height=0.55)
    for y, c in enumerate(counts):
        right.text(c, y, f" {c}/{len(rows)}", va="center", fontsize=8)
    right.invert_yaxis()
    right.set_xlim(0, max(len(rows), 1) * 1.2)
    right.xaxis.set_major_locator(MaxNLocator(integer=True))
    right.set_xlabel("episodes with at least one")
    right.set_title("Collisions, drops and slips")
    return fig


def _cost(est: CostEstimate) -> Figure:
    by_stage: dict[str, float] = {}
    for u in est.units:
        by_stage[u.stage] = by_stage.get(u.stage, 0.0) + u.usd
    items = [(f"{k} (compute)", v) for k, v in by_stage.items()]
    items += [
        ("storage (per month)", est.usd.get("storage_standard_gib_month", 0.0)),
        (
            "storage operations",
            est.usd.get("storage_class_a_ops", 0.0) + est.usd.get("storage_class_b_ops", 0.0),
        ),
        ("workflow steps", est.usd.get("workflows_internal_steps", 0.0)),
    ]
    fig = _figure(9.5, 0.9 + 0.28 * len(items))
    ax = fig.add_subplot()
    ax.barh(range(len(items)), [v for _, v in items], color=NEUTRAL, height=0.6)
    for y, (_, v) in enumerate(items):
        ax.text(v, y, f" ${v:.6f}", va="center", fontsize=8)
    ax.set_yticks(range(len(items)), [plot_text(k) for k, _ in items])
    ax.invert_yaxis()
    top = max((v for _, v in items), default=0.0)
    ax.set_xlim(0, top * 1.35 if top > 0 else 1)
    ax.set_xlabel("USD (estimate)")
    ax.set_title("Estimated cost by stage")
    return fig


def render_plots(snap: Snapshot, rows: list[EpisodeRow], est: CostEstimate) -> dict[str, Plot]:
    """Every plot the page embeds, by name (episode plots only when there are episodes)."""
    matplotlib.use("Agg")  # set in code: never a window, whatever MPLBACKEND says
    out = {
        "timeline": _render(
            "timeline",
            "Each committed attempt from the start of its work to its commit (blue: shards of a sharded stage, one row each); × marks a failed attempt.",
            functools.partial(_timeline, snap),
        )
    }
    if rows:
        out["task-success"] = _render(
            "task-success",
            "Share of episodes whose success predicate held, per task.",
            functools.partial(_task_success, rows),
        )
        out["quality"] = _render(
            "quality",
            "Composite quality score (0–1) of every episode.",
            functools.partial(_quality, rows),
        )
        out["durations"] = _render(
            "durations", "Simulated duration of every episode.", functools.partial(_durations, rows)
        )
        out["contacts"] = _render(
            "contacts",
            "Robot–environment collisions, object drops and slips.",
            functools.partial(_contacts, rows),
        )
    out["cost"] = _render(
        "cost",
        "Estimated cost: compute by stage, storage, operations, workflow steps.",
        functools.partial(_cost, est),
    )
    return out


__all__ = ["Plot", "plot_text", "render_plots"]
