"""Terraform expressions evaluated, for tests that cannot run ``terraform``.

:class:`Scope` evaluates the small subset of Terraform expressions the consistency tests
need (parsed by ``tests/infra/tfexpr.py``): references (``var.*``, ``local.*``, ``each.*``),
string templates, literals, ``a ? b : c``, comparisons and a handful of functions (``merge``,
``join``, ``coalesce``, ``try``, ...). Anything else (``module.*`` outputs, unknown
functions) evaluates to :data:`UNKNOWN`, and the tests say so instead of guessing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from tests.infra.tfexpr import EvalError, parse_expression, template_node


class _Unknown:
    """A value Terraform only knows at plan/apply time (or this evaluator does not model)."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()


class Symbol(str):
    """A module output named by the reference that reads it (``module.job_sa.episodes.iam_email``),
    for checks of *who* gets a grant; only a :class:`Scope` made with ``symbolic_modules``
    gives these (elsewhere ``module.*`` is :data:`UNKNOWN`). Attribute and index steps both
    append ``.<key>``."""

    def __getitem__(self, key: Any) -> Symbol:
        return Symbol(f"{self}.{key}")


def _tf_str(v: Any) -> str:
    if v is UNKNOWN:
        raise _UnknownError
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (dict, list)) or v is None:
        raise EvalError(f"cannot interpolate {v!r}")
    return str(v)


class _UnknownError(Exception):
    pass


def _jsonencode(v: Any) -> str:
    return json.dumps(v, sort_keys=True, separators=(",", ":"))


def _merge(*maps: Any) -> Any:
    out: dict[str, Any] = {}
    for m in maps:
        if m is UNKNOWN:
            return UNKNOWN
        if m is None:
            continue
        if not isinstance(m, dict):
            raise EvalError(f"merge of a non-map {m!r}")
        out.update(m)
    return out


def _coalesce(*vals: Any) -> Any:
    for v in vals:
        if v is UNKNOWN:
            return UNKNOWN
        if v is not None and v != "":
            return v
    raise EvalError("coalesce: no non-null, non-empty argument")


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "merge": _merge,
    "join": lambda sep, items: sep.join(_tf_str(x) for x in items),
    "coalesce": _coalesce,
    "trimsuffix": lambda s, suf: s.removesuffix(suf),
    "trimprefix": lambda s, pre: s.removeprefix(pre),
    "jsonencode": _jsonencode,
    "tostring": _tf_str,
    "lower": lambda s: s.lower(),
    "substr": lambda s, off, n: s[off : off + n] if n >= 0 else s[off:],
    "sha256": lambda s: hashlib.sha256(s.encode()).hexdigest(),
    "keys": sorted,
    "values": lambda m: [m[k] for k in sorted(m)],
    "concat": lambda *ls: [x for item in ls for x in item],
    "length": len,
    "toset": lambda xs: sorted(set(xs)),
    "tolist": list,
    "sort": sorted,
    "contains": lambda xs, x: x in xs,
    "floor": lambda x: int(x // 1),
}


class Scope:
    """Evaluation context of one module: its variables, its locals, and ``each``."""

    def __init__(
        self,
        variables: dict[str, Any],
        locals_raw: dict[str, Any],
        each: dict[str, Any] | None = None,
        resources: dict[tuple[str, str], dict[str, Any]] | None = None,
        symbolic_modules: bool = False,
    ) -> None:
        self.variables = variables
        self.locals_raw = locals_raw
        self.each = each
        self.resources = resources or {}
        self.symbolic_modules = symbolic_modules
        self._locals: dict[str, Any] = {}

    def with_each(self, key: str, value: Any) -> Scope:
        """This scope with ``each.key`` / ``each.value`` bound."""
        child = Scope(
            self.variables,
            self.locals_raw,
            {"key": key, "value": value},
            self.resources,
            self.symbolic_modules,
        )
        child._locals = self._locals
        return child

    def local(self, name: str) -> Any:
        """A local value (evaluated once, lazily)."""
        if name not in self._locals:
            if name not in self.locals_raw:
                raise EvalError(f"no local.{name}")
            self._locals[name] = Scope(
                self.variables,
                self.locals_raw,
                resources=self.resources,
                symbolic_modules=self.symbolic_modules,
            ).value(self.locals_raw[name])
        return self._locals[name]

    # -- values as python-hcl2 gives them
    def value(self, raw: Any, bound: dict[str, Any] | None = None) -> Any:
        """Evaluate a python-hcl2 value (dicts, lists, strings holding templates), with
        iteration variables ``bound`` (e.g. a dynamic block's ``<label>.key``/``.value``)."""
        if isinstance(raw, dict):
            return {k: self.value(v, bound) for k, v in raw.items() if k != "__is_block__"}
        if isinstance(raw, list):
            return [self.value(v, bound) for v in raw]
        if isinstance(raw, str):
            return self.eval(template_node(raw, literal_escaped=False), bound or {})
        return raw

    def expr(self, src: str) -> Any:
        """Evaluate one expression's source text."""
        return self.eval(parse_expression(src), {})

    def root(self, name: str, bound: dict[str, Any]) -> Any:
        """The value a bare identifier names."""
        if name in bound:
            return bound[name]
        if name == "var":
            return self.variables
        if name == "each":
            if self.each is None:
                raise EvalError("each used outside for_each")
            return self.each
        named = {n: _Configured(self, b) for (t, n), b in self.resources.items() if t == name}
        if named:
            return named  # <type>.<name>.<argument>: what the configuration sets
        if name == "module" and self.symbolic_modules:
            return Symbol("module")
        return UNKNOWN  # module.*, data.*, path.*

    def eval(self, node: tuple[Any, ...], bound: dict[str, Any]) -> Any:
        """Evaluate a parsed expression with iteration variables ``bound``."""
        kind = node[0]
        if kind == "lit":
            return node[1]
        if kind == "tmpl":
            out = []
            for part in node[1]:
                if isinstance(part, str):
                    out.append(part)
                    continue
                v = self.eval(part, bound)
                if v is UNKNOWN:
                    return UNKNOWN
                out.append(_tf_str(v))
            return "".join(out)
        if kind == "ref":
            return self.root(node[1], bound)
        if kind == "local":
            return self.local(node[1])
        if kind == "attr":
            return _index(self.eval(node[1], bound), node[2])
        if kind == "index":
            return _index(self.eval(node[1], bound), self.eval(node[2], bound))
        if kind == "list":
            return [self.eval(n, bound) for n in node[1]]
        if kind == "obj":
            obj = {}
            for knode, vnode in node[1]:
                key = self.eval(knode, bound)
                if key is UNKNOWN:
                    return UNKNOWN
                obj[_tf_str(key)] = self.eval(vnode, bound)
            return obj
        if kind == "unop":
            v = self.eval(node[2], bound)
            if v is UNKNOWN:
                return UNKNOWN
            return (not v) if node[1] == "!" else -v
        if kind == "binop":
            return _binop(node[1], self.eval(node[2], bound), self.eval(node[3], bound))
        if kind == "cond":
            c = self.eval(node[1], bound)
            if c is UNKNOWN:
                return UNKNOWN
            return self.eval(node[2] if c else node[3], bound)
        if kind == "call":
            return self._call(node, bound)
        if kind == "for":
            return self._for(node, bound)
        raise EvalError(f"unknown node {kind}")

    def _call(self, node: tuple[Any, ...], bound: dict[str, Any]) -> Any:
        _kind, name, arg_nodes, expand = node
        if name == "try":
            for arg in arg_nodes:
                try:
                    return self.eval(arg, bound)
                except EvalError:
                    continue
            raise EvalError("try: every argument failed")
        if name == "can":
            try:
                self.eval(arg_nodes[0], bound)
            except EvalError:
                return False
            return True
        args = [self.eval(a, bound) for a in arg_nodes]
        if expand:
            if args[-1] is UNKNOWN:
                return UNKNOWN
            args = [*args[:-1], *args[-1]]
        fn = FUNCTIONS.get(name)
        if fn is None or any(a is UNKNOWN for a in args):
            return UNKNOWN
        try:
            return fn(*args)
        except _UnknownError:
            return UNKNOWN

    def _for(self, node: tuple[Any, ...], bound: dict[str, Any]) -> Any:
        _kind, is_obj, kvar, vvar, coll_node, key_node, val_node, cond_node, group = node
        coll = self.eval(coll_node, bound)
        if coll is UNKNOWN:
            return UNKNOWN
        items = list(coll.items()) if isinstance(coll, dict) else list(enumerate(coll))
        out_list: list[Any] = []
        out_obj: dict[str, Any] = {}
        for k, v in items:
            inner = {**bound, vvar: v}
            if kvar is not None:
                inner[kvar] = k
            if cond_node is not None:
                c = self.eval(cond_node, inner)
                if c is UNKNOWN:
                    return UNKNOWN
                if not c:
                    continue
            value = self.eval(val_node, inner)
            if not is_obj:
                out_list.append(value)
                continue
            key = self.eval(key_node, inner)
            if key is UNKNOWN:
                return UNKNOWN
            if group:
                out_obj.setdefault(_tf_str(key), []).append(value)
            else:
                out_obj[_tf_str(key)] = value
        return out_obj if is_obj else out_list


class _Configured:
    """A resource of this module: its configured arguments; computed ones are UNKNOWN."""

    def __init__(self, scope: Scope, body: dict[str, Any]) -> None:
        self.scope, self.body = scope, body

    def __getitem__(self, attr: str) -> Any:
        if attr not in self.body or "for_each" in self.body or "count" in self.body:
            return UNKNOWN
        return Scope(
            self.scope.variables, self.scope.locals_raw, resources=self.scope.resources
        ).value(self.body[attr])


def _index(value: Any, key: Any) -> Any:
    if value is UNKNOWN or key is UNKNOWN:
        return UNKNOWN
    try:
        return value[key]
    except (KeyError, IndexError, TypeError):
        raise EvalError(f"no element {key!r}") from None


_BINOPS: dict[str, Callable[[Any, Any], Any]] = {
    "||": lambda x, y: x or y,
    "&&": lambda x, y: x and y,
    "==": lambda x, y: x == y,
    "!=": lambda x, y: x != y,
    ">": lambda x, y: x > y,
    "<": lambda x, y: x < y,
    ">=": lambda x, y: x >= y,
    "<=": lambda x, y: x <= y,
    "+": lambda x, y: x + y,
    "-": lambda x, y: x - y,
    "*": lambda x, y: x * y,
    "/": lambda x, y: x / y,
    "%": lambda x, y: x % y,
}


def _binop(op: str, a: Any, b: Any) -> Any:
    if a is UNKNOWN or b is UNKNOWN:
        return UNKNOWN
    return _BINOPS[op](a, b)
