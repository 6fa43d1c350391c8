"""Load-time checks of a workflow's meaning: what Cloud Workflows would refuse at
deployment, and what this interpreter does not support.

- step names are unique in their subworkflow; every ``next`` names a step it can
  reach (same list or an enclosing one; never into a block, nor out of a loop or branch);
  ``break``/``continue`` only in a sequential ``for``; no ``return``/``end`` in a branch;
- every function called (``call`` or inside an expression) is a subworkflow of the file,
  a supported standard-library function or a supported connector; named ``args`` match
  the parameters; retry predicates exist;
- every variable read is assigned somewhere it is visible (loop and branch variables do
  not exist outside them);
- a parallel branch writes a variable of its parent only if ``shared`` lists it, and
  every shared variable exists before the parallel step.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from bp_flow import stdlib
from bp_flow.errors import LoadProblem, Where
from bp_flow.expr import Expression
from bp_flow.model import (
    BREAK,
    CONTINUE,
    END,
    AssignStep,
    CallStep,
    ForLoop,
    ForStep,
    ParallelStep,
    RaiseStep,
    ReturnStep,
    Step,
    StepsStep,
    Subworkflow,
    SwitchStep,
    TryStep,
    Workflow,
)
from bp_flow.templates import MapValue, Template

BUILTIN_PREDICATES = frozenset(
    {"http.default_retry_predicate", "http.default_retry_predicate_non_idempotent"}
)


def where_file(name: str) -> Where:
    """A problem about the file as a whole."""
    return Where(name)


@dataclass
class _Ctx:
    """What a step list can see: its jump targets, loop, visible names, protected names."""

    targets: frozenset[str]
    in_loop: bool
    in_branch: bool
    visible: frozenset[str]
    protected: frozenset[str] = frozenset()  # parent variables a branch may not write
    problems: list[LoadProblem] = field(default_factory=list)


class _Checker:
    def __init__(self, wf: Workflow, connectors: frozenset[str]) -> None:
        self.wf = wf
        self.connectors = connectors
        self.problems: list[LoadProblem] = []

    def add(self, where: Where, text: str, hint: str = "") -> None:
        self.problems.append(LoadProblem(where, text, hint))

    # ------------------------------------------------------------------ entry
    def run(self) -> list[LoadProblem]:
        for sub in self.wf.subworkflows.values():
            self.unique_names(sub)
            visible = frozenset(p.name for p in sub.params)
            for p in sub.params:
                if p.default is not None:
                    self.expressions(p.default.expressions(), frozenset(), sub.where)
            ctx = _Ctx(frozenset(), in_loop=False, in_branch=False, visible=visible)
            self.step_list(sub.steps, ctx)
        return self.problems

    def unique_names(self, sub: Subworkflow) -> None:
        seen: dict[str, Where] = {}
        for step in _all_steps(sub.steps):
            if "." in step.name and step.name.split(".")[-1].startswith(("switch[", "try")):
                continue  # synthetic names of embedded bodies
            if step.name in seen:
                self.add(
                    step.where,
                    f"step name {step.name!r} is used twice in {sub.name!r} (first at line {seen[step.name].line})",
                )
            seen.setdefault(step.name, step.where)

    # ------------------------------------------------------------------ lists
    def step_list(self, steps: tuple[Step, ...], outer: _Ctx) -> None:
        names = frozenset(s.name for s in steps)
        assigned = frozenset(_assigned_here(steps))
        ctx = _Ctx(
            outer.targets | names,
            outer.in_loop,
            outer.in_branch,
            outer.visible | assigned,
            outer.protected,
        )
        for step in steps:
            self.step(step, ctx)

    def jump(self, step: Step, ctx: _Ctx) -> None:
        nxt = step.next
        if nxt is None:
            return
        if nxt in {BREAK, CONTINUE}:
            if not ctx.in_loop:
                self.add(
                    step.where, f"step {step.name!r}: next: {nxt} outside a sequential for loop"
                )
        elif nxt == END:
            if ctx.in_branch:
                self.add(
                    step.where,
                    f"step {step.name!r}: next: end inside a parallel branch is not supported",
                )
        elif nxt not in ctx.targets:
            self.add(
                step.where,
                f"step {step.name!r}: next: {nxt!r} is not a step it can jump to",
                "jumps stay in their list or an enclosing one, never into a block, nor out of a loop or parallel branch",
            )

    def step(self, step: Step, ctx: _Ctx) -> None:
        self.jump(step, ctx)
        if isinstance(step, AssignStep):
            for target, value in step.assigns:
                self.write(target.name, step.where, ctx)
                self.expressions(value.expressions(), ctx.visible, step.where)
                self.expressions(target.expressions(), ctx.visible, step.where)
        elif isinstance(step, CallStep):
            self.call(step, ctx)
        elif isinstance(step, SwitchStep):
            for cond in step.conditions:
                self.expressions(cond.condition.expressions(), ctx.visible, cond.where)
                if cond.body is not None:
                    self.step(cond.body, ctx)
        elif isinstance(step, ForStep):
            self.loop(step.loop, step.where, ctx, parallel=False)
        elif isinstance(step, ParallelStep):
            self.parallel(step, ctx)
        elif isinstance(step, TryStep):
            self.try_step(step, ctx)
        elif isinstance(step, RaiseStep | ReturnStep):
            if isinstance(step, ReturnStep) and ctx.in_branch:
                self.add(
                    step.where,
                    f"step {step.name!r}: return inside a parallel branch is not supported",
                )
            self.expressions(step.value.expressions(), ctx.visible, step.where)
        elif isinstance(step, StepsStep):
            self.step_list(step.steps, ctx)

    def write(self, name: str, where: Where, ctx: _Ctx) -> None:
        if name in ctx.protected:
            self.add(
                where,
                f"a parallel branch assigns {name!r}, a variable of its parent, which `shared` does not list",
                f"add {name} to the parallel step's shared list",
            )

    # ------------------------------------------------------------------ constructs
    def loop(self, loop: ForLoop, where: Where, ctx: _Ctx, parallel: bool) -> None:
        if loop.items is not None:
            self.expressions(loop.items.expressions(), ctx.visible, where)
        if loop.range is not None:
            self.expressions(loop.range.expressions(), ctx.visible, where)
        local = {loop.value} | ({loop.index} if loop.index else set())
        inner = _Ctx(
            frozenset(),
            in_loop=not parallel,
            in_branch=ctx.in_branch or parallel,
            visible=ctx.visible | local,
            protected=ctx.protected - local,
        )
        self.step_list(loop.steps, inner)

    def parallel(self, step: ParallelStep, ctx: _Ctx) -> None:
        for name in step.shared:
            if name not in ctx.visible:
                self.add(
                    step.where,
                    f"step {step.name!r}: shared variable {name!r} is not assigned before the parallel step",
                    "assign it (e.g. to an empty list or map) before the parallel step",
                )
        if step.concurrency_limit is not None:
            self.expressions(step.concurrency_limit.expressions(), ctx.visible, step.where)
        protected = (ctx.visible | ctx.protected) - frozenset(step.shared)
        branch_ctx = _Ctx(frozenset(), False, True, ctx.visible, protected)
        for branch in step.branches:
            self.step_list(branch.steps, branch_ctx)
        if step.loop is not None:
            self.loop(step.loop, step.where, branch_ctx, parallel=True)

    def try_step(self, step: TryStep, ctx: _Ctx) -> None:
        body_ctx = _Ctx(ctx.targets, ctx.in_loop, ctx.in_branch, ctx.visible, ctx.protected)
        self.step_list(step.body, body_ctx)
        if step.retry is not None:
            self.predicate(step.retry.predicate, step.where)
        if step.except_steps is not None:
            visible = ctx.visible | ({step.except_as} if step.except_as else set())
            if step.except_as:
                self.write(step.except_as, step.where, ctx)
            self.step_list(
                step.except_steps,
                _Ctx(ctx.targets, ctx.in_loop, ctx.in_branch, visible, ctx.protected),
            )

    def predicate(self, name: str, where: Where) -> None:
        if name in BUILTIN_PREDICATES:
            return
        sub = self.wf.subworkflows.get(name)
        if sub is None:
            self.add(
                where, f"retry predicate {name!r} is neither a subworkflow nor a built-in predicate"
            )
        elif len(sub.params) < 1 or sum(1 for p in sub.params if not p.has_default) > 1:
            self.add(where, f"retry predicate {name!r} must take exactly one parameter (the error)")

    def call(self, step: CallStep, ctx: _Ctx) -> None:
        if step.result:
            self.write(step.result, step.where, ctx)
        if step.args is not None:
            self.expressions(step.args.expressions(), ctx.visible, step.where)
        given = [k for k, _ in step.args.entries] if isinstance(step.args, MapValue) else None
        sub = self.wf.subworkflows.get(step.function)
        if sub is not None:
            self.named_args(
                step,
                given,
                [p.name for p in sub.params],
                [p.name for p in sub.params if not p.has_default],
            )
        elif stdlib.is_known(step.function):
            fn = stdlib.FUNCTIONS[step.function]
            names = [p.name for p in fn.params]
            self.named_args(step, given, names, [p.name for p in fn.params if p.required])
        elif step.function in self.connectors:
            if given is not None and "connector_params" in given:
                pass
        else:
            self.add(
                step.where,
                f"step {step.name!r}: call {step.function!r} is not a subworkflow, a supported standard-library function or a supported connector",
                "bp workflow check lists what is supported (docs/WORKFLOWS.md)",
            )

    def named_args(
        self, step: CallStep, given: list[str] | None, names: list[str], required: list[str]
    ) -> None:
        if given is None:
            given = []
        for key in given:
            if key not in names:
                self.add(
                    step.where,
                    f"step {step.name!r}: {step.function} has no parameter {key!r}",
                    f"parameters: {', '.join(names) or '(none)'}",
                )
        for key in required:
            if key not in given:
                self.add(step.where, f"step {step.name!r}: {step.function} needs argument {key!r}")

    def expressions(
        self, exprs: Iterable[Expression], visible: frozenset[str], where: Where
    ) -> None:
        for expr in exprs:
            for name in sorted(expr.names_read() - visible):
                self.add(
                    where,
                    f"${{{expr.source[:60]}}} reads {name!r}, which is not assigned where this step can see it",
                    "loop and branch variables do not exist outside them",
                )
            for fn in sorted(expr.functions_called()):
                if fn in self.wf.subworkflows:
                    continue
                if not stdlib.is_known(fn):
                    self.add(
                        where,
                        f"${{{expr.source[:60]}}} calls {fn!r}, which is not a supported function",
                    )
                elif not stdlib.FUNCTIONS[fn].in_expressions:
                    self.add(
                        where, f"${{{expr.source[:60]}}}: {fn} can only be used in a call step"
                    )


def _assigned_here(steps: tuple[Step, ...]) -> Iterator[str]:
    """Names assigned by these steps in their own scope (not inside loops or branches)."""
    for step in steps:
        yield from _assigned_by(step)


def _assigned_by(step: Step) -> Iterator[str]:
    if isinstance(step, AssignStep):
        yield from (t.name for t, _ in step.assigns)
    elif isinstance(step, CallStep) and step.result:
        yield step.result
    elif isinstance(step, SwitchStep):
        for cond in step.conditions:
            if cond.body is not None:
                yield from _assigned_by(cond.body)
    elif isinstance(step, TryStep):
        yield from _assigned_here(step.body)
        if step.except_as:
            yield step.except_as
        yield from _assigned_here(step.except_steps or ())
    elif isinstance(step, StepsStep):
        yield from _assigned_here(step.steps)


def _all_steps(steps: Iterable[Step]) -> Iterator[Step]:
    for step in steps:
        yield step
        if isinstance(step, StepsStep):
            yield from _all_steps(step.steps)
        elif isinstance(step, ForStep):
            yield from _all_steps(step.loop.steps)
        elif isinstance(step, ParallelStep):
            for b in step.branches:
                yield from _all_steps(b.steps)
            if step.loop is not None:
                yield from _all_steps(step.loop.steps)
        elif isinstance(step, TryStep):
            yield from _all_steps(step.body)
            yield from _all_steps(step.except_steps or ())
        elif isinstance(step, SwitchStep):
            for cond in step.conditions:
                if cond.body is not None:
                    yield from _all_steps([cond.body])


def check(wf: Workflow, connectors: frozenset[str]) -> list[LoadProblem]:
    """Every problem of the loaded workflow (empty when it can run here)."""
    return _Checker(wf, connectors).run()


def template_names(t: Template) -> frozenset[str]:
    """Variables a template reads (for callers that check args themselves)."""
    out: set[str] = set()
    for e in t.expressions():
        out |= e.names_read()
    return frozenset(out)
