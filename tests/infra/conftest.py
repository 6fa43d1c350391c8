"""Fixtures of the infrastructure tests: the parsed Terraform, copies to break, the tools venv.

Tests that need checkov or the provider schema use ``.venv-infra`` (made by
``scripts/infra_tools_env.sh``); without it they skip, and under CI they fail.
"""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")  # before anything imports mujoco (episodes, gate lines)

import shutil
from pathlib import Path

import pytest

from tests.infra import provider_schema, tfconfig
from tests.infra.tfconfig import TF_ROOT, Module


def need_infra_venv() -> None:
    """Skip (fail under CI) when ``.venv-infra`` is missing."""
    if provider_schema.site_packages() is None:
        msg = f"{provider_schema.VENV} is missing: run `bash {provider_schema.ENV_SCRIPT}`"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)


@pytest.fixture(scope="session")
def tree() -> dict[str, Module]:
    """The parsed root module and every module under infra/terraform/modules."""
    return tfconfig.load()


@pytest.fixture(scope="session")
def schema() -> provider_schema.Schema:
    """The google provider schema (from .venv-infra)."""
    need_infra_venv()
    found = provider_schema.load_schema()
    assert found is not None, "the provider bundle is missing from .venv-infra"
    return found


class TfCopy:
    """A private copy of infra/terraform to break on purpose."""

    def __init__(self, dest: Path) -> None:
        shutil.copytree(TF_ROOT, dest, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
        self.root = dest

    def replace(self, rel: str, old: str, new: str, count: int = 1) -> None:
        """Replace ``old`` (which must occur exactly ``count`` times) in one file."""
        path = self.root / rel
        text = path.read_text(encoding="utf-8")
        assert text.count(old) == count, f"{old!r} occurs {text.count(old)} times in {rel}"
        path.write_text(text.replace(old, new), encoding="utf-8")

    def load(self) -> dict[str, Module]:
        """The copy, parsed."""
        return tfconfig.load(self.root)


@pytest.fixture
def tf_copy(tmp_path: Path) -> TfCopy:
    """A copy of infra/terraform in a temporary folder."""
    return TfCopy(tmp_path / "terraform")
