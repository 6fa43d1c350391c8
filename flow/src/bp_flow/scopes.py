"""Variables of a running (sub)workflow, with Cloud Workflows' scoping.

A subworkflow call starts a fresh frame (its parameters). A ``for`` loop and each
parallel branch or iteration open a child scope: assigning a name that an enclosing
scope already holds updates it there; assigning a new name creates it in the innermost
scope, so it vanishes when the loop or branch ends. A branch may update its parent's
variables only through ``shared`` ones (the loader refuses anything else), and every
read and write goes through one lock per execution, so concurrent branches never see a
half-written value.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from typing import Any

from bp_flow.errors import KEY_ERROR, RESOURCE_LIMIT_ERROR, WorkflowError
from bp_flow.expr import EvalContext
from bp_flow.expr.values import value_size
from bp_flow.targets import Target, assign_into

MEMORY_LIMIT_BYTES = 512 * 1024  # Cloud Workflows' cap on an execution's variables


@dataclass
class Scope:
    """One level of variables; ``parent`` is None at a subworkflow's frame."""

    lock: threading.RLock
    parent: Scope | None = None
    values: dict[str, Any] = field(default_factory=dict)

    def child(self) -> Scope:
        """A nested scope (loop body, branch) sharing this frame's lock."""
        return Scope(self.lock, self)

    def _holder(self, name: str) -> Scope | None:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.values:
                return scope
            scope = scope.parent
        return None

    def has(self, name: str) -> bool:
        """True if the name is visible here."""
        with self.lock:
            return self._holder(name) is not None

    def get(self, name: str) -> Any:
        """A copy of the variable's value; ``KeyError`` (the workflow tag) if not defined."""
        with self.lock:
            holder = self._holder(name)
            if holder is None:
                raise WorkflowError.tagged(KEY_ERROR, f"variable {name!r} is not defined")
            return copy.deepcopy(holder.values[name])

    def define(self, name: str, value: Any) -> None:
        """Create (or replace) the name in this very scope (loop variables, parameters)."""
        with self.lock:
            self.values[name] = copy.deepcopy(value)
            self._check_size()

    def set(self, name: str, value: Any) -> None:
        """Assign: update where the name lives, else create it here."""
        with self.lock:
            holder = self._holder(name) or self
            holder.values[name] = copy.deepcopy(value)
            self._check_size()

    def assign(self, target: Target, value: Any, ctx: EvalContext) -> None:
        """Assign through a target path (``a.b[0]``), creating missing map keys."""
        if not target.path:
            self.set(target.name, value)
            return
        with self.lock:  # re-entrant: index expressions may read variables
            holder = self._holder(target.name)
            if holder is None:
                raise WorkflowError.tagged(
                    KEY_ERROR, f"{target.text}: variable {target.name!r} is not defined"
                )
            updated = assign_into(
                holder.values[target.name], target.path, copy.deepcopy(value), ctx, target.text
            )
            holder.values[target.name] = updated
            self._check_size()

    def _root_total(self) -> int:
        total, scope = 0, self
        seen: set[int] = set()
        while scope is not None and id(scope) not in seen:
            seen.add(id(scope))
            total += sum(value_size(v) for v in scope.values.values())
            scope = scope.parent  # type: ignore[assignment]
        return total

    def _check_size(self) -> None:
        size = self._root_total()
        if size > MEMORY_LIMIT_BYTES:
            raise WorkflowError.tagged(
                RESOURCE_LIMIT_ERROR,
                f"the variables of this execution need {size:,} bytes, over the "
                f"{MEMORY_LIMIT_BYTES:,}-byte limit: keep ids and URIs in variables, not documents",
            )
