"""The Cloud Workflows standard library, as an immutable registry of :class:`Function`.

Functions are called with positional arguments from expressions (``call_positional``) and
with named arguments from ``call:`` steps (``call_named``); either way a wrong number or
name of arguments is a TypeError, as in Workflows. ``docs_table()`` renders the registry
for docs/WORKFLOW_EXPRESSIONS.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from bp_flow.errors import KEY_ERROR, WorkflowError
from bp_flow.expr.values import type_error
from bp_flow.runtime import Runtime
from bp_flow.stdlib import codec, collections, json_, math_, retry, sys_, text, time_, types
from bp_flow.stdlib._model import Function, Param
from bp_flow.stdlib.retry import CONSTANTS

__all__ = [
    "CONSTANTS",
    "FUNCTIONS",
    "Function",
    "Param",
    "call_named",
    "call_positional",
    "docs_table",
    "is_known",
]

_MODULES = (collections, types, text, json_, sys_, time_, math_, codec, retry)

FUNCTIONS: Mapping[str, Function] = MappingProxyType(
    {f.name: f for m in _MODULES for f in m.FUNCTIONS}
)
"""Every supported function by its dotted name."""


def is_known(name: str) -> bool:
    """True for a function of the registry."""
    return name in FUNCTIONS


def _function(name: str) -> Function:
    fn = FUNCTIONS.get(name)
    if fn is None:
        raise WorkflowError.tagged(KEY_ERROR, f"unknown function {name!r}")
    return fn


def call_positional(rt: Runtime, name: str, args: list[Any]) -> Any:
    """Call ``name`` with positional arguments; missing optional ones take their default."""
    fn = _function(name)
    if len(args) > len(fn.params):
        raise type_error(f"{name}() takes at most {len(fn.params)} arguments, got {len(args)}")
    missing = [p.name for p in fn.params[len(args) :] if p.required]
    if missing:
        raise type_error(f"{name}() missing required argument(s): {', '.join(missing)}")
    full = list(args) + [p.default for p in fn.params[len(args) :]]
    return fn.impl(rt, *full)


def call_named(rt: Runtime, name: str, args: Mapping[str, Any]) -> Any:
    """Call ``name`` with named arguments (a ``call:`` step's ``args``)."""
    fn = _function(name)
    known = {p.name for p in fn.params}
    unknown = sorted(set(args) - known)
    if unknown:
        raise type_error(f"{name}() got unexpected argument(s): {', '.join(unknown)}")
    missing = [p.name for p in fn.params if p.required and p.name not in args]
    if missing:
        raise type_error(f"{name}() missing required argument(s): {', '.join(missing)}")
    return fn.impl(rt, *(args.get(p.name, p.default) for p in fn.params))


def _params(fn: Function) -> str:
    parts = [p.name if p.required else f"{p.name}={json.dumps(p.default)}" for p in fn.params]
    return f"`{', '.join(parts)}`" if parts else "(none)"


def docs_table() -> str:
    """Every function as a Markdown table: name, parameters (optional ones with their
    default), whether expressions may call it, summary."""
    rows = [
        "| Function | Parameters | In expressions | Summary |",
        "| --- | --- | --- | --- |",
    ]
    for name in sorted(FUNCTIONS):
        fn = FUNCTIONS[name]
        usable = "yes" if fn.in_expressions else "no (call step only)"
        rows.append(f"| `{name}` | {_params(fn)} | {usable} | {fn.summary} |")
    return "\n".join(rows) + "\n"
