"""Terraform configuration as data, for tests that cannot run ``terraform``.

:func:`load` parses every ``.tf`` file of ``infra/terraform`` (root and ``modules/*``) with
python-hcl2. :class:`Scope` evaluates the small subset of Terraform expressions the
consistency tests need: references (``var.*``, ``local.*``, ``each.*``), string templates,
literals, ``a ? b : c``, comparisons and a handful of functions (``merge``, ``join``,
``coalesce``, ``try``, ...). Anything else (``module.*`` outputs, ``for`` expressions,
unknown functions) evaluates to :data:`UNKNOWN`, and the tests say so instead of guessing.

Variable values follow Terraform: the value given (``terraform.tfvars.example``) or the
default, with ``optional(type, default)`` attributes of object types filled in.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2
from hcl2.utils import SerializationOptions

REPO = Path(__file__).resolve().parents[2]
TF_ROOT = REPO / "infra" / "terraform"
OPTIONS = SerializationOptions(
    with_comments=False, strip_string_quotes=True, preserve_heredocs=False
)
META_ARGS = frozenset({"count", "for_each", "depends_on", "provider", "lifecycle", "__is_block__"})


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


class EvalError(Exception):
    """An expression this evaluator cannot parse or that fails (e.g. a missing map key)."""


# ----------------------------------------------------------------------------- loading


def parse_file(path: Path) -> dict[str, Any]:
    """One HCL file as python-hcl2 data (labels and strings unquoted)."""
    return hcl2.loads(path.read_text(encoding="utf-8"), serialization_options=OPTIONS)


def is_block(value: Any) -> bool:
    """True for a list of nested blocks (python-hcl2 marks each with ``__is_block__``)."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, dict) and v.get("__is_block__") for v in value)
    )


@dataclass
class Module:
    """The top-level blocks of one Terraform module (one folder)."""

    path: Path
    resources: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    data: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    calls: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    terraform: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)  # "resource.type.name" -> file


def load_module(folder: Path) -> Module:
    """Parse every ``*.tf`` file directly in ``folder``."""
    mod = Module(folder)
    for path in sorted(folder.glob("*.tf")):
        doc = parse_file(path)
        for item in doc.get("resource", []):
            for rtype, named in item.items():
                for name, body in named.items():
                    mod.resources[(rtype, name)] = body
                    mod.files[f"resource.{rtype}.{name}"] = path
        for item in doc.get("data", []):
            for dtype, named in item.items():
                for name, body in named.items():
                    mod.data[(dtype, name)] = body
        for item in doc.get("variable", []):
            mod.variables.update({k: v for k, v in item.items() if k != "__is_block__"})
        for item in doc.get("locals", []):
            mod.locals.update({k: v for k, v in item.items() if k != "__is_block__"})
        for item in doc.get("module", []):
            mod.calls.update({k: v for k, v in item.items() if k != "__is_block__"})
        for item in doc.get("output", []):
            mod.outputs.update({k: v for k, v in item.items() if k != "__is_block__"})
        mod.terraform.extend(doc.get("terraform", []))
    return mod


def load(root: Path = TF_ROOT) -> dict[str, Module]:
    """The root module (key ``"."``) and every ``modules/<name>`` (key ``"modules/<name>"``)."""
    out = {".": load_module(root)}
    for folder in sorted((root / "modules").iterdir()):
        if folder.is_dir():
            out[f"modules/{folder.name}"] = load_module(folder)
    return out


def call_source(root: Path, call: dict[str, Any]) -> str:
    """``modules/<name>`` of a module call with ``source = "./modules/<name>"``."""
    return str(call["source"]).removeprefix("./")


# ----------------------------------------------------------------------------- lexer

_PUNCT = ("==", "!=", ">=", "<=", "&&", "||", "=>", "...")
_SINGLE = "()[]{},.:?=<>!+-*/%"
_NUMBER = re.compile(r"\d+(\.\d+)?([eE][+-]?\d+)?")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


@dataclass
class Tok:
    """One token: kind is num, str (raw template text), ident or punct."""

    kind: str
    text: str


def _scan_string(src: str, i: int) -> tuple[str, int]:
    """The raw text of the quoted string starting at ``src[i] == '"'``; index after it."""
    j, depth = i + 1, 0
    while j < len(src):
        c = src[j]
        if c == "\\":
            j += 2
            continue
        if depth == 0 and c == '"':
            return src[i + 1 : j], j + 1
        if src.startswith("${", j):
            depth += 1
            j += 2
            continue
        if depth and c == "{":
            depth += 1
        elif depth and c == "}":
            depth -= 1
        elif depth and c == '"':
            _inner, j = _scan_string(src, j)
            continue
        j += 1
    raise EvalError(f"unterminated string in {src!r}")


def tokenize(src: str) -> list[Tok]:
    """Tokens of one expression."""
    out: list[Tok] = []
    i = 0
    while i < len(src):
        c = src[i]
        if c.isspace():
            i += 1
        elif c == '"':
            text, i = _scan_string(src, i)
            out.append(Tok("str", text))
        elif m := _NUMBER.match(src, i):
            out.append(Tok("num", m.group()))
            i = m.end()
        elif m := _IDENT.match(src, i):
            out.append(Tok("ident", m.group()))
            i = m.end()
        elif any(src.startswith(p, i) for p in _PUNCT):
            p = next(p for p in _PUNCT if src.startswith(p, i))
            out.append(Tok("punct", p))
            i += len(p)
        elif c in _SINGLE:
            out.append(Tok("punct", c))
            i += 1
        else:
            raise EvalError(f"unexpected {c!r} in {src!r}")
    return out


def unescape(text: str) -> str:
    """HCL string escapes of a literal part."""
    return text.replace('\\"', '"').replace("\\n", "\n").replace("\\t", "\t").replace("\\\\", "\\")


def template_parts(text: str) -> Iterator[tuple[bool, str]]:
    """``(is_expression, text)`` pieces of a template (``$${`` is a literal ``${``)."""
    i, lit = 0, []
    while i < len(text):
        if text.startswith("$${", i):
            lit.append("${")
            i += 3
        elif text.startswith("${", i):
            if lit:
                yield False, "".join(lit)
                lit = []
            j, depth = i + 2, 1
            while depth:
                if j >= len(text):
                    raise EvalError(f"unterminated interpolation in {text!r}")
                if text[j] == '"':
                    _s, j = _scan_string(text, j)
                    continue
                depth += {"{": 1, "}": -1}.get(text[j], 0)
                j += 1
            yield True, text[i + 2 : j - 1]
            i = j
        else:
            lit.append(text[i])
            i += 1
    if lit:
        yield False, "".join(lit)


# ----------------------------------------------------------------------------- evaluator


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
            return self.eval(_template_node(raw, literal_escaped=False), bound or {})
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


def _template_node(text: str, *, literal_escaped: bool) -> tuple[Any, ...]:
    """A template as a node: a lone ``${expr}`` keeps its value's type."""
    parts = list(template_parts(text))
    if len(parts) == 1 and parts[0][0]:
        return parse_expression(parts[0][1])
    return (
        "tmpl",
        [
            parse_expression(piece) if is_expr else (unescape(piece) if literal_escaped else piece)
            for is_expr, piece in parts
        ],
    )


def parse_expression(src: str) -> tuple[Any, ...]:
    """Parse one expression's source text into a node."""
    parser = _Parser(tokenize(src), src)
    node = parser.parse_expr()
    if parser.pos != len(parser.toks):
        raise EvalError(f"trailing input in {src!r}")
    return node


class _Parser:
    _LEVELS = (("||",), ("&&",), ("==", "!="), (">", "<", ">=", "<="), ("+", "-"), ("*", "/", "%"))

    def __init__(self, toks: list[Tok], src: str) -> None:
        self.toks, self.src, self.pos = toks, src, 0

    def peek(self, text: str | None = None) -> Tok | None:
        if self.pos >= len(self.toks):
            return None
        tok = self.toks[self.pos]
        if text is not None and tok.text != text:
            return None
        return tok

    def take(self, text: str | None = None) -> Tok:
        tok = self.peek(text)
        if tok is None:
            raise EvalError(f"expected {text or 'more input'} in {self.src!r}")
        self.pos += 1
        return tok

    def parse_expr(self) -> tuple[Any, ...]:
        cond = self.parse_binary(0)
        if self.peek("?"):
            self.take("?")
            yes = self.parse_expr()
            self.take(":")
            no = self.parse_expr()
            return ("cond", cond, yes, no)
        return cond

    def parse_binary(self, level: int) -> tuple[Any, ...]:
        if level == len(self._LEVELS):
            return self.parse_unary()
        left = self.parse_binary(level + 1)
        while (
            (tok := self.peek()) is not None
            and tok.kind == "punct"
            and tok.text in self._LEVELS[level]
        ):
            op = self.take().text
            left = ("binop", op, left, self.parse_binary(level + 1))
        return left

    def parse_unary(self) -> tuple[Any, ...]:
        for op in ("!", "-"):
            if self.peek(op):
                self.take()
                return ("unop", op, self.parse_unary())
        return self.parse_postfix(self.parse_primary())

    def parse_postfix(self, node: tuple[Any, ...]) -> tuple[Any, ...]:
        while True:
            if self.peek("."):
                self.take()
                tok = self.take()
                node = ("attr", node, int(tok.text) if tok.kind == "num" else tok.text)
            elif self.peek("["):
                self.take()
                key = self.parse_expr()
                self.take("]")
                node = ("index", node, key)
            else:
                return node

    def parse_for(self, is_obj: bool) -> tuple[Any, ...]:
        self.take("for")
        first = self.take().text
        kvar, vvar = None, first
        if self.peek(","):
            self.take()
            kvar, vvar = first, self.take().text
        self.take("in")
        coll = self.parse_expr()
        self.take(":")
        key_node = None
        if is_obj:
            key_node = self.parse_expr()
            self.take("=>")
        val_node = self.parse_expr()
        group = False
        if self.peek("..."):
            self.take()
            group = True
        cond = None
        if self.peek("if"):
            self.take()
            cond = self.parse_expr()
        self.take("}" if is_obj else "]")
        return ("for", is_obj, kvar, vvar, coll, key_node, val_node, cond, group)

    def parse_primary(self) -> tuple[Any, ...]:
        tok = self.take()
        if tok.kind == "num":
            return ("lit", float(tok.text) if any(c in tok.text for c in ".eE") else int(tok.text))
        if tok.kind == "str":
            return _template_node(tok.text, literal_escaped=True)
        if tok.text == "(":
            node = self.parse_expr()
            self.take(")")
            return node
        if tok.text == "[":
            if self.peek("for"):
                return self.parse_for(is_obj=False)
            items = []
            while not self.peek("]"):
                items.append(self.parse_expr())
                if not self.peek("]"):
                    self.take(",")
            self.take("]")
            return ("list", items)
        if tok.text == "{":
            if self.peek("for"):
                return self.parse_for(is_obj=True)
            pairs = []
            while not self.peek("}"):
                ktok = self.peek()
                if (
                    ktok is not None
                    and ktok.kind == "ident"
                    and self.toks[self.pos + 1].text in {"=", ":"}
                ):
                    self.take()
                    key: tuple[Any, ...] = ("lit", ktok.text)
                else:
                    key = self.parse_expr()
                self.take("=") if self.peek("=") else self.take(":")
                pairs.append((key, self.parse_expr()))
                if self.peek(","):
                    self.take(",")
            self.take("}")
            return ("obj", pairs)
        if tok.kind == "ident":
            if tok.text in {"true", "false"}:
                return ("lit", tok.text == "true")
            if tok.text == "null":
                return ("lit", None)
            if self.peek("("):
                return self.parse_call(tok.text)
            if tok.text == "local":
                self.take(".")
                return ("local", self.take().text)
            return ("ref", tok.text)
        raise EvalError(f"unexpected {tok.text!r} in {self.src!r}")

    def parse_call(self, name: str) -> tuple[Any, ...]:
        self.take("(")
        args = []
        expand = False
        while not self.peek(")"):
            args.append(self.parse_expr())
            if self.peek("..."):
                self.take()
                expand = True
            if not self.peek(")"):
                self.take(",")
        self.take(")")
        return ("call", name, args, expand)


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


# ----------------------------------------------------------------------------- types


def parse_type(src: str) -> Any:
    """A type constraint as nested tuples: ("object", {attr: (type, optional, default)}),
    ("map", t), ("list", t), ("set", t), or a primitive name."""
    toks = tokenize(src.removeprefix("${").removesuffix("}"))
    pos = 0

    def take() -> Tok:
        nonlocal pos
        tok = toks[pos]
        pos += 1
        return tok

    def one() -> Any:
        nonlocal pos
        name = take().text
        if name in {"string", "number", "bool", "any"}:
            return name
        take()  # (
        if name == "object":
            take()  # {
            attrs: dict[str, Any] = {}
            while toks[pos].text != "}":
                attr = take().text
                take()  # =
                if toks[pos].text == "optional":
                    take()
                    take()  # (
                    inner = one()
                    default_src = None
                    if toks[pos].text == ",":
                        take()
                        start = pos
                        depth = 0
                        while depth or toks[pos].text != ")":
                            depth += {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}.get(
                                toks[pos].text if toks[pos].kind == "punct" else "", 0
                            )
                            pos += 1
                        default_src = _detokenize(toks[start:pos])
                    take()  # )
                    attrs[attr] = (inner, True, default_src)
                else:
                    attrs[attr] = (one(), False, None)
                if toks[pos].text == ",":
                    take()
            take()  # }
            take()  # )
            return ("object", attrs)
        inner = one()
        take()  # )
        return (name, inner)

    return one()


def _detokenize(toks: list[Tok]) -> str:
    return " ".join(f'"{t.text}"' if t.kind == "str" else t.text for t in toks)


def apply_type(tp: Any, value: Any) -> Any:
    """``value`` as Terraform sees it after type conversion: optional attributes filled in."""
    if value is None or value is UNKNOWN or isinstance(tp, str):
        return value
    kind, inner = tp
    if kind == "object":
        out = dict(value)
        for attr, (atype, optional, default_src) in inner.items():
            if out.get(attr) is None and optional:
                out[attr] = None if default_src is None else Scope({}, {}).expr(default_src)
            out[attr] = apply_type(atype, out.get(attr))
        return out
    if kind == "map":
        return {k: apply_type(inner, v) for k, v in value.items()}
    if kind in {"list", "set"}:
        return [apply_type(inner, v) for v in value]
    return value


def variable_values(mod: Module, given: dict[str, Any]) -> dict[str, Any]:
    """Every variable of ``mod``: the given value or the default, typed; missing required ones raise."""
    out: dict[str, Any] = {}
    for name, spec in mod.variables.items():
        if name in given:
            raw = given[name]
        elif "default" in spec:
            raw = Scope({}, {}).value(spec["default"])
        else:
            raise EvalError(f"variable {name} of {mod.path} has no value and no default")
        out[name] = apply_type(parse_type(spec["type"]), raw) if "type" in spec else raw
    return out


def example_tfvars(root: Path = TF_ROOT) -> dict[str, Any]:
    """``terraform.tfvars.example`` plus sample image digests (what deploy.sh writes)."""
    doc = parse_file(root / "terraform.tfvars.example")
    values = Scope({}, {}).value({k: v for k, v in doc.items() if k != "__is_block__"})
    images = {"bp-episodes-gpu"} | {
        f"bp-{p.name}" for p in (REPO / "jobs").iterdir() if (p / "pyproject.toml").is_file()
    }
    values.setdefault(
        "image_digests",
        {name: "sha256:" + hashlib.sha256(name.encode()).hexdigest() for name in sorted(images)},
    )
    return values


def root_scope(
    tree: dict[str, Module], tfvars: dict[str, Any] | None = None, *, symbolic_modules: bool = False
) -> Scope:
    """The root module's scope with the example tfvars (``symbolic_modules``: module outputs
    as :class:`Symbol` references instead of :data:`UNKNOWN`)."""
    root = tree["."]
    given = example_tfvars(root.path) if tfvars is None else tfvars
    return Scope(
        variable_values(root, given),
        root.locals,
        resources=root.resources,
        symbolic_modules=symbolic_modules,
    )


def module_scope(tree: dict[str, Module], caller: Scope, call: dict[str, Any]) -> Scope:
    """The scope inside a called module: its variables from the call's arguments."""
    mod = tree[call_source(tree["."].path, call)]
    args = {k: caller.value(v) for k, v in call.items() if k not in META_ARGS and k != "source"}
    given = {k: v for k, v in args.items() if k in mod.variables}
    return Scope(variable_values(mod, given), mod.locals, resources=mod.resources)
