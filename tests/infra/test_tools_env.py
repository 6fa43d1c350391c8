"""The test-only tools venv: found, skipped without it (failed under CI), cheap to re-run."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.infra import provider_schema
from tests.infra.conftest import need_infra_venv
from tests.infra.tfconfig import REPO


def test_missing_venv_skips_naming_the_script(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without .venv-infra the tests skip and say which script makes it; under CI they fail."""
    monkeypatch.setattr(provider_schema, "VENV", tmp_path / "nowhere")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"scripts/infra_tools_env\.sh"):
        need_infra_venv()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"scripts/infra_tools_env\.sh"):
        need_infra_venv()
    assert provider_schema.load_schema() is None


def test_env_script_is_a_no_op_when_current() -> None:
    """scripts/infra_tools_env.sh does nothing when the venv matches the lock (says it is up to date)."""
    need_infra_venv()
    proc = subprocess.run(
        ["bash", "scripts/infra_tools_env.sh"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(Path.home()),
            "INFRA_VENV": str(provider_schema.VENV),
        },
    )
    assert proc.returncode == 0, proc.stderr
    assert "up to date" in proc.stderr
