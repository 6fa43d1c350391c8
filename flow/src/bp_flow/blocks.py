"""Building the block constructs of a step — ``for``, ``parallel``, ``try``/``retry``/
``except`` — for :mod:`bp_flow.loader` (which supplies the shared helpers)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bp_flow.errors import LoadProblem
from bp_flow.expr import expression_text, is_expression
from bp_flow.model import (
    Backoff,
    Branch,
    ForLoop,
    ForStep,
    ParallelStep,
    RetryPolicy,
    Step,
    TryStep,
)
from bp_flow.source import Source, items
from bp_flow.templates import Literal, Template

# Cloud Workflows' documented default policies
DEFAULT_POLICIES = {
    "http.default_retry": ("http.default_retry_predicate", 5, Backoff(1.0, 60.0, 1.25)),
    "http.default_retry_non_idempotent": (
        "http.default_retry_predicate_non_idempotent",
        5,
        Backoff(1.0, 60.0, 1.25),
    ),
}


class BlockBuilder(ABC):
    """The block constructs; the loader's builder provides the helpers declared here."""

    src: Source
    problems: list[LoadProblem]

    @abstractmethod
    def problem(self, node: Node, text: str, hint: str = "") -> None:
        """Record a problem at the node's line."""

    @abstractmethod
    def value(self, node: Node) -> Template:
        """Compile a value."""

    @abstractmethod
    def string(self, node: Node, what: str) -> str | None:
        """A non-empty string, or a problem."""

    @abstractmethod
    def mapping(self, node: Node, what: str) -> MappingNode | None:
        """A mapping node, or a problem."""

    @abstractmethod
    def steps(self, node: Node) -> tuple[Step, ...]:
        """A list of steps."""

    @abstractmethod
    def step(self, name: str, node: Node, at: Node | None = None) -> Step | None:
        """One step."""

    def loop(self, owner: str, node: Node) -> ForLoop | None:
        body = self.mapping(node, f"step {owner!r}: for")
        if body is None:
            return None
        fields = {key: (kn, v) for key, kn, v in items(body)}
        for key in fields:
            if key not in {"value", "index", "in", "range", "steps"}:
                self.problem(fields[key][0], f"step {owner!r}: for: unknown key {key!r}")
        value = (
            self.string(fields["value"][1], f"step {owner!r}: for.value")
            if "value" in fields
            else None
        )
        if value is None:
            self.problem(node, f"step {owner!r}: for needs `value` (the loop variable)")
        index = (
            self.string(fields["index"][1], f"step {owner!r}: for.index")
            if "index" in fields
            else None
        )
        items_t = self.value(fields["in"][1]) if "in" in fields else None
        rng = None
        if "range" in fields:
            rnode = fields["range"][1]
            is_expr = isinstance(rnode, ScalarNode) and is_expression(str(self.src.value(rnode)))
            if (isinstance(rnode, SequenceNode) and len(rnode.value) == 2) or is_expr:
                rng = self.value(rnode)
            else:
                self.problem(rnode, f"step {owner!r}: range is [start, end] (both inclusive)")
        if (items_t is None) == ("range" not in fields):
            self.problem(node, f"step {owner!r}: for needs exactly one of `in` and `range`")
        if rng is not None and index is not None:
            self.problem(node, f"step {owner!r}: `index` goes with `in`, not `range`")
        steps = self.steps(fields["steps"][1]) if "steps" in fields else ()
        if "steps" not in fields:
            self.problem(node, f"step {owner!r}: for needs steps")
        return ForLoop(value or "", index, items_t, rng, steps)

    def _for(
        self, name: str, where: Any, nxt: str | None, f: dict[Any, tuple[Node, Node]]
    ) -> Step | None:
        loop = self.loop(name, f["for"][1])
        return ForStep(name, where, nxt, loop) if loop is not None else None

    def _parallel(
        self, name: str, where: Any, nxt: str | None, f: dict[Any, tuple[Node, Node]]
    ) -> Step | None:
        body = self.mapping(f["parallel"][1], f"step {name!r}: parallel")
        if body is None:
            return None
        fields = {key: (kn, v) for key, kn, v in items(body)}
        for key in fields:
            if key not in {"shared", "concurrency_limit", "exception_policy", "branches", "for"}:
                self.problem(fields[key][0], f"step {name!r}: parallel: unknown key {key!r}")
        shared: tuple[str, ...] = ()
        if "shared" in fields:
            raw = self.src.value(fields["shared"][1])
            if isinstance(raw, list) and all(isinstance(x, str) and x for x in raw):
                shared = tuple(raw)
            else:
                self.problem(
                    fields["shared"][1], f"step {name!r}: shared is a list of variable names"
                )
        policy = "continueAll"
        if "exception_policy" in fields:
            policy = str(self.src.value(fields["exception_policy"][1]))
            if policy != "continueAll":
                self.problem(
                    fields["exception_policy"][1],
                    f"step {name!r}: exception_policy {policy!r} is not supported",
                    "continueAll is the only policy",
                )
        limit = (
            self.value(fields["concurrency_limit"][1]) if "concurrency_limit" in fields else None
        )
        if isinstance(limit, Literal) and (
            isinstance(limit.value, bool) or not isinstance(limit.value, int) or limit.value < 1
        ):
            self.problem(
                fields["concurrency_limit"][1],
                f"step {name!r}: concurrency_limit must be a positive integer",
            )
        has_b, has_f = "branches" in fields, "for" in fields
        if has_b == has_f:
            self.problem(body, f"step {name!r}: parallel needs exactly one of `branches` and `for`")
        branches = self.branches(name, fields["branches"][1]) if has_b else ()
        loop = self.loop(name, fields["for"][1]) if has_f else None
        return ParallelStep(name, where, nxt, shared, limit, policy, branches, loop)

    def branches(self, owner: str, node: Node) -> tuple[Branch, ...]:
        if not isinstance(node, SequenceNode) or len(node.value) < 2:
            self.problem(
                node,
                f"step {owner!r}: branches is a list of at least two `- name: {{steps: [...]}}`",
            )
            return ()
        out = []
        for item in node.value:
            if not isinstance(item, MappingNode) or len(item.value) != 1:
                self.problem(item, f"step {owner!r}: each branch is one `name: {{steps: [...]}}`")
                continue
            ((bname, _kn, body),) = items(item)
            bmap = self.mapping(body, f"branch {bname!r}")
            if bmap is None:
                continue
            fields = {key: (kn, v) for key, kn, v in items(bmap)}
            if set(fields) != {"steps"}:
                self.problem(body, f"branch {bname!r} holds only `steps`")
            steps = self.steps(fields["steps"][1]) if "steps" in fields else ()
            out.append(Branch(str(bname), self.src.where(item), steps))
        return tuple(out)

    def _try(self, name: str, where: Any, nxt: str | None, f: dict[Any, tuple[Node, Node]]) -> Step:
        node = f["try"][1]
        if isinstance(node, SequenceNode):
            body = self.steps(node)
        else:
            inner = self.step(f"{name}.try", node)
            body = (inner,) if inner is not None else ()
        retry = self.retry(name, f["retry"][1]) if "retry" in f else None
        except_as, except_steps = None, None
        if "except" in f:
            ex = self.mapping(f["except"][1], f"step {name!r}: except")
            if ex is not None:
                fields = {key: (kn, v) for key, kn, v in items(ex)}
                for key in fields:
                    if key not in {"as", "steps"}:
                        self.problem(fields[key][0], f"step {name!r}: except: unknown key {key!r}")
                if "as" in fields:
                    except_as = self.string(fields["as"][1], f"step {name!r}: except.as")
                except_steps = self.steps(fields["steps"][1]) if "steps" in fields else ()
                if "steps" not in fields:
                    self.problem(ex, f"step {name!r}: except needs steps")
        if retry is None and except_steps is None:
            self.problem(node, f"step {name!r}: try needs retry or except")
        return TryStep(name, where, nxt, body, retry, except_as, except_steps)

    def retry(self, owner: str, node: Node) -> RetryPolicy | None:
        if isinstance(node, ScalarNode):
            text = str(self.src.value(node))
            policy = (
                DEFAULT_POLICIES.get(expression_text(text).strip()) if is_expression(text) else None
            )
            if policy is None:
                self.problem(
                    node,
                    f"step {owner!r}: retry {text!r} is not a known policy",
                    "use ${http.default_retry} or a map with predicate, max_retries and backoff",
                )
                return None
            return RetryPolicy(*policy)
        body = self.mapping(node, f"step {owner!r}: retry")
        if body is None:
            return None
        raw = self.src.value(body)
        for key in raw:
            if key not in {"predicate", "max_retries", "backoff"}:
                self.problem(body, f"step {owner!r}: retry: unknown key {key!r}")
        pred = raw.get("predicate")
        if not (isinstance(pred, str) and is_expression(pred)):
            self.problem(
                body,
                f"step {owner!r}: retry.predicate must be ${{name}} of a subworkflow or built-in predicate",
            )
            pred = "${http.default_retry_predicate}"
        retries = raw.get("max_retries")
        if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 100:
            self.problem(body, f"step {owner!r}: retry.max_retries must be an integer 0..100")
            retries = 0
        b = raw.get("backoff")
        backoff = Backoff(1.0, 60.0, 1.25)
        if not isinstance(b, dict) or set(b) - {"initial_delay", "max_delay", "multiplier"}:
            self.problem(
                body,
                f"step {owner!r}: retry.backoff is a map of initial_delay, max_delay and multiplier",
            )
        else:
            vals = [
                b.get("initial_delay", 1.0),
                b.get("max_delay", 60.0),
                b.get("multiplier", 1.25),
            ]
            if not all(
                isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in vals
            ):
                self.problem(
                    body, f"step {owner!r}: retry.backoff values must be non-negative numbers"
                )
            else:
                backoff = Backoff(float(vals[0]), float(vals[1]), float(vals[2]))
        return RetryPolicy(expression_text(pred).strip(), retries, backoff)
