"""HTML building blocks: escaping every string from data, tables, number formats.

Nothing from data reaches the page unescaped: :func:`esc` (``bp_sdk.text.for_html``)
turns control characters, surrogates and bidirectional overrides into visible
``\\xNN``/``\\uNNNN`` escapes (they are invalid or deceptive in HTML) and then HTML-escapes
``& < > " '``.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bp_sdk.text import for_html, visible

if TYPE_CHECKING:
    from bp_report.plots import Plot


def clean(text: str) -> str:
    """``text`` with control characters, surrogates and bidi overrides made visible."""
    return visible(text)


def esc(value: Any) -> str:
    """Any value as safe HTML text (or attribute value)."""
    return for_html(value if isinstance(value, str) else str(value))


def tag(name: str, body: str = "", **attrs: Any) -> str:
    """``<name attrs>body</name>``; attribute values escaped, ``class_`` → ``class``,
    ``data_x`` → ``data-x``; ``None``/``False`` attributes left out."""
    parts = [name]
    for key, value in attrs.items():
        if value is None or value is False:
            continue
        attr = key.rstrip("_").replace("_", "-")
        parts.append(attr if value is True else f'{attr}="{esc(value)}"')
    return f"<{' '.join(parts)}>{body}</{name}>"


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    class_: str = "grid",
    numeric: Iterable[int] = (),
) -> str:
    """A table; ``rows`` hold ready HTML (escape data with :func:`esc` first)."""
    right = set(numeric)
    head = "".join(
        tag("th", esc(h), class_="num" if i in right else None) for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(
            tag("td", cell, class_="num" if i in right else None) for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f'<div class="scroll"><table class="{class_}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def figure(plot: Plot | None) -> str:
    """A plot as ``<figure><img data-plot=…></figure>`` (nothing if absent)."""
    if plot is None:
        return ""
    img = f'<img src="{plot.uri}" alt="{esc(plot.caption)}" data-plot="{esc(plot.name)}">'
    return f"<figure>{img}{tag('figcaption', esc(plot.caption))}</figure>"


def section(key: str, title: str, lead: str, body: str) -> str:
    """``<section id=key>`` with a heading and a lead sentence."""
    lead_html = tag("p", esc(lead), class_="lead") if lead else ""
    return f'<section id="{esc(key)}"><h2>{esc(title)}</h2>{lead_html}{body}</section>'


def pill(text: str, kind: str) -> str:
    """A coloured label (ok, bad, warn, muted, info)."""
    return tag("span", esc(text), class_=f"pill {kind}")


def png_uri(data: bytes) -> str:
    """A PNG as a ``data:`` URI."""
    return "data:image/png;base64," + base64.b64encode(data).decode()


def when(value: datetime | None) -> str:
    """``2026-12-06 05:07:21 UTC`` or an em dash."""
    return f"{value:%Y-%m-%d %H:%M:%S} UTC" if value is not None else "—"


def seconds(value: float | None) -> str:
    """``42.6 s``, ``3 min 12 s`` or an em dash."""
    if value is None:
        return "—"
    if value < 120:
        return f"{value:.1f} s"
    minutes, secs = divmod(round(value), 60)
    if minutes < 120:
        return f"{minutes} min {secs:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def size(n: int | float) -> str:
    """``35.1 MiB``."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    return f"{value:,.1f} TiB"  # pragma: no cover - the loop returns


def usd(value: float | None) -> str:
    """Dollars with enough digits for tiny amounts: ``$0.000412``, ``$1.23``."""
    if value is None:
        return "—"
    if value == 0:
        return "$0"
    if abs(value) >= 1:
        return f"${value:,.2f}"
    digits = min(12, 2 - math.floor(math.log10(abs(value))))  # three significant digits
    return f"${value:.{digits}f}"


def rate(value: float | None) -> str:
    """``87.5%`` or an em dash."""
    return f"{100 * value:.1f}%" if value is not None else "—"


def number(value: Any) -> str:
    """A value from data for a table cell (escaped): floats rounded, dicts as k=v."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return esc(f"{value:.4g}")
    if isinstance(value, dict):
        return esc(", ".join(f"{k}={_short(v)}" for k, v in value.items()))
    if value is None:
        return "—"
    return esc(value)


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


__all__ = [
    "clean",
    "esc",
    "figure",
    "number",
    "pill",
    "png_uri",
    "rate",
    "seconds",
    "section",
    "size",
    "table",
    "tag",
    "usd",
    "when",
]
