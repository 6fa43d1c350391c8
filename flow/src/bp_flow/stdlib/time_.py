"""The ``time`` module: ``format`` (seconds since the epoch to an ISO 8601 string) and
``parse`` (an RFC 3339 string to seconds since the epoch), both to the microsecond.

``time.format`` always writes six fraction digits (``2024-01-10T16:15:54.615087Z``, the
reference's example form) and ``Z`` for a zero UTC offset, ``+hh:mm`` otherwise.
``time.parse`` accepts RFC 3339 section 5.6 date-times with at most six fraction digits.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bp_flow.expr.values import type_error, type_name, value_error
from bp_flow.runtime import Runtime
from bp_flow.stdlib._check import want_number, want_str
from bp_flow.stdlib._model import Function, Param, opt

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)


def _zone(name: Any) -> tzinfo:
    if name is None or name == "":
        return UTC
    if not isinstance(name, str):
        raise type_error(f"time.format: timezone must be a string, got {type_name(name)}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise value_error(f"time.format: unknown timezone {name!r}") from None


def format_time(rt: Runtime, seconds: Any, timezone_: Any) -> str:
    """``seconds`` since the epoch as ``YYYY-MM-DDThh:mm:ss.ffffff`` plus the UTC offset."""
    value = want_number("time.format", "seconds", seconds)
    zone = _zone(timezone_)
    try:
        moment = datetime.fromtimestamp(value, tz=zone)
    except (OverflowError, OSError, ValueError):
        raise value_error(
            f"time.format: {value!r} seconds is outside the supported date range"
        ) from None
    return iso8601(moment)


def iso8601(moment: datetime) -> str:
    """An aware datetime as Workflows writes it."""
    text = (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T"
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}.{moment.microsecond:06d}"
    )
    offset = moment.utcoffset() or timedelta(0)
    if not offset:
        return text + "Z"
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{text}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def parse_rfc3339(fn: str, value: Any) -> float:
    """Seconds since the epoch of an RFC 3339 date-time string."""
    text = want_str(fn, "value", value)
    m = _RFC3339.fullmatch(text)
    if m is None:
        raise value_error(f"{fn}: {text[:60]!r} is not an RFC 3339 date-time")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    micro = int((m.group(7) or "0").ljust(6, "0"))
    offset = timedelta(0)
    if m.group(9):
        hours, minutes = int(m.group(10)), int(m.group(11))
        if hours > 23 or minutes > 59:
            raise value_error(f"{fn}: bad UTC offset in {text!r}")
        offset = timedelta(hours=hours, minutes=minutes) * (-1 if m.group(9) == "-" else 1)
    try:
        moment = datetime(year, month, day, hour, minute, second, micro, tzinfo=timezone(offset))
    except ValueError:
        raise value_error(f"{fn}: {text!r} is not a valid date-time") from None
    return (moment - _EPOCH) / timedelta(seconds=1)


def parse_time(rt: Runtime, value: Any) -> float:
    """An RFC 3339 string as seconds since the epoch (a double)."""
    return parse_rfc3339("time.parse", value)


FUNCTIONS: tuple[Function, ...] = (
    Function(
        "time.format",
        (Param("seconds"), opt("timezone")),
        format_time,
        True,
        "Seconds since the epoch as an ISO 8601 string (UTC or a tz database zone).",
    ),
    Function(
        "time.parse",
        (Param("value"),),
        parse_time,
        True,
        "An RFC 3339 date-time string as seconds since the epoch.",
    ),
)
