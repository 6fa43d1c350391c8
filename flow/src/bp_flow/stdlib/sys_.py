"""The ``sys`` module: ``get_env``, ``now``, ``log``, ``sleep``, ``sleep_until``, through the
:class:`~bp_flow.runtime.Runtime` (its environment, clock and log sink).

``sys.log``, ``sys.sleep`` and ``sys.sleep_until`` block, so (as the reference says) they
can only be used in ``call`` steps, never inside an expression.
"""

from __future__ import annotations

from typing import Any

from bp_flow.expr.values import is_number, to_string, type_error, type_name, value_error
from bp_flow.runtime import Runtime
from bp_flow.stdlib._check import want_number, want_str
from bp_flow.stdlib._model import Function, Param, opt
from bp_flow.stdlib.json_ import to_json
from bp_flow.stdlib.time_ import parse_rfc3339

SEVERITIES = frozenset(
    {"DEFAULT", "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL", "ALERT", "EMERGENCY"}
)


def get_env(rt: Runtime, name: Any, default: Any) -> Any:
    """The environment variable's value, or ``default`` (null when not given) if unset."""
    key = want_str("sys.get_env", "name", name)
    if default is not None:
        want_str("sys.get_env", "default", default)
    return rt.env.get(key, default)


def now(rt: Runtime) -> float:
    """Seconds since the epoch (a double)."""
    return float(rt.clock.now())


def sleep(rt: Runtime, seconds: Any) -> None:
    """Wait ``seconds`` (an integer or double, not negative)."""
    value = want_number("sys.sleep", "seconds", seconds)
    if value < 0:
        raise value_error(f"sys.sleep: seconds must not be negative, got {value}")
    rt.clock.sleep(float(value))


def sleep_until(rt: Runtime, time: Any) -> None:
    """Wait until an RFC 3339 date-time (no wait when it has passed)."""
    target = parse_rfc3339("sys.sleep_until", time)
    rt.clock.sleep(max(0.0, target - rt.clock.now()))


def _loggable(param: str, value: Any) -> Any:
    if isinstance(value, str | bool | list | dict) or is_number(value):
        return value
    raise type_error(
        f"sys.log: {param} must be an integer, double, boolean, string, list or map, got {type_name(value)}"
    )


def _as_text(value: Any) -> str:
    return to_json(value) if isinstance(value, list | dict) else to_string(value)


def log(rt: Runtime, data: Any, severity: Any, text: Any, json: Any, timeout: Any) -> None:
    """Write exactly one of ``data`` (a map as JSON, anything else as text), ``text``
    (always text) or ``json`` (a map) at ``severity`` (default ``DEFAULT``)."""
    given = [
        name
        for name, value in (("data", data), ("text", text), ("json", json))
        if value is not None
    ]
    if len(given) != 1:
        raise type_error(
            f"sys.log: give exactly one of data, text or json (got {', '.join(given) or 'none'})"
        )
    level = "DEFAULT" if severity is None else want_str("sys.log", "severity", severity)
    if level not in SEVERITIES:
        raise value_error(
            f"sys.log: unknown severity {level!r} (one of {', '.join(sorted(SEVERITIES))})"
        )
    if timeout is not None:
        want_number("sys.log", "timeout", timeout)
    if json is not None:
        if not isinstance(json, dict):
            raise type_error(f"sys.log: json must be a map, got {type_name(json)}")
        payload: Any = json
    elif data is not None:
        value = _loggable("data", data)
        payload = value if isinstance(value, dict) else _as_text(value)
    else:
        payload = _as_text(_loggable("text", text))
    rt.log(level, payload)


FUNCTIONS: tuple[Function, ...] = (
    Function(
        "sys.get_env",
        (Param("name"), opt("default")),
        get_env,
        True,
        "An environment variable (built-in GOOGLE_CLOUD_* or user-defined), or default.",
    ),
    Function("sys.now", (), now, True, "Seconds since the epoch, as a double."),
    Function(
        "sys.log",
        (opt("data"), opt("severity"), opt("text"), opt("json"), opt("timeout")),
        log,
        False,
        "Write one of data, text or json to the log at a severity (call steps only).",
    ),
    Function(
        "sys.sleep",
        (Param("seconds"),),
        sleep,
        False,
        "Wait a number of seconds (call steps only).",
    ),
    Function(
        "sys.sleep_until",
        (Param("time"),),
        sleep_until,
        False,
        "Wait until an RFC 3339 date-time (call steps only).",
    ),
)
