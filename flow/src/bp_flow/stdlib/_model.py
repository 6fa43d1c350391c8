"""What a standard-library function is, as data (the registry in ``bp_flow.stdlib`` is a
mapping of these)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Param:
    """One parameter: its name (used by ``call:`` steps with named arguments) and, when
    optional, the value it takes when not given."""

    name: str
    required: bool = True
    default: Any = None


def opt(name: str, default: Any = None) -> Param:
    """An optional parameter."""
    return Param(name, required=False, default=default)


@dataclass(frozen=True)
class Function:
    """A standard-library function: ``impl(rt, *args)`` receives every parameter
    positionally (optional ones filled with their defaults)."""

    name: str
    params: tuple[Param, ...]
    impl: Callable[..., Any]
    in_expressions: bool
    summary: str
