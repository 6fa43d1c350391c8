"""Hostile names: control, surrogate and bidi characters are refused where people type text
(blueprint header, ``bp approve``), and every output escapes text for its format, so a
name made of markup goes through every stage to well-formed files that show it literally."""

from __future__ import annotations

import io
import json
import logging
import xml.etree.ElementTree as ET
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from bp_contracts.scene_manifest import SceneManifest
from bp_dataset.approval import Identity, create_approval
from bp_dataset.layout import LINEAGE
from bp_export.card_parts import licenses_section, lineage_section
from bp_ingest.preview import render_svg
from bp_sdk.commit import load_record, require_committed, require_unit
from bp_sdk.errors import ConfigError
from bp_sdk.logs import LogContext, configure_logging
from bp_sdk.runner import run_stage
from bp_sdk.storage import open_storage
from bp_sdk.text import (
    BIDI_CONTROLS,
    control_chars,
    describe,
    for_json_line,
    for_log,
    for_markdown,
    for_xml,
    text_problem,
    visible,
)
from markdown_it.common.utils import escapeHtml

from tests.conftest import EXAMPLES, job_env, put_scene
from tests.datasets import SCENE, export_dataset, record_episodes
from tests.deliver.helpers import approve, html, statement, tables
from tests.gate.helpers import Store, bp
from tests.ingest._support import Outcome, blueprint, ingest

HOSTILE_NAME = "<b>&\"'</b> ]]> --> {{x}} $x$ | # * _ Küche — 台所"
HOSTILE_DESCRIPTION = "<script>alert(1)</script> ]]>\n\tsecond line: & | `code` <!-- x"
HOSTILE_LICENSE = "CC0-1.0 <i>or</i> | `any` & *all*"
HOSTILE_REASON = "Reviewed <b>by ops</b> | SOW 14 & customer's pilot agreed: ]]> {{x}} $x$"
C0 = [chr(c) for c in range(0x20) if chr(c) not in "\n\t"]
C1 = [chr(c) for c in range(0x7F, 0xA0)]
SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff"]
BIDI = sorted(BIDI_CONTROLS)
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
SVG_TEXT = "{http://www.w3.org/2000/svg}text"
RAW_CONTROLS = set(C0 + C1 + SURROGATES + BIDI) - {"\r"}  # CR may end a line in a text file


# ------------------------------------------------------------------ the helpers (unit)


@pytest.mark.parametrize("ch", C0 + C1 + SURROGATES + BIDI, ids=lambda c: f"U+{ord(c):04X}")
def test_every_refused_character_is_found_with_its_position(ch: str) -> None:
    """Each C0/C1 control, lone surrogate and bidi override/isolate is found, counted from 1."""
    assert control_chars(f"ab{ch}c") == [(3, ch)]
    problem = text_problem("$.name", f"ab{ch}c")
    assert problem is not None and problem.where == "$.name"
    assert f"U+{ord(ch):04X}" in problem.message and "at position 3" in problem.message
    assert problem.hint.startswith("remove it")


def test_allowed_text_passes_and_exceptions_are_per_field() -> None:
    """Markup, non-ASCII, emoji and bidi marks pass; newline and tab only where allowed."""
    assert control_chars(HOSTILE_NAME) == []
    assert control_chars("שלום \u200f abc 🤖 \U0001f600") == []  # RLM is a mark, not an override
    assert control_chars("a\nb\tc", allow="\n\t") == []
    assert control_chars("a\nb\tc") == [(2, "\n"), (4, "\t")]
    assert control_chars("a\r\nb", allow="\n\t") == [(2, "\r")]


def test_one_problem_names_every_character_up_to_five() -> None:
    """Many refused characters make one problem: the first five named, the rest counted."""
    problem = text_problem("$.license", "\x1b\x07" + "x\u202e" * 6)
    assert problem is not None
    assert problem.message.startswith("contains 8 forbidden characters: U+001B (ESC) at position 1")
    assert "U+0007 (BEL) at position 2" in problem.message and "and 3 more" in problem.message
    assert describe("\u202e") == "U+202E (RIGHT-TO-LEFT OVERRIDE)"
    assert describe("\ud800") == "U+D800 (lone surrogate)"
    assert describe("\x9b") == "U+009B (C1 control character)"


def test_for_xml_is_well_formed_in_text_and_attributes() -> None:
    """Every refused character becomes a visible escape; the parsed value shows it literally."""
    hostile = HOSTILE_NAME + "".join(C0 + C1 + SURROGATES + BIDI) + "\ufffe\u200e"
    doc = f'<svg a="{for_xml(hostile)}"><text>{for_xml(hostile)}</text></svg>'
    root = ET.fromstring(doc.encode("utf-8"))  # noqa: S314 - text this test escaped
    assert root.get("a") == visible(hostile) == root[0].text
    assert "\\x1b" in visible(hostile) and "\\ud800" in visible(hostile)
    assert "\\u202e" in visible(hostile) and "\\u200e" in visible(hostile)
    assert for_xml(HOSTILE_NAME).count("<") == 0
    assert ET.fromstring(f"<t>{for_xml(HOSTILE_NAME)}</t>").text == HOSTILE_NAME  # noqa: S314


def test_for_markdown_renders_literally_without_controls() -> None:
    """A name of markup and controls is one line of literal text in rendered Markdown."""
    out = for_markdown(HOSTILE_NAME + "\x1b[2J\x07\r\n\u202e\ud800")
    assert not set(out) & (RAW_CONTROLS | {"\r", "\n"})
    rendered = html(f"- {out}\n")
    assert "<b>" not in rendered and "</b>" not in rendered
    assert escapeHtml(HOSTILE_NAME) in rendered


def test_for_log_and_json_lines_keep_controls_off_the_terminal() -> None:
    """Log text shows ESC, CR, BEL as escapes; a JSON line escapes what json.dumps leaves raw."""
    assert for_log("a\x1b[31mb\rc\x07d\u202ee\n\tf") == "a\\x1b[31mb\\x0dc\\x07d\\u202ee\n\tf"
    value = "C1 \x9b31m, bidi \u202e, separator \u2028, surrogate \ud800, Küche"
    line = for_json_line(json.dumps({"m": value}, ensure_ascii=False))
    assert not set(line) & (RAW_CONTROLS | {"\u2028"}) and "Küche" in line
    assert json.loads(line) == {"m": value}


@pytest.mark.parametrize("fmt", ["console", "json"])
def test_log_formatters_never_write_raw_controls(fmt: str) -> None:
    """Both log formats write a name with ESC, CR, C1 and bidi characters without raw ones."""
    buf = io.StringIO()
    configure_logging(LogContext(labels={"job": "bp-test"}), fmt=fmt, stream=buf)
    name = "Küche\x1b]0;pwned\x07\r\x9b2J\u202e\ud800"
    logging.getLogger("bp.test").warning("scene %s", name, extra={"fields": {"scene_name": name}})
    out = buf.getvalue()
    out.encode("utf-8")  # no lone surrogate left to break the stream
    assert not set(out.rstrip("\n")) & (RAW_CONTROLS | {"\r"}), repr(out)
    if fmt == "json":
        entry = json.loads(out)
        assert entry["message"] == f"scene {name}" and entry["scene_name"] == name
    else:
        assert "Küche\\x1b]0;pwned\\x07\\x0d\\x9b2J\\u202e\\ud800" in out


def test_card_escapes_names_licenses_and_gaps_from_older_data() -> None:
    """A lineage with control characters and markup (stored by an older version) renders as text."""
    evil = "Küche\x1b[2J <b>x</b> | # \u202e"
    lineage: dict[str, Any] = {
        "reproducible": {
            "licenses": {
                "dataset": "CC-BY-4.0",
                "inputs": [{"scene_id": "s", "blueprint": {"name": evil, "license": evil}}],
            }
        },
        "gaps": [f"the blueprint {evil} declares no license"],
    }
    card = "\n".join(licenses_section(lineage) + lineage_section(lineage))
    assert not set(card) & RAW_CONTROLS
    rendered = html(card)
    assert "<b>" not in rendered and rendered.count("Küche\ufffd[2J &lt;b&gt;x&lt;/b&gt; | #") == 3


# ------------------------------------------------------------------ ingest refuses


def _problems(outcome: Outcome) -> list[str]:
    marker = outcome.marker()
    assert marker.error_type == "InputError" and marker.permanent
    return marker.problems


def _nothing_committed(outcome: Outcome) -> None:
    assert load_record(outcome.storage, outcome.unit) is None
    others = [k for k in outcome.run_keys() if not k.endswith("/_FAILURE.json")]
    assert not [k for k in others if k.endswith((".json", ".svg"))], others


@pytest.mark.parametrize(
    "ch", ["\x1b", "\x07", "\r", "\u202e", "\x9b", "\u2066"], ids=lambda c: f"U+{ord(c):04X}"
)
def test_ingest_refuses_a_control_character_in_the_name(file_storage: Any, ch: str) -> None:
    """ESC, BEL, CR, C1 or a bidi override in the name: exit 3, one $.name problem, no commit."""
    put_scene(file_storage, "scene1", blueprint(name=f"Kitchen{ch}counter"))
    outcome = ingest(file_storage, "scene1")
    assert outcome.code == 3
    (problem,) = _problems(outcome)
    assert problem.startswith("$.name: contains 1 forbidden character: ")
    assert f"U+{ord(ch):04X}" in problem and "at position 8" in problem
    assert "(fix: remove it" in problem
    _nothing_committed(outcome)


def test_ingest_lists_one_problem_per_text_field(file_storage: Any) -> None:
    """Name, description and license each get one problem; newline and tab pass in the description."""
    bad = blueprint(
        name="a\x1bb\x07c",
        description="line\n\tline\r\n\u2067",
        license="MIT\x85",
    )
    put_scene(file_storage, "scene1", bad)
    outcome = ingest(file_storage, "scene1")
    assert outcome.code == 3
    problems = _problems(outcome)
    assert [p.split(":")[0] for p in problems] == ["$.name", "$.description", "$.license"]
    name, description, license_ = problems
    assert "2 forbidden characters: U+001B (ESC) at position 2, U+0007 (BEL) at position 4" in name
    assert "U+000D (CARRIAGE RETURN) at position 11" in description
    assert "U+2067 (RIGHT-TO-LEFT ISOLATE) at position 13" in description
    assert "U+000A" not in description and "U+0009" not in description
    assert "U+0085 (C1 control character) at position 4" in license_
    _nothing_committed(outcome)


def test_ingest_keeps_markup_names_and_draws_a_well_formed_svg(file_storage: Any) -> None:
    """A markup name round-trips in the manifest and the SVG; controls (older data) still parse."""
    put_scene(
        file_storage,
        "scene1",
        blueprint(name=HOSTILE_NAME, description=HOSTILE_DESCRIPTION, license=HOSTILE_LICENSE),
    )
    outcome = ingest(file_storage, "scene1")
    assert outcome.code == 0
    manifest = outcome.manifest()
    assert (manifest.name, manifest.description, manifest.license) == (
        HOSTILE_NAME,
        HOSTILE_DESCRIPTION,
        HOSTILE_LICENSE,
    )
    svg = require_unit(file_storage, outcome.unit).read_bytes("scene_topdown.svg")
    title = ET.fromstring(svg).find(SVG_TEXT)  # noqa: S314 - the stage's own committed file
    assert title is not None and (title.text or "").startswith(HOSTILE_NAME + " — top view")
    old = render_svg("Küche\x1b[2J\x00\r\u202e\ud800", manifest.objects, manifest.robot_base)
    title = ET.fromstring(old.encode("utf-8")).find(SVG_TEXT)  # noqa: S314 - rendered here
    assert title is not None and (title.text or "").startswith(
        "Küche\\x1b[2J\\x00\\x0d\\u202e\\ud800"
    )


# ------------------------------------------------------------------ every stage


class StrictHTML(HTMLParser):
    """Tags balanced (void elements aside), no raw control characters, nothing left open."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]} at {self.getpos()}")
        else:
            self.stack.pop()


def _no_nan(token: str) -> None:
    raise ValueError(f"not JSON: {token}")


def _check_file(path: Path) -> str:
    """Parse one file strictly for its type; the type checked ('' if none)."""
    data = path.read_bytes()
    kind = path.suffix.lower()
    if kind in {".xml", ".svg"}:
        ET.fromstring(data)  # noqa: S314 - files the stages committed
    elif kind == ".html":
        text = data.decode("utf-8")
        assert not set(text) & RAW_CONTROLS, path
        parser = StrictHTML()
        parser.feed(text)
        parser.close()
        assert not parser.errors and not parser.stack, (path, parser.errors, parser.stack)
    elif kind == ".json":
        json.loads(data.decode("utf-8"), parse_constant=_no_nan)
    elif kind == ".jsonl":
        for line in data.decode("utf-8").splitlines():
            json.loads(line, parse_constant=_no_nan)
    elif kind == ".md":
        text = data.decode("utf-8")
        assert not set(text) & RAW_CONTROLS, path
        rendered = html(text)
        for tag in ("<b>", "</b>", "<i>", "<script", "<!-- x"):
            assert tag not in rendered, (path, tag)
    else:
        return ""
    return kind


def _hostile_export(root: Path) -> Any:
    """kitchen_counter with hostile header text, through ingest → export (1 variant, 1 episode)."""
    from tests.episodes.conftest import UPSTREAM

    storage = open_storage(root.as_uri())
    put_scene(storage, SCENE, EXAMPLES / SCENE)
    scene = json.loads((EXAMPLES / SCENE / "scene.json").read_text())
    scene.update(name=HOSTILE_NAME, description=HOSTILE_DESCRIPTION, license=HOSTILE_LICENSE)
    put_scene(storage, SCENE, scene)
    env = job_env(storage, SCENE, run="r1", VARIATIONS_COUNT="1")
    for make in UPSTREAM:
        assert run_stage(make(), env) == 0, make.__name__
    record_episodes(storage, "r1", "core", tasks=1)
    return export_dataset(storage, "r1", "hostile-core")


@pytest.mark.slow
def test_hostile_name_goes_through_every_stage_to_well_formed_files(tmp_path: Path) -> None:
    """Markup names reach every stage's output as well-formed files that show them literally."""
    from bp_report.stage import ReportStage

    store = Store(_hostile_export(tmp_path / "build"), tmp_path / "store")
    code, decision = store.gate()
    assert code == 0 and decision is not None and not decision.passed
    checks = ",".join(decision.failed)
    args = ["--storage", store.storage.uri, "--dataset", store.dataset_id, "--checks", checks]
    args += ["--expires-in", "7d", "--local-identity"]
    refused = bp("approve", *args, "--reason", "Reviewed by ops\x1b[2J with the customer, SOW 14")
    assert refused.exit_code == 2 and "--reason" in refused.output, refused.output
    assert "U+001B (ESC) at position 16" in refused.output and "\x1b" not in refused.output
    assert not (store.path / "datasets" / store.dataset_id / "approvals").exists()
    configure_logging(LogContext(labels={"job": "test"}))  # the CLI's stream is closed now
    who = Identity(principal="ops\u202e@example.com", kind="user", authenticated=True, source="t")
    with pytest.raises(ConfigError) as err:
        create_approval(store.storage, store.dataset_id, decision.failed, HOSTILE_REASON, who,
                        timedelta(days=7))  # fmt: skip
    assert [p.where for p in err.value.problems] == ["approver"]
    approve(store, reason=HOSTILE_REASON)
    assert store.deliver() == 0
    assert run_stage(ReportStage(), store.env(REPORT_ID="hostile-1")) == 0

    checked: dict[str, int] = {}
    for path in sorted(p for p in store.path.rglob("*") if p.is_file()):
        kind = _check_file(path)
        checked[kind] = checked.get(kind, 0) + 1
    assert {".svg", ".xml", ".html", ".json", ".md"} <= set(checked), checked

    manifest = require_committed(store.storage, store.scene, store.run, "ingest").read_model(
        "scene_manifest.json", SceneManifest
    )
    assert (manifest.name, manifest.description, manifest.license) == (
        HOSTILE_NAME,
        HOSTILE_DESCRIPTION,
        HOSTILE_LICENSE,
    )
    delivered = store.delivery_dir()
    lineage = json.loads((delivered / LINEAGE).read_text(encoding="utf-8"))
    (source,) = lineage["reproducible"]["licenses"]["inputs"]
    assert source["blueprint"]["name"] == HOSTILE_NAME
    assert source["blueprint"]["license"] == HOSTILE_LICENSE
    card = html((delivered / "README.md").read_text(encoding="utf-8"))
    assert escapeHtml(HOSTILE_NAME) in card and escapeHtml(HOSTILE_LICENSE) in card
    approval_rows = {row[0]: row[1] for t in tables(statement(delivered)) for row in t.rows}
    assert approval_rows["Reason"] == HOSTILE_REASON
