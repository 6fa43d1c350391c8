"""A loaded workflow: subworkflows and their steps as typed, immutable data.

Every step keeps its name and line, so runtime errors and load problems point at the
file. The loader (:mod:`bp_flow.loader`) builds these and checks them; the engine
(:mod:`bp_flow.engine`) only executes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bp_flow.errors import Where
from bp_flow.targets import Target
from bp_flow.templates import Template

# the only `next` targets that are not step names
END, BREAK, CONTINUE = "end", "break", "continue"


@dataclass(frozen=True)
class Step:
    """What every step has: a name, a place, and an optional jump."""

    name: str
    where: Where
    next: str | None


@dataclass(frozen=True)
class AssignStep(Step):
    """``assign``: targets set in order (each sees the ones before)."""

    assigns: tuple[tuple[Target, Template], ...]


@dataclass(frozen=True)
class CallStep(Step):
    """``call`` a function, subworkflow or connector with named ``args``."""

    function: str
    args: Template | None
    result: str | None


@dataclass(frozen=True)
class Condition:
    """One ``switch`` case: a condition and what runs when it is the first true one."""

    condition: Template
    body: Step | None  # an embedded step (assign, call, steps, return, raise, next...)
    where: Where


@dataclass(frozen=True)
class SwitchStep(Step):
    """``switch``: the first true condition's body runs; ``next`` is the default."""

    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class ForLoop:
    """``for``: over a list or map keys (``in``) or an inclusive ``range``."""

    value: str
    index: str | None
    items: Template | None
    range: Template | None  # renders to [start, end]
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class ForStep(Step):
    """A sequential loop; its variables live only inside it."""

    loop: ForLoop


@dataclass(frozen=True)
class Branch:
    """One named branch of a ``parallel`` step."""

    name: str
    where: Where
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class ParallelStep(Step):
    """``parallel``: branches or loop iterations at once; writes to the parent only
    through ``shared`` variables."""

    shared: tuple[str, ...]
    concurrency_limit: Template | None
    exception_policy: str
    branches: tuple[Branch, ...] = ()
    loop: ForLoop | None = None


@dataclass(frozen=True)
class Backoff:
    """Delays between retries: initial × multiplierⁿ, capped at max (seconds)."""

    initial_delay: float
    max_delay: float
    multiplier: float


@dataclass(frozen=True)
class RetryPolicy:
    """When and how often a ``try`` is run again."""

    predicate: str  # a subworkflow name or a built-in predicate (http.default_retry_predicate)
    max_retries: int
    backoff: Backoff


@dataclass(frozen=True)
class TryStep(Step):
    """``try`` with ``retry`` and/or ``except``."""

    body: tuple[Step, ...]
    retry: RetryPolicy | None
    except_as: str | None
    except_steps: tuple[Step, ...] | None


@dataclass(frozen=True)
class RaiseStep(Step):
    """``raise`` a value (string or map)."""

    value: Template


@dataclass(frozen=True)
class ReturnStep(Step):
    """``return`` from the subworkflow (main: the execution's result)."""

    value: Template


@dataclass(frozen=True)
class StepsStep(Step):
    """A nested ``steps`` group (no scope of its own)."""

    steps: tuple[Step, ...]


@dataclass(frozen=True)
class JumpStep(Step):
    """A step that only names ``next``."""


@dataclass(frozen=True)
class Param:
    """A subworkflow parameter, with its default when optional."""

    name: str
    has_default: bool = False
    default: Template | None = None


@dataclass(frozen=True)
class Subworkflow:
    """``main`` or a named subworkflow."""

    name: str
    where: Where
    params: tuple[Param, ...]
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Workflow:
    """A loaded, checked workflow file."""

    name: str
    subworkflows: dict[str, Subworkflow] = field(default_factory=dict)

    @property
    def main(self) -> Subworkflow:
        """The entry point."""
        return self.subworkflows["main"]
