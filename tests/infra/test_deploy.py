"""scripts/deploy.sh: --dry-run prints every step and runs none of gcloud, terraform, docker."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.infra.tfconfig import REPO, TF_ROOT

SCRIPT = REPO / "scripts" / "deploy.sh"
TOOLS = ("gcloud", "terraform", "docker", "uv", "kubectl")


@pytest.fixture
def fake_path(tmp_path: Path) -> tuple[str, Path]:
    """A PATH whose cloud tools are stubs that record any call and fail."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    for tool in TOOLS:
        stub = bin_dir / tool
        stub.write_text(f'#!/bin/sh\necho "{tool} $*" >> "{log}"\nexit 97\n')
        stub.chmod(0o755)
    return f"{bin_dir}:/usr/bin:/bin", log


def _deploy(*args: str, path: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": path, "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8"}
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_dry_run_prints_every_step_and_runs_nothing(fake_path: tuple[str, Path]) -> None:
    """--dry-run lists prerequisites, APIs, init, build, push, digests, apply and the trigger; no tool runs, no file is written."""
    path, log = fake_path
    before = {p.name for p in TF_ROOT.iterdir()}
    proc = _deploy("--dry-run", "my-bp-project", "europe-west4", path=path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert not log.exists(), log.read_text()
    assert {p.name for p in TF_ROOT.iterdir()} == before
    commands = [line[2:] for line in out.splitlines() if line.startswith("+ ")]
    expected = [
        r"^gcloud auth print-access-token",
        r"^gcloud services enable .*run\.googleapis\.com .*--project my-bp-project",
        r"^terraform -chdir=infra/terraform init .*-backend-config=bucket=my-bp-project-tfstate",
        r"^terraform -chdir=infra/terraform apply .*-target=module\.registry",
        r"^bash scripts/build_images\.sh .*episodes-gpu",
        r"^docker push --quiet europe-west4-docker\.pkg\.dev/my-bp-project/bp-images/bp-ingest:",
        r"^docker push --quiet europe-west4-docker\.pkg\.dev/my-bp-project/bp-images/bp-episodes-gpu:",
        r"^write infra/terraform/images\.auto\.tfvars\.json: \{\"image_digests\": \{\"bp-assemble\"",
        r"^terraform -chdir=infra/terraform apply -input=false -var project_id=my-bp-project -var region=europe-west4 -var name_prefix=bp$",
    ]
    positions = []
    for pattern in expected:
        found = [i for i, c in enumerate(commands) if re.search(pattern, c)]
        assert found, f"no command matches {pattern}:\n{out}"
        positions.append(found[0])
    assert positions == sorted(positions), "steps out of order"
    assert (
        "bp run examples/scenes/kitchen_counter --cloud --project my-bp-project --region europe-west4"
        in out
    )
    pushed = {m for c in commands for m in re.findall(r"^docker push --quiet \S+/(bp-[a-z-]+):", c)}
    jobs = {
        f"bp-{p.name}"
        for p in (REPO / "jobs").iterdir()
        if (p / "src" / f"bp_{p.name}" / "main.py").is_file()
    }
    assert pushed == jobs | {"bp-episodes-gpu"}


def test_dry_run_honours_the_prefix(fake_path: tuple[str, Path]) -> None:
    """--prefix names the registry and the Terraform variable."""
    path, log = fake_path
    proc = _deploy(
        "--dry-run", "--prefix", "lab2", "--skip-build", "my-bp-project", "us-central1", path=path
    )
    assert proc.returncode == 0, proc.stderr
    assert "us-central1-docker.pkg.dev/my-bp-project/lab2-images/bp-ingest:" in proc.stdout
    assert "-var name_prefix=lab2" in proc.stdout
    assert "bash scripts/build_images.sh" not in proc.stdout
    assert not log.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["my-bp-project"], "usage:"),
        (["--dry-run", "My_Project", "europe-west4"], "is not a GCP project id"),
        (["--dry-run", "my-bp-project", "europe"], "is not a region"),
        (["--dry-run", "--bogus", "my-bp-project", "europe-west4"], "unknown option"),
    ],
)
def test_bad_arguments_are_refused(
    fake_path: tuple[str, Path], args: list[str], message: str
) -> None:
    """Wrong arguments stop with exit 2 and a message, before any command."""
    path, log = fake_path
    proc = _deploy(*args, path=path)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert not log.exists()


def test_without_dry_run_missing_tools_stop_it(tmp_path: Path) -> None:
    """A real run on a machine without gcloud, terraform and docker stops at the prerequisite check."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "dirname", "git"):
        found = shutil.which(tool)
        assert found is not None
        (bin_dir / tool).symlink_to(found)
    proc = _deploy("my-bp-project", "europe-west4", path=str(bin_dir))
    assert proc.returncode == 1, proc.stderr
    assert "install first: gcloud terraform docker" in proc.stderr
    assert proc.stdout == ""


def test_a_failing_prerequisite_stops_before_any_change(fake_path: tuple[str, Path]) -> None:
    """A real run whose gcloud is not authenticated stops after that one check."""
    path, log = fake_path
    proc = _deploy("my-bp-project", "europe-west4", path=path)
    assert proc.returncode == 1
    assert "prerequisite failed: gcloud auth print-access-token" in proc.stderr
    assert log.read_text().splitlines() == [
        "gcloud auth print-access-token --quiet --verbosity=error"
    ]


def test_script_hygiene() -> None:
    """set -euo pipefail, no eval, guarded paths, and no registry host but <region>-docker.pkg.dev."""
    text = SCRIPT.read_text(encoding="utf-8")
    assert "set -euo pipefail" in text
    assert not re.search(r"\beval\b", text)
    assert not re.search(r"rm -rf", text)
    for m in re.finditer(r"(?m)^\s*(?:\[.*\] \|\| )?(?:cp|mv|rm)\s[^\n]*|\$\(mktemp[^\n]*", text):
        unguarded = [v for v, guard in re.findall(r"\$\{(\w+)(:\?)?\}", m.group()) if not guard]
        assert not unguarded, m.group()
    hosts = set(re.findall(r"[\w.-]*(?:docker\.io|gcr\.io|ghcr\.io|quay\.io|pkg\.dev)\b", text))
    assert hosts == {"-docker.pkg.dev"}, hosts
