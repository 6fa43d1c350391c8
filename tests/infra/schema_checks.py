"""The Terraform against the provider schema: every resource type, data source, argument
and nested block exists in hashicorp/google (``tests/infra/provider_schema.py``). Returns a
list of problems (empty: consistent), so the tests can run it on the real configuration and
on copies broken on purpose."""

from __future__ import annotations

from typing import Any

from tests.infra.provider_schema import Schema
from tests.infra.tfconfig import META_ARGS, Module, is_block

BUILTIN_RESOURCES = frozenset({"terraform_data"})


def _check_body(body: dict[str, Any], block: dict[str, Any], where: str) -> list[str]:
    problems: list[str] = []
    for key, value in body.items():
        if key in META_ARGS or key in {"provisioner", "connection"}:
            continue
        if key == "dynamic":
            for item in value:
                for label, dyn in item.items():
                    if label == "__is_block__":
                        continue
                    if label not in block["blocks"]:
                        problems.append(f"{where}: no block {label!r}")
                        continue
                    for content in dyn.get("content", []):
                        problems += _check_body(content, block["blocks"][label], f"{where}.{label}")
            continue
        if key in block["blocks"]:
            if not is_block(value):
                problems.append(f"{where}.{key} is a block, set as an attribute")
                continue
            for nested in value:
                problems += _check_body(nested, block["blocks"][key], f"{where}.{key}")
        elif key in block["attributes"]:
            if is_block(value):
                problems.append(f"{where}.{key} is an attribute, written as a block")
        else:
            problems.append(f"{where}: no argument or block {key!r}")
    return problems


def schema_problems(tree: dict[str, Module], schema: Schema) -> list[str]:
    """Every resource type, data source, attribute and block must exist in the provider schema."""
    problems: list[str] = []
    for path, mod in tree.items():
        for (rtype, name), body in mod.resources.items():
            where = f"{path}: resource {rtype}.{name}"
            if rtype in BUILTIN_RESOURCES:
                continue
            if rtype not in schema.resources:
                problems.append(
                    f"{where}: no such resource type in hashicorp/google {schema.provider_version}"
                )
                continue
            problems += _check_body(body, schema.resources[rtype], where)
        for (dtype, name), body in mod.data.items():
            where = f"{path}: data {dtype}.{name}"
            if dtype not in schema.data_sources:
                problems.append(
                    f"{where}: no such data source in hashicorp/google {schema.provider_version}"
                )
                continue
            problems += _check_body(body, schema.data_sources[dtype], where)
    return problems
