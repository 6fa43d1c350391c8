"""Execute a loaded workflow with Cloud Workflows semantics.

Control flow travels as small internal exceptions (a jump to a named step, ``break``,
``continue``, ``return``); a workflow error travels as :class:`WorkflowError` carrying
the raised value. Parallel branches and iterations run on threads, at most
``concurrency_limit`` at once; with the only policy Workflows has (``continueAll``) the
other branches go on after one fails, and the parallel step then raises
``UnhandledBranchError`` listing every branch's error.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from bp_flow import stdlib
from bp_flow.errors import (
    PARALLEL_NESTING_ERROR,
    RECURSION_ERROR,
    TYPE_ERROR,
    UNHANDLED_BRANCH_ERROR,
    VALUE_ERROR,
    WorkflowError,
)
from bp_flow.model import (
    BREAK,
    CONTINUE,
    END,
    AssignStep,
    CallStep,
    ForLoop,
    ForStep,
    JumpStep,
    ParallelStep,
    RaiseStep,
    RetryPolicy,
    ReturnStep,
    Step,
    StepsStep,
    Subworkflow,
    SwitchStep,
    TryStep,
    Workflow,
)
from bp_flow.runtime import Runtime
from bp_flow.scopes import Scope

MAX_CALL_DEPTH = 20  # nested subworkflow calls (Cloud Workflows' limit)
MAX_PARALLEL_DEPTH = 2  # nested parallel steps
DEFAULT_CONCURRENCY = 20  # branches or iterations at once when no limit is given

Connector = Callable[[Runtime, dict[str, Any]], Any]


class _Jump(Exception):  # noqa: N818 - control flow, not an error
    def __init__(self, target: str) -> None:
        self.target = target


class _Break(Exception):  # noqa: N818
    pass


class _Continue(Exception):  # noqa: N818
    pass


class _Return(Exception):  # noqa: N818
    def __init__(self, value: Any) -> None:
        self.value = value


class Cancelled(Exception):  # noqa: N818 - the execution was cancelled from outside
    """Raised inside an execution once :meth:`Execution.cancel` was called."""


@dataclass
class StepEvent:
    """One step about to run (for progress displays and step counts)."""

    subworkflow: str
    step: str
    line: int


@dataclass
class _Frame:
    """Where a piece of code runs: its scope, subworkflow, call and parallel depth."""

    scope: Scope
    sub: Subworkflow
    depth: int
    parallel_depth: int = 0


class _Context:
    """The :class:`~bp_flow.expr.EvalContext` an expression sees in one frame."""

    def __init__(self, ex: Execution, frame: _Frame) -> None:
        self.ex, self.frame = ex, frame

    def lookup(self, name: str) -> Any:
        return self.frame.scope.get(name)

    def call(self, name: str, args: list[Any]) -> Any:
        sub = self.ex.workflow.subworkflows.get(name)
        if sub is not None:
            if len(args) > len(sub.params):
                raise WorkflowError.tagged(
                    TYPE_ERROR, f"{name} takes {len(sub.params)} arguments, got {len(args)}"
                )
            named = {p.name: a for p, a in zip(sub.params, args, strict=False)}
            return self.ex.call_subworkflow(sub, named, self.frame)
        return stdlib.call_positional(self.ex.runtime, name, args)


@dataclass
class Execution:
    """One run of a workflow: ``run(args)`` returns the result or raises WorkflowError."""

    workflow: Workflow
    runtime: Runtime
    connectors: Mapping[str, Connector] = field(default_factory=dict)
    on_step: Callable[[StepEvent], None] | None = None
    steps_executed: int = 0
    _cancelled: threading.Event = field(default_factory=threading.Event)
    _count_lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, args: Any = None) -> Any:
        """Run ``main`` with the runtime arguments (``None`` when there are none)."""
        main = self.workflow.main
        named = {main.params[0].name: args} if main.params else {}
        return self.call_subworkflow(main, named, None)

    def cancel(self) -> None:
        """Stop at the next step (running connector calls finish first)."""
        self._cancelled.set()

    # ------------------------------------------------------------------ calls
    def call_subworkflow(
        self, sub: Subworkflow, args: Mapping[str, Any], caller: _Frame | None
    ) -> Any:
        depth = caller.depth + 1 if caller else 0
        if depth > MAX_CALL_DEPTH:
            raise WorkflowError.tagged(
                RECURSION_ERROR, f"more than {MAX_CALL_DEPTH} nested subworkflow calls"
            )
        frame = _Frame(Scope(threading.RLock()), sub, depth, caller.parallel_depth if caller else 0)
        known = {p.name for p in sub.params}
        extra = sorted(set(args) - known)
        if extra:
            raise WorkflowError.tagged(
                TYPE_ERROR, f"{sub.name} has no parameter {', '.join(extra)}"
            )
        for p in sub.params:
            if p.name in args:
                frame.scope.define(p.name, args[p.name])
            elif p.has_default and p.default is not None:
                frame.scope.define(p.name, p.default.render(_Context(self, frame)))
            elif sub.name == "main":
                frame.scope.define(p.name, None)
            else:
                raise WorkflowError.tagged(TYPE_ERROR, f"{sub.name}: missing argument {p.name!r}")
        try:
            self.run_steps(sub.steps, frame)
        except _Return as ret:
            return ret.value
        return None

    def call_function(self, name: str, args: dict[str, Any], frame: _Frame) -> Any:
        sub = self.workflow.subworkflows.get(name)
        if sub is not None:
            return self.call_subworkflow(sub, args, frame)
        connector = self.connectors.get(name)
        if connector is not None:
            return connector(self.runtime, args)
        return stdlib.call_named(self.runtime, name, args)

    # ------------------------------------------------------------------ step lists
    def run_steps(self, steps: tuple[Step, ...], frame: _Frame) -> None:
        """Run a list of steps, following jumps that land in this list."""
        index = {s.name: i for i, s in enumerate(steps)}
        i = 0
        while i < len(steps):
            try:
                nxt = self.run_step(steps[i], frame)
            except _Jump as jump:
                if jump.target not in index:
                    raise
                i = index[jump.target]
                continue
            if nxt is None:
                i += 1
            elif nxt in index:
                i = index[nxt]
            else:
                self.follow(nxt)

    def follow(self, nxt: str) -> None:
        """Leave the current list: end, break, continue, or a jump to an enclosing list."""
        if nxt == END:
            raise _Return(None)
        if nxt == BREAK:
            raise _Break
        if nxt == CONTINUE:
            raise _Continue
        raise _Jump(nxt)

    def run_step(self, step: Step, frame: _Frame) -> str | None:
        """Run one step; return the name of the next step (None: the following one)."""
        if self._cancelled.is_set():
            raise Cancelled(f"cancelled before step {step.name!r}")
        with self._count_lock:
            self.steps_executed += 1
        if self.on_step is not None:
            self.on_step(StepEvent(frame.sub.name, step.name, step.where.line))
        ctx = _Context(self, frame)
        if isinstance(step, AssignStep):
            with frame.scope.lock:  # an assign step is atomic for concurrent branches
                for target, value in step.assigns:
                    frame.scope.assign(target, value.render(ctx), ctx)
        elif isinstance(step, CallStep):
            args = step.args.render(ctx) if step.args is not None else {}
            result = self.call_function(step.function, args, frame)
            if step.result:
                frame.scope.set(step.result, result)
        elif isinstance(step, SwitchStep):
            return self.run_switch(step, frame)
        elif isinstance(step, ForStep):
            self.run_for(step.loop, frame)
        elif isinstance(step, ParallelStep):
            self.run_parallel(step, frame)
        elif isinstance(step, TryStep):
            self.run_try(step, frame)
        elif isinstance(step, RaiseStep):
            raise WorkflowError(step.value.render(ctx))
        elif isinstance(step, ReturnStep):
            raise _Return(step.value.render(ctx))
        elif isinstance(step, StepsStep):
            self.run_steps(step.steps, frame)
        elif not isinstance(step, JumpStep):
            raise TypeError(f"unknown step type {type(step).__name__}")
        return step.next

    # ------------------------------------------------------------------ constructs
    def run_switch(self, step: SwitchStep, frame: _Frame) -> str | None:
        ctx = _Context(self, frame)
        for cond in step.conditions:
            value = cond.condition.render(ctx)
            if not isinstance(value, bool):
                raise WorkflowError.tagged(
                    TYPE_ERROR,
                    f"step {step.name!r}: a condition must be true or false, got {stdlib_type(value)}",
                )
            if value:
                if cond.body is not None:
                    nxt = self.run_step(cond.body, frame)
                    if nxt is not None:
                        return nxt
                break
        return step.next

    def loop_items(self, loop: ForLoop, frame: _Frame) -> list[Any]:
        ctx = _Context(self, frame)
        if loop.range is not None:
            bounds = loop.range.render(ctx)
            if not isinstance(bounds, list) or len(bounds) != 2:
                raise WorkflowError.tagged(TYPE_ERROR, "for range must be [start, end]")
            start, end = bounds
            if not all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in (start, end)
            ):
                raise WorkflowError.tagged(TYPE_ERROR, "for range bounds must be numbers")
            out, v = [], start
            while v <= end:
                out.append(v)
                v += 1
            return out
        items = loop.items.render(ctx) if loop.items is not None else None
        if not isinstance(items, list):
            raise WorkflowError.tagged(
                TYPE_ERROR,
                f"for in: expected a list, got {stdlib_type(items)} (use keys(map) to loop over a map)",
            )
        return items

    def iteration_scope(self, loop: ForLoop, frame: _Frame, k: int, item: Any) -> _Frame:
        scope = frame.scope.child()
        scope.define(loop.value, item)
        if loop.index:
            scope.define(loop.index, k)
        return _Frame(scope, frame.sub, frame.depth, frame.parallel_depth)

    def run_for(self, loop: ForLoop, frame: _Frame) -> None:
        for k, item in enumerate(self.loop_items(loop, frame)):
            try:
                self.run_steps(loop.steps, self.iteration_scope(loop, frame, k, item))
            except _Continue:
                continue
            except _Break:
                break

    def run_parallel(self, step: ParallelStep, frame: _Frame) -> None:
        if frame.parallel_depth >= MAX_PARALLEL_DEPTH:
            raise WorkflowError.tagged(
                PARALLEL_NESTING_ERROR, f"parallel steps nest deeper than {MAX_PARALLEL_DEPTH}"
            )
        limit = DEFAULT_CONCURRENCY
        if step.concurrency_limit is not None:
            limit = step.concurrency_limit.render(_Context(self, frame))
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
                raise WorkflowError.tagged(
                    VALUE_ERROR, f"step {step.name!r}: concurrency_limit must be a positive integer"
                )
        jobs: list[tuple[str, Callable[[], None]]] = []
        inner = _Frame(frame.scope, frame.sub, frame.depth, frame.parallel_depth + 1)
        for branch in step.branches:
            jobs.append((branch.name, self._branch_job(branch.steps, inner)))
        if step.loop is not None:
            loop = step.loop
            for k, item in enumerate(self.loop_items(loop, frame)):
                jobs.append((str(k), self._iteration_job(loop, inner, k, item)))
        errors: list[dict[str, Any]] = []
        with ThreadPoolExecutor(
            max_workers=max(1, min(limit, len(jobs))), thread_name_prefix=f"wf-{step.name}"
        ) as pool:
            futures = [(name, pool.submit(job)) for name, job in jobs]
            for name, fut in futures:
                exc = fut.exception()
                if isinstance(exc, WorkflowError):
                    errors.append({"id": name, "error": exc.value})
                elif exc is not None:
                    raise exc
        if errors:
            raise WorkflowError.tagged(
                UNHANDLED_BRANCH_ERROR,
                f"UnhandledBranchError: {len(errors)} of {len(jobs)} branches or iterations of step {step.name!r} raised an unhandled error",
                branches=errors,
            )

    def _branch_job(self, steps: tuple[Step, ...], frame: _Frame) -> Callable[[], None]:
        def job() -> None:
            self.run_steps(
                steps, _Frame(frame.scope.child(), frame.sub, frame.depth, frame.parallel_depth)
            )

        return job

    def _iteration_job(self, loop: ForLoop, frame: _Frame, k: int, item: Any) -> Callable[[], None]:
        def job() -> None:
            self.run_steps(loop.steps, self.iteration_scope(loop, frame, k, item))

        return job

    def run_try(self, step: TryStep, frame: _Frame) -> None:
        retries = 0
        while True:
            try:
                self.run_steps(step.body, frame)
            except WorkflowError as err:
                if (
                    step.retry is not None
                    and retries < step.retry.max_retries
                    and self.should_retry(step.retry, err, frame)
                ):
                    self.runtime.clock.sleep(delay(step.retry, retries))
                    retries += 1
                    continue
                if step.except_steps is None:
                    raise
                if step.except_as:
                    frame.scope.set(step.except_as, err.value)
                self.run_steps(step.except_steps, frame)
                return
            else:
                return

    def should_retry(self, policy: RetryPolicy, err: WorkflowError, frame: _Frame) -> bool:
        sub = self.workflow.subworkflows.get(policy.predicate)
        if sub is not None:
            first = sub.params[0].name
            verdict = self.call_subworkflow(sub, {first: err.value}, frame)
        else:
            verdict = stdlib.call_positional(self.runtime, policy.predicate, [err.value])
        if not isinstance(verdict, bool):
            raise WorkflowError.tagged(
                TYPE_ERROR,
                f"retry predicate {policy.predicate} returned {stdlib_type(verdict)}, not true or false",
            )
        return verdict


def delay(policy: RetryPolicy, retries_done: int) -> float:
    """Seconds to wait before retry number ``retries_done + 1``."""
    b = policy.backoff
    return float(min(b.initial_delay * b.multiplier**retries_done, b.max_delay))


def stdlib_type(value: Any) -> str:
    """The Workflows type name of a value, for messages."""
    return str(stdlib.call_positional(Runtime(), "get_type", [value]))
