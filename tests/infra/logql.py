"""A small evaluator of the Cloud Logging query language, for the filters in
infra/terraform/modules/monitoring, and of log-based metric extractors.

Supported (all the filters use, and a little more): comparisons ``path OP value`` with
``=  !=  >  >=  <  <=  =~  !~  :``, ``AND`` (also implicit), ``OR``, ``NOT`` / ``-``,
parentheses; paths like ``jsonPayload.event``, ``labels.stage``, ``resource.labels.job_name``,
``labels."run.googleapis.com/task_index"``; values as quoted strings or bare words;
``severity`` compared by rank. A comparison on a missing field is false. Extractors:
``EXTRACT(path)`` and ``REGEXP_EXTRACT(path, "regex")`` (one capture group).

:func:`log_entry` turns one JSON line a job prints into the LogEntry Cloud Logging stores
for a Cloud Run job (its documented structured-logging mapping): ``severity``, ``time``,
``logging.googleapis.com/labels|trace|sourceLocation|...`` become LogEntry fields; every
other key, ``message`` included, stays in ``jsonPayload``; the resource is
``cloud_run_job`` with the job name, and Cloud Run adds its execution/task labels.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

SEVERITY = {
    "DEFAULT": 0,
    "DEBUG": 100,
    "INFO": 200,
    "NOTICE": 300,
    "WARNING": 400,
    "ERROR": 500,
    "CRITICAL": 600,
    "ALERT": 700,
    "EMERGENCY": 800,
}
SPECIAL = {
    "logging.googleapis.com/labels": "labels",
    "logging.googleapis.com/trace": "trace",
    "logging.googleapis.com/spanId": "spanId",
    "logging.googleapis.com/sourceLocation": "sourceLocation",
    "logging.googleapis.com/insertId": "insertId",
    "logging.googleapis.com/operation": "operation",
    "logging.googleapis.com/trace_sampled": "traceSampled",
    "httpRequest": "httpRequest",
}
_TOKEN = re.compile(
    r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<op>>=|<=|!=|=~|!~|[=<>:()])|(?P<word>[^\s()"=<>:!]+(?:\."[^"]*")*[^\s()"=<>:!]*))'
)


class QueryError(Exception):
    """A query outside the supported subset."""


def log_entry(
    line: dict[str, Any], *, job: str, execution: str, task: int = 0, attempt: int = 0
) -> dict[str, Any]:
    """The LogEntry Cloud Logging stores for one JSON line of a Cloud Run job."""
    payload = dict(line)
    entry: dict[str, Any] = {
        "severity": payload.pop("severity", "DEFAULT"),
        "timestamp": payload.pop("time", None),
        "resource": {
            "type": "cloud_run_job",
            "labels": {"job_name": job, "location": "europe-west4", "project_id": "my-bp-project"},
        },
        "logName": "projects/my-bp-project/logs/run.googleapis.com%2Fstderr",
    }
    for key, field in SPECIAL.items():
        if key in payload:
            entry[field] = payload.pop(key)
    entry["labels"] = {
        **entry.get("labels", {}),
        "run.googleapis.com/execution_name": execution,
        "run.googleapis.com/task_index": str(task),
        "run.googleapis.com/task_attempt": str(attempt),
    }
    entry["jsonPayload"] = payload
    return entry


def _unescape(text: str) -> str:
    """A query string literal's escapes (``\\"`` and ``\\\\``); regex escapes stay."""
    return text.replace('\\"', '"').replace("\\\\", "\\")


def _split_path(path: str) -> list[str]:
    parts = re.findall(r'"([^"]*)"|([^.]+)', path)
    return [a or b for a, b in parts]


def field(entry: dict[str, Any], path: str) -> Any:
    """The value at ``path`` (None if missing)."""
    value: Any = entry
    for part in _split_path(path):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _compare(path: str, op: str, want: str, entry: dict[str, Any]) -> bool:
    got = field(entry, path)
    if got is None or isinstance(got, (dict, list)):
        return False
    if path == "severity":
        a, b = SEVERITY.get(str(got), 0), SEVERITY[want]
    elif (
        isinstance(got, (int, float))
        and not isinstance(got, bool)
        and re.fullmatch(r"-?\d+(\.\d+)?", want)
    ):
        a, b = float(got), float(want)
    else:
        a, b = _text(got), want
    if op == "=":
        return a == b
    if op == "!=":
        return a != b
    if op == ":":
        return str(b).lower() in str(a).lower()
    if op == "=~":
        return re.search(str(b), str(a)) is not None
    if op == "!~":
        return re.search(str(b), str(a)) is None
    table: dict[str, Callable[[Any, Any], bool]] = {
        ">": lambda x, y: x > y,
        ">=": lambda x, y: x >= y,
        "<": lambda x, y: x < y,
        "<=": lambda x, y: x <= y,
    }
    return table[op](a, b)


def _tokens(query: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(query):
        if query[pos:].strip() == "":
            break
        m = _TOKEN.match(query, pos)
        if m is None or m.end() == pos:
            raise QueryError(f"cannot read {query[pos : pos + 30]!r}")
        kind = m.lastgroup or ""
        text = m.group(kind)
        if kind == "str":
            text = _unescape(text[1:-1])
        out.append((kind, text))
        pos = m.end()
    return out


class _Query:
    def __init__(self, query: str) -> None:
        self.toks = _tokens(query)
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise QueryError("unexpected end of query")
        self.pos += 1
        return tok

    def parse_or(self) -> Callable[[dict[str, Any]], bool]:
        terms = [self.parse_and()]
        while self.peek() == ("word", "OR"):
            self.take()
            terms.append(self.parse_and())
        return lambda e: any(t(e) for t in terms)

    def parse_and(self) -> Callable[[dict[str, Any]], bool]:
        terms = [self.parse_not()]
        while (tok := self.peek()) is not None and tok not in {("word", "OR"), ("op", ")")}:
            if tok == ("word", "AND"):
                self.take()
            terms.append(self.parse_not())
        return lambda e: all(t(e) for t in terms)

    def parse_not(self) -> Callable[[dict[str, Any]], bool]:
        tok = self.peek()
        if tok == ("word", "NOT") or (tok is not None and tok[0] == "word" and tok[1] == "-"):
            self.take()
            inner = self.parse_not()
            return lambda e: not inner(e)
        if tok is not None and tok[0] == "word" and tok[1].startswith("-") and len(tok[1]) > 1:
            self.toks[self.pos] = ("word", tok[1][1:])
            inner = self.parse_not()
            return lambda e: not inner(e)
        return self.parse_atom()

    def parse_atom(self) -> Callable[[dict[str, Any]], bool]:
        tok = self.take()
        if tok == ("op", "("):
            inner = self.parse_or()
            if self.take() != ("op", ")"):
                raise QueryError("missing )")
            return inner
        if tok[0] != "word":
            raise QueryError(f"expected a field, got {tok[1]!r}")
        path = tok[1]
        kind, op = self.take()
        if kind != "op" or op in {"(", ")"}:
            raise QueryError(f"expected an operator after {path}")
        _kind, value = self.take()
        if path == "severity" and value not in SEVERITY:
            raise QueryError(f"unknown severity {value}")
        return lambda e: _compare(path, op, value, e)


def matches(query: str, entry: dict[str, Any]) -> bool:
    """True if the LogEntry matches the Logging query."""
    parser = _Query(query)
    predicate = parser.parse_or()
    if parser.peek() is not None:
        raise QueryError(f"trailing input at {parser.peek()}")
    return predicate(entry)


def extract(extractor: str, entry: dict[str, Any]) -> str | None:
    """The value a log-based metric's label or value extractor takes from the entry."""
    if m := re.fullmatch(r"EXTRACT\(([^,()]+)\)", extractor.strip()):
        value = field(entry, m.group(1).strip())
        return None if value is None else _text(value)
    if m := re.fullmatch(r'REGEXP_EXTRACT\(([^,()]+),\s*"((?:[^"\\]|\\.)*)"\)', extractor.strip()):
        value = field(entry, m.group(1).strip())
        if value is None:
            return None
        regex = _unescape(m.group(2))
        if re.compile(regex).groups != 1:
            raise QueryError(f"REGEXP_EXTRACT needs exactly one capture group: {regex}")
        found = re.search(regex, _text(value))
        return found.group(1) if found else None
    raise QueryError(f"unsupported extractor {extractor!r}")
