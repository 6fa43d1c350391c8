"""Run small workflow texts through the real loader and engine."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import Any

from bp_flow.connectors import SUPPORTED
from bp_flow.engine import Connector, Execution
from bp_flow.errors import WorkflowError
from bp_flow.loader import load_text
from bp_flow.model import Workflow
from bp_flow.runtime import FakeClock, Runtime


def load(text: str, connectors: frozenset[str] = SUPPORTED) -> Workflow:
    """Load dedented YAML text (LoadError on problems)."""
    return load_text(textwrap.dedent(text), "test.yaml", connectors)


def run(
    text: str,
    args: Any = None,
    *,
    clock: FakeClock | None = None,
    connectors: Mapping[str, Connector] | None = None,
    env: Mapping[str, str] | None = None,
) -> Any:
    """Load and run; the result (WorkflowError propagates)."""
    wf = load(text, frozenset(SUPPORTED | set(connectors or {})))
    rt = Runtime(env=dict(env or {}), clock=clock or FakeClock())
    return Execution(wf, rt, dict(connectors or {})).run(args)


def error_of(text: str, args: Any = None, **kwargs: Any) -> Any:
    """The value the workflow raised (fails the test if it returned)."""
    try:
        result = run(text, args, **kwargs)
    except WorkflowError as err:
        return err.value
    raise AssertionError(f"expected an error, got result {result!r}")
