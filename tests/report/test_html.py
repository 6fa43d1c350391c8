"""The page is self-contained: no script, no stylesheet or font link, no URL but data: and #."""

from __future__ import annotations

import base64
import re

import pytest

from tests.gate.helpers import Store
from tests.report.helpers import committed, parse

pytestmark = pytest.mark.slow  # the fixture exports, gates and delivers a real dataset

URL_ATTRS = {"src", "href", "srcset", "poster", "action", "formaction", "data", "background", "xlink:href", "cite", "longdesc", "manifest", "ping"}  # fmt: skip
FORBIDDEN_TAGS = {"script", "link", "iframe", "object", "embed", "base", "frame", "audio", "video", "source", "svg"}  # fmt: skip


def _svg_documents(html: str) -> list[str]:
    out = []
    for t, attrs in parse(html).tags:
        src = attrs.get("src") or ""
        if t == "img" and src.startswith("data:image/svg+xml;base64,"):
            out.append(base64.b64decode(src.split(",", 1)[1]).decode())
    return out


def test_every_reference_is_inline(full: Store) -> None:
    """Every src/href is a data: URI or a #fragment; no element or CSS can fetch anything."""
    got = committed(full, "full-1")
    assert got is not None
    page = parse(got.html)
    for tag, attrs in page.tags:
        assert tag not in FORBIDDEN_TAGS, tag
        for name, value in attrs.items():
            if name in URL_ATTRS:
                assert value is not None and (value.startswith(("data:", "#"))), (
                    tag,
                    name,
                    value,
                )
            assert not (name == "http-equiv" and (value or "").lower() == "refresh")
            assert not name.startswith("on"), (tag, name)  # no event handlers
        if tag == "a":
            assert (attrs.get("href") or "").startswith("#")
    css = "".join(page.styles)
    assert "@import" not in css and "@font-face" not in css
    assert all(u.startswith("data:") for u in re.findall(r"url\(\s*['\"]?([^'\")]*)", css))
    assert sum(1 for t, _ in page.tags if t == "img") >= 6


def test_embedded_svg_plots_reference_nothing_outside(full: Store) -> None:
    """The SVG plots carry no script, no external href and no DTD URL."""
    got = committed(full, "full-1")
    assert got is not None
    svgs = _svg_documents(got.html)
    assert svgs, "the page embeds SVG plots"
    for svg in svgs:
        assert svg.startswith("<svg")
        assert "<script" not in svg and "<!DOCTYPE" not in svg and "<foreignObject" not in svg
        for href in re.findall(r'href="([^"]*)"', svg):
            assert href.startswith("#"), href
