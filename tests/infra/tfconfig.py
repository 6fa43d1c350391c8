"""Terraform configuration as data, for tests that cannot run ``terraform``.

:func:`load` parses every ``.tf`` file of ``infra/terraform`` (root and ``modules/*``) with
python-hcl2 into one :class:`Module` per folder. Evaluating the expressions in it is
``tests/infra/tfeval.py``'s job (parsed by ``tfexpr.py``); the scopes to evaluate them in
(variable values, typed) are ``tfscope.py``'s.
"""

from __future__ import annotations

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
