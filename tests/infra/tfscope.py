"""The scopes Terraform expressions are evaluated in: each variable's value as Terraform
gives it, the value given (``terraform.tfvars.example``) or the default, converted to its type
with the ``optional(type, default)`` attributes of object types filled in; the root module's
scope with those values, and a called module's with its call's arguments.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from tests.infra.tfconfig import META_ARGS, REPO, TF_ROOT, Module, call_source, parse_file
from tests.infra.tfeval import UNKNOWN, Scope
from tests.infra.tfexpr import EvalError, Tok, tokenize


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
