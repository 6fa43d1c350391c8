"""infra/terraform parses, follows the module conventions, and pins the provider."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from tests.infra import tfconfig, tfeval, tfexpr, tfscope
from tests.infra.tfconfig import TF_ROOT, Module

MODULE_FILES = ("main.tf", "variables.tf", "outputs.tf", "versions.tf")
PROVIDER_RANGE = ">= 6.50.0, < 7.0.0"


def test_every_tf_file_parses() -> None:
    """Every .tf file and the example tfvars parse with python-hcl2."""
    files = [*sorted(TF_ROOT.rglob("*.tf")), TF_ROOT / "terraform.tfvars.example"]
    assert len(files) > 20
    for path in files:
        assert isinstance(tfconfig.parse_file(path), dict), path


def test_modules_have_the_standard_files(tree: dict[str, Module]) -> None:
    """Each module has main.tf, variables.tf, outputs.tf and versions.tf."""
    modules = [p for p in tree if p.startswith("modules/")]
    assert len(modules) >= 6
    for path in modules:
        for name in MODULE_FILES:
            assert (tree[path].path / name).is_file(), f"{path} lacks {name}"


def test_every_variable_is_typed_described_and_validated(tree: dict[str, Module]) -> None:
    """Every variable of the root and the modules has a type, a description and a validation block."""
    checked = 0
    for path, mod in tree.items():
        for name, spec in mod.variables.items():
            assert "type" in spec, f"{path}: variable {name} has no type"
            assert spec.get("description"), f"{path}: variable {name} has no description"
            assert spec.get("validation"), f"{path}: variable {name} has no validation block"
            checked += 1
    assert checked > 40


def test_provider_range_is_pinned_everywhere(tree: dict[str, Module]) -> None:
    """The root and every module pin hashicorp/google to the same major range."""
    for path, mod in tree.items():
        blocks = [tf for tf in mod.terraform if "required_providers" in tf]
        assert blocks, f"{path} has no required_providers"
        google = blocks[0]["required_providers"][0]["google"]
        assert google == {"source": "hashicorp/google", "version": PROVIDER_RANGE}, path
        assert re.fullmatch(r">= 1\.\d+\.\d+", blocks[0]["required_version"]), path


def test_example_tfvars_sets_every_required_variable(tree: dict[str, Module]) -> None:
    """terraform.tfvars.example (plus the digests deploy.sh writes) gives every variable a value."""
    values = tfscope.variable_values(tree["."], tfscope.example_tfvars())
    assert set(values) == set(tree["."].variables)
    given = tfconfig.parse_file(TF_ROOT / "terraform.tfvars.example")
    unknown = set(given) - {"__is_block__"} - set(tree["."].variables)
    assert not unknown, f"the example sets variables that do not exist: {unknown}"


def test_a_missing_required_variable_is_reported(tree: dict[str, Module]) -> None:
    """The example check would notice a required variable without a value."""
    values = tfscope.example_tfvars()
    del values["project_id"]
    with pytest.raises(tfexpr.EvalError, match="project_id"):
        tfscope.variable_values(tree["."], values)


def test_evaluator_follows_terraform_semantics() -> None:
    """The test evaluator handles templates, optional() defaults, for, try and conditionals like Terraform."""
    scope = tfeval.Scope(
        {"p": "bp", "m": {"a": 1, "b": None}, "o": {"x": "y"}},
        {"l": "${{ for k, v in var.m : k => v if v != null }}", "t": '${try(var.o.nope, "dflt")}'},
    )
    assert scope.value('${var.p}-"${upper("x")}"') is tfeval.UNKNOWN  # an unmodelled function
    assert scope.value("${var.p}-ingest") == "bp-ingest"
    assert scope.local("l") == {"a": 1}
    assert scope.local("t") == "dflt"
    assert scope.expr('var.p == "bp" ? "yes" : "no"') == "yes"
    assert scope.expr('join(",", [for x in ["a", "b"] : "${x}!"])') == "a!,b!"
    tp = tfscope.parse_type(
        'object({a = optional(string, "d"), b = optional(map(string), {}), c = number})'
    )
    assert tfscope.apply_type(tp, {"c": 1}) == {"a": "d", "b": {}, "c": 1}
    with pytest.raises(tfexpr.EvalError):
        scope.expr('var.o["missing"]')


def test_terraform_fmt_is_clean() -> None:
    """`terraform fmt -check` passes (where a terraform binary exists; it needs no provider)."""
    exe = shutil.which("terraform")
    if exe is None:
        pytest.skip("no terraform binary on PATH")
    env = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_CLI_CONFIG_FILE": os.devnull}
    proc = subprocess.run(
        [exe, "fmt", "-check", "-recursive", "-list=true", str(TF_ROOT)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, (
        f"not formatted (run terraform fmt -recursive infra/terraform): {proc.stdout}{proc.stderr}"
    )
