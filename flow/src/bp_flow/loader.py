"""Load a workflow file into :mod:`bp_flow.model`, refusing anything outside the subset.

Structure is checked here (which keys a step may have, what each value must be); the
meaning is checked by :mod:`bp_flow.checks` (jumps, calls, variables, shared writes).
Every problem is collected and reported at once, each with its file and line.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bp_flow import checks
from bp_flow.blocks import BlockBuilder
from bp_flow.errors import LoadError, LoadProblem
from bp_flow.expr import is_expression
from bp_flow.model import (
    AssignStep,
    CallStep,
    Condition,
    JumpStep,
    Param,
    RaiseStep,
    ReturnStep,
    Step,
    StepsStep,
    Subworkflow,
    SwitchStep,
    Workflow,
)
from bp_flow.source import Source, SourceError, compose, items
from bp_flow.targets import TargetSyntaxError, parse_target
from bp_flow.templates import Template, compile_value

# step keys and the keys allowed beside them
_KINDS: dict[str, frozenset[str]] = {
    "assign": frozenset({"next"}),
    "call": frozenset({"args", "result", "next"}),
    "switch": frozenset({"next"}),
    "for": frozenset({"next"}),
    "parallel": frozenset({"next"}),
    "try": frozenset({"retry", "except", "next"}),
    "raise": frozenset(),
    "return": frozenset(),
    "steps": frozenset({"next"}),
}
_ALL_KEYS = frozenset(_KINDS) | {"args", "result", "next", "retry", "except"}
MAX_PARAMS = 10


class _Builder(BlockBuilder):
    """Builds the model of one file, collecting problems."""

    def __init__(self, src: Source) -> None:
        self.src = src
        self.problems: list[LoadProblem] = []

    # ------------------------------------------------------------------ helpers
    def problem(self, node: Node, text: str, hint: str = "") -> None:
        self.problems.append(LoadProblem(self.src.where(node), text, hint))

    def value(self, node: Node) -> Template:
        return compile_value(self.src, node, self.problems)

    def string(self, node: Node, what: str) -> str | None:
        if isinstance(node, ScalarNode):
            v = self.src.value(node)
            if isinstance(v, str) and v:
                return v
        self.problem(node, f"{what} must be a non-empty string")
        return None

    def mapping(self, node: Node, what: str) -> MappingNode | None:
        if isinstance(node, MappingNode):
            return node
        self.problem(node, f"{what} must be a map")
        return None

    # ------------------------------------------------------------------ file
    def workflow(self, root: Node) -> Workflow:
        wf = Workflow(self.src.name)
        if isinstance(root, SequenceNode):  # a bare list of steps is `main`
            wf.subworkflows["main"] = Subworkflow(
                "main", self.src.where(root), (), self.steps(root)
            )
            return wf
        if not isinstance(root, MappingNode):
            self.problem(root, "a workflow is a list of steps or a map with `main`")
            return wf
        for name, key_node, body in items(root):
            if not isinstance(name, str) or not name:
                self.problem(key_node, f"subworkflow name {name!r} is not a string")
                continue
            sub = self.subworkflow(name, body)
            if sub is not None:
                wf.subworkflows[name] = sub
        if "main" not in wf.subworkflows:
            self.problem(
                root, "no `main` workflow", "a file with subworkflows needs a `main:` entry"
            )
        return wf

    def subworkflow(self, name: str, node: Node) -> Subworkflow | None:
        body = self.mapping(node, f"subworkflow {name!r}")
        if body is None:
            return None
        params: tuple[Param, ...] = ()
        steps: tuple[Step, ...] = ()
        for key, key_node, value in items(body):
            if key == "params":
                params = self.params(name, value)
            elif key == "steps":
                steps = self.steps(value)
            else:
                self.problem(
                    key_node, f"subworkflow {name!r}: unknown key {key!r}", "only params and steps"
                )
        if not steps:
            self.problem(node, f"subworkflow {name!r} has no steps")
        if name == "main" and len(params) > 1:
            self.problem(node, "main takes at most one parameter (the runtime arguments)")
        return Subworkflow(name, self.src.where(node), params, steps)

    def params(self, owner: str, node: Node) -> tuple[Param, ...]:
        if not isinstance(node, SequenceNode):
            self.problem(node, f"{owner}: params must be a list")
            return ()
        out: list[Param] = []
        for item in node.value:
            if isinstance(item, ScalarNode) and isinstance(self.src.value(item), str):
                out.append(Param(self.src.value(item)))
            elif isinstance(item, MappingNode) and len(item.value) == 1:
                ((key, _kn, default),) = items(item)
                out.append(Param(str(key), True, self.value(default)))
            else:
                self.problem(item, f"{owner}: a parameter is a name or `name: default`")
        names = [p.name for p in out]
        for dup in {n for n in names if names.count(n) > 1}:
            self.problem(node, f"{owner}: parameter {dup!r} is listed twice")
        if len(out) > MAX_PARAMS:
            self.problem(node, f"{owner}: at most {MAX_PARAMS} parameters")
        return tuple(out)

    # ------------------------------------------------------------------ steps
    def steps(self, node: Node) -> tuple[Step, ...]:
        if not isinstance(node, SequenceNode) or not node.value:
            self.problem(node, "steps must be a non-empty list of `- name: {...}` entries")
            return ()
        out: list[Step] = []
        for item in node.value:
            if not isinstance(item, MappingNode) or len(item.value) != 1:
                self.problem(item, "each step is a map with exactly one key: its name")
                continue
            ((name, key_node, body),) = items(item)
            if not isinstance(name, str) or not name:
                self.problem(key_node, f"step name {name!r} is not a string")
                continue
            step = self.step(name, body, item)
            if step is not None:
                out.append(step)
        return tuple(out)

    def step(self, name: str, node: Node, at: Node | None = None) -> Step | None:
        body = self.mapping(node, f"step {name!r}")
        if body is None:
            return None
        fields = {key: (kn, v) for key, kn, v in items(body)}
        return self.step_from(name, at or node, fields)

    def step_from(self, name: str, node: Node, fields: dict[Any, tuple[Node, Node]]) -> Step | None:
        unknown = [k for k in fields if k not in _ALL_KEYS]
        for key in unknown:
            self.problem(
                fields[key][0],
                f"step {name!r}: unknown key {key!r}",
                "supported: " + ", ".join(sorted(_ALL_KEYS)),
            )
        kinds = [k for k in fields if k in _KINDS]
        if len(kinds) > 1:
            self.problem(node, f"step {name!r} mixes {', '.join(kinds)}: one kind per step")
            return None
        nxt = self.string(fields["next"][1], f"step {name!r}: next") if "next" in fields else None
        where = self.src.where(node)
        if not kinds:
            extra = [k for k in fields if k not in {"next"} and k in _ALL_KEYS]
            if extra:
                self.problem(
                    node, f"step {name!r}: {', '.join(extra)} without the step it belongs to"
                )
            if nxt is None and not unknown:
                self.problem(node, f"step {name!r} does nothing")
            return JumpStep(name, where, nxt)
        kind = kinds[0]
        for key in fields:
            if key in _ALL_KEYS and key != kind and key not in _KINDS[kind]:
                self.problem(fields[key][0], f"step {name!r}: {key!r} does not go with {kind!r}")
        build: Any = getattr(self, f"_{kind}")
        step: Step | None = build(name, where, nxt, fields)
        return step

    def _assign(
        self, name: str, where: Any, nxt: str | None, f: dict[Any, tuple[Node, Node]]
    ) -> Step:
        node = f["assign"][1]
        assigns = []
        if not isinstance(node, SequenceNode) or not node.value:
            self.problem(node, f"step {name!r}: assign is a non-empty list of `- target: value`")
        else:
            for item in node.value:
                if not isinstance(item, MappingNode) or len(item.value) != 1:
                    self.problem(item, f"step {name!r}: each assignment is one `target: value`")
                    continue
                ((target, kn, value),) = items(item)
                try:
                    parsed = parse_target(str(target))
                except TargetSyntaxError as err:
                    self.problem(kn, f"step {name!r}: {err}")
                    continue
                assigns.append((parsed, self.value(value)))
        return AssignStep(name, where, nxt, tuple(assigns))

    def _call(
        self, name: str, where: Any, nxt: str | None, f: dict[Any, tuple[Node, Node]]
    ) -> Step:
        function = self.string(f["call"][1], f"step {name!r}: call") or ""
        if function and is_expression(function):
            self.problem(
                f["call"][1], f"step {name!r}: call takes a function name, not an expression"
            )
        args = self.value(f["args"][1]) if "args" in f else None
        if "args" in f and not isinstance(f["args"][1], MappingNode):
            self.problem(f["args"][1], f"step {name!r}: args must be a map of named arguments")
        result = self.string(f["result"][1], f"step {name!r}: result") if "result" in f else None
        return CallStep(name, where, nxt, function, args, result)

    def _switch(
        self, name: str, where: Any, nxt: str | None, f: dict[Any, tuple[Node, Node]]
    ) -> Step:
        node = f["switch"][1]
        conds: list[Condition] = []
        if not isinstance(node, SequenceNode) or not node.value:
            self.problem(node, f"step {name!r}: switch is a non-empty list of conditions")
            return SwitchStep(name, where, nxt, ())
        for k, item in enumerate(node.value):
            body = self.mapping(item, f"step {name!r}: switch condition")
            if body is None:
                continue
            fields = {key: (kn, v) for key, kn, v in items(body)}
            if "condition" not in fields:
                self.problem(item, f"step {name!r}: switch entry without `condition`")
                continue
            cond = self.value(fields.pop("condition")[1])
            inner = self.step_from(f"{name}.switch[{k}]", item, fields) if fields else None
            conds.append(Condition(cond, inner, self.src.where(item)))
        return SwitchStep(name, where, nxt, tuple(conds))

    def _raise(
        self, name: str, where: Any, nxt: str | None, f: dict[Any, tuple[Node, Node]]
    ) -> Step:
        return RaiseStep(name, where, nxt, self.value(f["raise"][1]))

    def _return(
        self, name: str, where: Any, nxt: str | None, f: dict[Any, tuple[Node, Node]]
    ) -> Step:
        return ReturnStep(name, where, nxt, self.value(f["return"][1]))

    def _steps(
        self, name: str, where: Any, nxt: str | None, f: dict[Any, tuple[Node, Node]]
    ) -> Step:
        return StepsStep(name, where, nxt, self.steps(f["steps"][1]))


def load_text(text: str, name: str, connectors: Collection[str] = ()) -> Workflow:
    """Load and check a workflow from its text; :class:`LoadError` lists every problem."""
    src = Source(name, text)
    builder = _Builder(src)
    try:
        wf = builder.workflow(compose(src))
    except SourceError as err:
        raise LoadError(name, [err.problem]) from None
    if not builder.problems:
        builder.problems.extend(checks.check(wf, frozenset(connectors)))
    if builder.problems:
        raise LoadError(name, builder.problems)
    return wf


def load_file(path: Path, connectors: Collection[str] = ()) -> Workflow:
    """Load and check a workflow file (its name in messages is the path as given)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LoadError(
            str(path),
            [
                LoadProblem(
                    checks.where_file(str(path)), f"cannot read the file: {type(exc).__name__}"
                )
            ],
        ) from None
    return load_text(text, str(path), connectors)
