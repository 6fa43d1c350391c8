"""The report in a real headless browser (Debian's Chromium through Playwright's Python API):
it loads offline with no console errors, every plot and image decodes; a screenshot is kept.

Chromium: ``bash scripts/chromium.sh`` (Debian package). Without it this test is skipped,
except when ``CI`` is set: then it fails.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.gate.helpers import Store
from tests.report.helpers import committed, plots_in

pytestmark = pytest.mark.slow

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACT = REPO / "build" / "test-artifacts" / "report.png"


def _chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        message = "Chromium is not installed: run `bash scripts/chromium.sh` (Debian package)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def test_report_loads_offline_with_every_plot_and_image(full: Store, tmp_path: Path) -> None:
    """No network request, no console or page error, every <img> decoded, every plot shown."""
    from playwright.sync_api import Route, sync_playwright

    chromium = _chromium()
    got = committed(full, "full-1")
    assert got is not None
    page_file = tmp_path / "report.html"
    page_file.write_text(got.html, encoding="utf-8")
    url = page_file.as_uri()
    attempted: list[str] = []
    errors: list[str] = []

    def route(r: Route) -> None:
        if r.request.url == url:
            r.continue_()
        else:
            attempted.append(r.request.url)
            r.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.route("**/*", route)
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on(
                "requestfailed",
                lambda r: errors.append(f"request failed: {r.url}") if r.url != url else None,
            )
            page.goto(url, wait_until="load")
            images: list[dict[str, Any]] = page.evaluate(
                """() => Array.from(document.images).map(i => ({
                    plot: i.dataset.plot || null, complete: i.complete,
                    width: i.naturalWidth, height: i.naturalHeight}))"""
            )
            shown = page.evaluate("() => document.querySelectorAll('img[data-plot]').length")
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, ARTIFACT)
    assert attempted == [], f"the page tried to fetch {attempted}"
    assert errors == [], errors
    assert images, "the page has images"
    broken = [i for i in images if not i["complete"] or i["width"] <= 0 or i["height"] <= 0]
    assert broken == [], broken
    plots = sorted(i["plot"] for i in images if i["plot"])
    assert plots == sorted(plots_in(got.html)) == got.numbers["plots"]
    assert shown == len(got.numbers["plots"]) >= 6
    frames = [i for i in images if not i["plot"]]
    assert len(frames) == len(got.numbers["frames"]) > 0
    assert shot.stat().st_size > 50_000
