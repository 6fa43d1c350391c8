"""sys.get_env, sys.now, sys.sleep, sys.sleep_until, sys.log (through the Runtime and a
FakeClock) and time.format / time.parse."""

from __future__ import annotations

from typing import Any

import pytest
from bp_flow import stdlib
from bp_flow.errors import WorkflowError
from bp_flow.runtime import FakeClock, Runtime
from hypothesis import given
from hypothesis import strategies as st

from tests.flow.expr_helpers import DictContext, call, call_error


class Log:
    """A log sink that records (severity, payload)."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, Any]] = []

    def __call__(self, severity: str, data: Any) -> None:
        self.entries.append((severity, data))


def runtime(**env: str) -> tuple[Runtime, FakeClock, Log]:
    """A runtime with a fake clock and a recording log."""
    clock, log = FakeClock(start=1_700_000_000.0), Log()
    return Runtime(env=env, clock=clock, log=log), clock, log


# ---------------------------------------------------------------- get_env, now


def test_get_env() -> None:
    """sys.get_env reads the runtime environment; unset gives the default or null."""
    rt, _, _ = runtime(GOOGLE_CLOUD_PROJECT_ID="proj", GOOGLE_CLOUD_LOCATION="us-central1")
    assert call("sys.get_env", "GOOGLE_CLOUD_PROJECT_ID", rt=rt) == "proj"
    assert call("sys.get_env", "MISSING", rt=rt) is None
    assert call("sys.get_env", "MISSING", "dflt", rt=rt) == "dflt"
    assert call("sys.get_env", "GOOGLE_CLOUD_LOCATION", "dflt", rt=rt) == "us-central1"


@pytest.mark.parametrize("args", [(1,), (None,), ("A", 2), ("A", ["x"])])
def test_get_env_type_errors(args: tuple[Any, ...]) -> None:
    """name and default must be strings."""
    assert call_error("sys.get_env", *args).tags == ["TypeError"]


def test_quickstart_idiom() -> None:
    """The quickstart sample: text.split(sys.get_env("GOOGLE_CLOUD_LOCATION"), "-")[0]."""
    rt, _, _ = runtime(GOOGLE_CLOUD_LOCATION="europe-west1")
    from bp_flow.expr import parse_expression

    expr = parse_expression('text.split(sys.get_env("GOOGLE_CLOUD_LOCATION"), "-")[0]')
    assert expr.evaluate(DictContext(rt=rt)) == "europe"


def test_now_reads_the_clock() -> None:
    """sys.now is the clock's time as a double."""
    rt, clock, _ = runtime()
    assert call("sys.now", rt=rt) == 1_700_000_000.0
    assert type(call("sys.now", rt=rt)) is float
    clock.sleep(2.5)
    assert call("sys.now", rt=rt) == 1_700_000_002.5


# ---------------------------------------------------------------- sleep


def test_sleep_uses_the_clock() -> None:
    """sys.sleep sleeps on the runtime clock (no real waiting with a FakeClock)."""
    rt, clock, _ = runtime()
    assert call("sys.sleep", 5, rt=rt) is None
    call("sys.sleep", 0.25, rt=rt)
    call("sys.sleep", 0, rt=rt)
    assert clock.sleeps == [5.0, 0.25, 0.0]
    assert clock.now() == 1_700_000_005.25


def test_sleep_errors() -> None:
    """Negative seconds are a ValueError; non-numbers a TypeError."""
    assert call_error("sys.sleep", -1).tags == ["ValueError"]
    assert call_error("sys.sleep", "5").tags == ["TypeError"]
    assert call_error("sys.sleep", True).tags == ["TypeError"]


def test_sleep_until() -> None:
    """sys.sleep_until waits until the time, or not at all when it has passed."""
    rt, clock, _ = runtime()
    call("sys.sleep_until", "2023-11-14T22:13:30Z", rt=rt)  # 1_700_000_010
    call("sys.sleep_until", "2000-01-01T00:00:00Z", rt=rt)
    assert clock.sleeps == [10.0, 0.0]
    assert call_error("sys.sleep_until", "tomorrow", rt=rt).tags == ["ValueError"]
    assert call_error("sys.sleep_until", 5, rt=rt).tags == ["TypeError"]


# ---------------------------------------------------------------- log


@pytest.mark.parametrize(
    ("args", "entry"),
    [
        ({"data": "Log my error message", "severity": "ERROR"}, ("ERROR", "Log my error message")),
        ({"data": {"k": [1]}}, ("DEFAULT", {"k": [1]})),
        ({"data": 42}, ("DEFAULT", "42")),
        ({"data": 1.5, "severity": "INFO"}, ("INFO", "1.5")),
        ({"data": True}, ("DEFAULT", "true")),
        ({"data": [1, "a"]}, ("DEFAULT", '[1,"a"]')),
        ({"text": {"a": 1}, "severity": "WARNING"}, ("WARNING", '{"a":1}')),
        ({"text": "plain"}, ("DEFAULT", "plain")),
        ({"json": {"Message1": "x"}, "severity": "ERROR"}, ("ERROR", {"Message1": "x"})),
        ({"data": None, "text": "t"}, ("DEFAULT", "t")),
        ({"data": "x", "timeout": 5}, ("DEFAULT", "x")),
    ],
)
def test_log_named(args: dict[str, Any], entry: tuple[str, Any]) -> None:
    """One of data (maps as JSON, the rest as text), text (always text) or json (a map)."""
    rt, _, log = runtime()
    assert stdlib.call_named(rt, "sys.log", args) is None
    assert log.entries == [entry]


def test_log_positional_order() -> None:
    """Positional order is data, severity, text, json, timeout (the reference's list form)."""
    rt, _, log = runtime()
    call("sys.log", None, "ERROR", "msg", rt=rt)
    call("sys.log", None, "INFO", None, {"a": 1}, rt=rt)
    assert log.entries == [("ERROR", "msg"), ("INFO", {"a": 1})]


@pytest.mark.parametrize(
    ("args", "tag"),
    [
        ({}, "TypeError"),
        ({"data": None}, "TypeError"),
        ({"data": "a", "text": "b"}, "TypeError"),
        ({"text": "a", "json": {}}, "TypeError"),
        ({"json": "not a map"}, "TypeError"),
        ({"json": [1]}, "TypeError"),
        ({"data": b"bytes"}, "TypeError"),
        ({"text": b"bytes"}, "TypeError"),
        ({"data": "a", "severity": 3}, "TypeError"),
        ({"data": "a", "timeout": "1"}, "TypeError"),
        ({"data": "a", "severity": "LOUD"}, "ValueError"),
        ({"data": "a", "severity": "info"}, "ValueError"),
    ],
)
def test_log_errors(args: dict[str, Any], tag: str) -> None:
    """Zero or several payloads, wrong payload types and bad severities are refused."""
    rt, _, log = runtime()
    with pytest.raises(WorkflowError) as info:
        stdlib.call_named(rt, "sys.log", args)
    assert info.value.tags == [tag]
    assert log.entries == []


# ---------------------------------------------------------------- time


@pytest.mark.parametrize(
    ("seconds", "zone", "expected"),
    [
        (1704903354.615087, None, "2024-01-10T16:15:54.615087Z"),
        (0, None, "1970-01-01T00:00:00.000000Z"),
        (0, "", "1970-01-01T00:00:00.000000Z"),
        (1715169660, "UTC", "2024-05-08T12:01:00.000000Z"),
        (0, "America/New_York", "1969-12-31T19:00:00.000000-05:00"),
        (1719835200, "Europe/Paris", "2024-07-01T14:00:00.000000+02:00"),
        (1719835200, "Asia/Kolkata", "2024-07-01T17:30:00.000000+05:30"),
        (-1.5, None, "1969-12-31T23:59:58.500000Z"),
        (1.0000004, None, "1970-01-01T00:00:01.000000Z"),
    ],
)
def test_time_format(seconds: float, zone: str | None, expected: str) -> None:
    """ISO 8601 with six fraction digits; Z for UTC, +hh:mm for other offsets."""
    assert call("time.format", seconds, zone) == expected


def test_time_format_errors() -> None:
    """Unknown zones and out-of-range times are ValueErrors; wrong types TypeErrors."""
    assert call_error("time.format", 0, "Mars/Olympus").tags == ["ValueError"]
    assert call_error("time.format", 1e20).tags == ["ValueError"]
    assert call_error("time.format", "0").tags == ["TypeError"]
    assert call_error("time.format", 0, 5).tags == ["TypeError"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-08T12:01:00.000000Z", 1715169660.0),
        ("2024-05-08T12:01:00Z", 1715169660.0),
        ("2024-05-08t12:01:00z", 1715169660.0),
        ("2024-05-08T14:01:00+02:00", 1715169660.0),
        ("2024-05-08T07:31:00-04:30", 1715169660.0),
        ("1970-01-01T00:00:00.5Z", 0.5),
        ("1969-12-31T23:59:59.999999Z", -0.000001),
    ],
)
def test_time_parse(text: str, expected: float) -> None:
    """RFC 3339 date-times to seconds since the epoch, as a double."""
    value = call("time.parse", text)
    assert value == expected
    assert type(value) is float


@pytest.mark.parametrize(
    "text",
    [
        "2024-05-08",
        "2024-05-08T12:01:00",
        "2024-05-08 12:01:00Z",
        "2024-05-08T12:01:00.1234567Z",
        "2024-13-01T00:00:00Z",
        "2024-02-30T00:00:00Z",
        "2024-05-08T24:00:00Z",
        "2024-05-08T23:59:60Z",
        "2024-05-08T12:01:00+25:00",
        "2024-05-08T12:01:00+0200",
        "May 8, 2024",
        "",
    ],
)
def test_time_parse_value_errors(text: str) -> None:
    """Anything that is not an RFC 3339 date-time with offset and at most microseconds."""
    assert call_error("time.parse", text).tags == ["ValueError"]


def test_time_parse_type_error() -> None:
    """time.parse needs a string."""
    assert call_error("time.parse", 1715169660).tags == ["TypeError"]


@given(st.integers(min_value=-(10**15), max_value=4 * 10**15))
def test_format_parse_round_trip(micros: int) -> None:
    """time.parse(time.format(t)) == t for times with microsecond precision."""
    seconds = micros / 10**6
    assert call("time.parse", call("time.format", seconds)) == seconds


def test_sys_now_formats() -> None:
    """time.format(sys.now()) as in the reference's example."""
    rt, _, _ = runtime()
    assert call("time.format", call("sys.now", rt=rt)) == "2023-11-14T22:13:20.000000Z"
