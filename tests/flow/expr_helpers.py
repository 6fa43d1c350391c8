"""Helpers for the expression and standard-library tests: a dict-backed EvalContext."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest
from bp_flow import stdlib
from bp_flow.errors import KEY_ERROR, WorkflowError
from bp_flow.expr import parse_expression
from bp_flow.runtime import FakeClock, Runtime


class DictContext:
    """Variables from a dict; functions from ``functions`` first, then the stdlib."""

    def __init__(
        self,
        variables: Mapping[str, Any] | None = None,
        functions: Mapping[str, Callable[..., Any]] | None = None,
        rt: Runtime | None = None,
    ) -> None:
        self.variables = dict(variables or {})
        self.functions = dict(functions or {})
        self.rt = rt or Runtime(clock=FakeClock())
        self.calls: list[tuple[str, list[Any]]] = []

    def lookup(self, name: str) -> Any:
        if name in self.variables:
            return self.variables[name]
        raise WorkflowError.tagged(KEY_ERROR, f"variable {name!r} is not defined")

    def call(self, name: str, args: list[Any]) -> Any:
        self.calls.append((name, list(args)))
        if name in self.functions:
            return self.functions[name](*args)
        return stdlib.call_positional(self.rt, name, args)


def ev(text: str, **variables: Any) -> Any:
    """Evaluate ``text`` with these variables."""
    return parse_expression(text).evaluate(DictContext(variables))


def ev_error(text: str, **variables: Any) -> WorkflowError:
    """The WorkflowError evaluating ``text`` raises."""
    with pytest.raises(WorkflowError) as info:
        ev(text, **variables)
    return info.value


def call(name: str, *args: Any, rt: Runtime | None = None) -> Any:
    """Call a library function positionally."""
    return stdlib.call_positional(rt or Runtime(clock=FakeClock()), name, list(args))


def call_error(name: str, *args: Any, rt: Runtime | None = None) -> WorkflowError:
    """The WorkflowError a library call raises."""
    with pytest.raises(WorkflowError) as info:
        call(name, *args, rt=rt)
    return info.value
