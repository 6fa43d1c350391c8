"""Structured logging: Cloud Logging JSON lines, or a readable console format.

The JSON shape follows Cloud Logging's structured-logging contract (the same keys that
google-cloud-logging's ``StructuredLogHandler`` writes): ``severity``, ``message``,
``time``, ``logging.googleapis.com/labels``, ``logging.googleapis.com/trace``,
``logging.googleapis.com/sourceLocation``; any other key lands in ``jsonPayload``.
Secrets are redacted from the finished line, wherever they appear. Neither format lets
text from data put a raw control character on a terminal: the console line shows them as
``\\xNN`` escapes (``bp_sdk.text.for_log``), and the JSON line writes what ``json.dumps``
leaves raw (C1 controls, lone surrogates, bidi controls) as ``\\uXXXX``.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from bp_sdk.redact import Redactor, format_traceback
from bp_sdk.text import for_json_line, for_log

_RESERVED = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "fields"}
_SEVERITY = {
    logging.DEBUG: "DEBUG",
    logging.INFO: "INFO",
    logging.WARNING: "WARNING",
    logging.ERROR: "ERROR",
    logging.CRITICAL: "CRITICAL",
}


@dataclass
class LogContext:
    """Labels attached to every line of one job process."""

    labels: dict[str, str] = field(default_factory=dict)
    trace: str | None = None
    redactor: Redactor = field(default_factory=Redactor)


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    out: dict[str, Any] = {}
    extra = getattr(record, "fields", None)
    if isinstance(extra, dict):
        out.update(extra)
    for k, v in record.__dict__.items():
        if k not in _RESERVED and not k.startswith("_"):
            out[k] = v
    return out


class CloudJsonFormatter(logging.Formatter):
    """One JSON object per line in Cloud Logging's structured format."""

    def __init__(self, ctx: LogContext) -> None:
        super().__init__()
        self.ctx = ctx

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as one Cloud Logging JSON line."""
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + format_traceback(*record.exc_info)
        entry: dict[str, Any] = {
            "severity": _SEVERITY.get(record.levelno, "DEFAULT"),
            "message": message,
            "time": datetime.fromtimestamp(record.created, tz=UTC)
            .isoformat()
            .replace("+00:00", "Z"),
            "logger": record.name,
            "logging.googleapis.com/labels": dict(self.ctx.labels),
            "logging.googleapis.com/sourceLocation": {
                "file": record.filename,
                "line": str(record.lineno),
                "function": record.funcName,
            },
        }
        if self.ctx.trace:
            entry["logging.googleapis.com/trace"] = self.ctx.trace
        for k, v in _fields(record).items():
            entry.setdefault(k, v)
        line = json.dumps(entry, default=str, ensure_ascii=False)
        return for_json_line(self.ctx.redactor.text(line))


class ConsoleFormatter(logging.Formatter):
    """``HH:MM:SS LEVEL  [stage scene/run] message key=value`` for people."""

    def __init__(self, ctx: LogContext) -> None:
        super().__init__()
        self.ctx = ctx

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as one readable line (plus a sanitised traceback)."""
        when = datetime.fromtimestamp(record.created, tz=UTC).strftime("%H:%M:%S")
        labels = self.ctx.labels
        where = f"[{labels.get('job', '-')} {labels.get('scene', '-')}/{labels.get('run', '-')}]"
        extras = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        text = f"{when} {record.levelname:<7} {where} {record.getMessage()}"
        if extras:
            text += f"  {extras}"
        if record.exc_info:
            text += "\n" + format_traceback(*record.exc_info)
        return for_log(self.ctx.redactor.text(text))


def trace_name(trace_id: str | None, project: str | None) -> str | None:
    """Full trace resource name Cloud Logging expects, from a bare id or a full name."""
    if not trace_id:
        return None
    if trace_id.startswith("projects/") or not project:
        return trace_id
    return f"projects/{project}/traces/{trace_id.split('/')[0]}"


def configure_logging(
    ctx: LogContext,
    fmt: str = "json",
    level: str = "INFO",
    stream: TextIO | None = None,
) -> logging.Handler:
    """Install one handler on the root logger (replacing any other) and return it."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(CloudJsonFormatter(ctx) if fmt == "json" else ConsoleFormatter(ctx))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
