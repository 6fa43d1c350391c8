"""Structured logging in Cloud Logging's format, console format, redaction."""

from __future__ import annotations

import io
import json
import logging

import pytest
from bp_sdk.logs import LogContext, configure_logging, trace_name
from bp_sdk.redact import Redactor, format_traceback, sanitize_paths

LABELS = {"job": "bp-ingest", "scene": "s1", "run": "r1", "execution": "e1", "task": "0", "attempt": "0"}


@pytest.fixture
def restore_root() -> object:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield root
    for h in list(root.handlers):
        root.removeHandler(h)
    for h in handlers:
        root.addHandler(h)
    root.setLevel(level)


def _capture(fmt: str, secrets: list[str] | None = None, trace: str | None = None) -> io.StringIO:
    buf = io.StringIO()
    configure_logging(LogContext(labels=LABELS, trace=trace, redactor=Redactor(secrets or [])), fmt=fmt, stream=buf)
    return buf


def test_json_line_has_cloud_logging_fields(restore_root: object) -> None:
    """Each record is one JSON line with severity, message, labels, trace and source location."""
    buf = _capture("json", trace="projects/p/traces/abc")
    logging.getLogger("t").warning("hello %s", "world", extra={"fields": {"objects": 3}})
    line = buf.getvalue().strip()
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["severity"] == "WARNING"
    assert entry["message"] == "hello world"
    assert entry["logging.googleapis.com/labels"] == LABELS
    assert entry["logging.googleapis.com/trace"] == "projects/p/traces/abc"
    assert entry["logging.googleapis.com/sourceLocation"]["function"] == "test_json_line_has_cloud_logging_fields"
    assert entry["objects"] == 3
    assert entry["time"].endswith("Z")


def test_secret_redacted_everywhere(restore_root: object) -> None:
    """A planted secret never appears in message, args, extra fields or tracebacks."""
    secret = "sk-planted-0123456789"
    buf = _capture("json", secrets=[secret])
    log = logging.getLogger("t")
    log.info("token is %s", secret, extra={"fields": {"auth": f"Bearer {secret}", "nested": {"k": [secret]}}})
    try:
        raise ValueError(f"bad key {secret}")
    except ValueError:
        log.exception("failed")
    out = buf.getvalue()
    assert secret not in out
    assert out.count("**redacted**") >= 4
    for line in out.strip().splitlines():
        json.loads(line)  # still valid JSON after redaction


def test_console_format_readable_and_redacted(restore_root: object) -> None:
    """The console format shows time, level, job/scene/run and redacts secrets."""
    buf = _capture("console", secrets=["p4ssw0rd!"])
    logging.getLogger("t").error("login with p4ssw0rd! failed", extra={"fields": {"user": "bob"}})
    line = buf.getvalue()
    assert "ERROR" in line and "[bp-ingest s1/r1]" in line and "user=bob" in line
    assert "p4ssw0rd!" not in line


def test_secret_with_json_escapes_redacted(restore_root: object) -> None:
    """A secret containing quotes or backslashes is redacted in its JSON-escaped form too."""
    secret = 'a"b\\c-secret'
    buf = _capture("json", secrets=[secret])
    logging.getLogger("t").info("value %s", secret)
    assert "b\\\\c-secret" not in buf.getvalue()
    assert json.loads(buf.getvalue())["message"] == "value **redacted**"


def test_trace_name() -> None:
    """Bare trace ids become full resource names when the project is known."""
    assert trace_name("abc/123;o=1", "proj") == "projects/proj/traces/abc"
    assert trace_name("projects/x/traces/y", "proj") == "projects/x/traces/y"
    assert trace_name(None, "proj") is None


def test_tracebacks_have_no_absolute_paths() -> None:
    """Sanitised tracebacks keep package-relative files, never the user's absolute paths."""
    try:
        open("/definitely/not/here/file.txt")  # noqa: PTH123, SIM115
    except OSError as exc:
        text = format_traceback(type(exc), exc, exc.__traceback__)
    assert "/definitely/not/here" not in text
    assert "/work/" not in text and "/home/" not in text and "/root/" not in text
    assert "test_logging.py" in text


def test_sanitize_paths_site_packages() -> None:
    """A site-packages path keeps only the package-relative part."""
    text = 'File "/root/.venv/lib/python3.11/site-packages/bp_sdk/runner.py", line 3'
    assert sanitize_paths(text) == 'File "bp_sdk/runner.py", line 3'


def test_short_values_not_treated_as_secrets() -> None:
    """Values shorter than 4 characters are not redacted (they would blank normal text)."""
    r = Redactor(["ab", ""])
    assert r.text("abc") == "abc"
