"""Run the official LeRobot / robomimic checkers (and writer) in the test-only venv.

The workspace never imports lerobot or robomimic: they live in ``.venv-lerobot/`` (made by
``scripts/lerobot_env.sh``). This module starts ``check_lerobot.py`` / ``check_robomimic.py``
/ ``bench/lerobot_writer.py`` there as subprocesses — argument lists, a timeout,
``HF_HUB_OFFLINE=1`` and a fresh Hugging Face cache folder each time, so that nothing is
fetched and no stale cached table hides a change — and returns the JSON each one prints.

Used by ``tests/conformance`` (pytest) and ``bench/export_bench.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
VENV = REPO / ".venv-lerobot"
LEROBOT_PYTHON = VENV / "bin" / "python"
STAMP = VENV / ".bp-lerobot-env.stamp"
ENV_SCRIPT = "scripts/lerobot_env.sh"
WRITER = REPO / "bench" / "lerobot_writer.py"

MISSING_ENV = (
    f"the test-only LeRobot/robomimic environment is missing ({VENV} has no finished install): "
    f"run `bash {ENV_SCRIPT}` (about 2 minutes; idempotent) and re-run the tests"
)


class EnvMissingError(RuntimeError):
    """``.venv-lerobot`` is absent or unfinished."""


@dataclass
class CheckResult:
    """What a checker printed (its JSON summary), its exit code and its stderr's tail."""

    returncode: int
    summary: dict[str, Any]
    stderr_tail: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """The checker exited 0 and said ok."""
        return self.returncode == 0 and bool(self.summary.get("ok"))

    def explain(self) -> str:
        """A readable account for assertion messages."""
        lines = [f"exit {self.returncode}; {self.summary.get('problem_count', '?')} problem(s)"]
        lines += [f"  - {p}" for p in self.problems]
        if self.stderr_tail and not self.summary:
            lines.append("stderr:\n" + self.stderr_tail)
        return "\n".join(lines)


def env_ready() -> bool:
    """True when ``scripts/lerobot_env.sh`` finished (stamp written, python present)."""
    return LEROBOT_PYTHON.is_file() and STAMP.is_file()


def require_env() -> Path:
    """The venv's python, or ``EnvMissingError`` saying how to make it."""
    if not env_ready():
        raise EnvMissingError(MISSING_ENV)
    return LEROBOT_PYTHON


def _child_env(cache: Path) -> dict[str, str]:
    """A minimal environment: offline hub, private caches, no workspace venv on PATH."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": os.environ.get("HOME", str(cache)),
        "LANG": "C.UTF-8",
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_HOME": str(cache / "hf"),
        "HF_LEROBOT_HOME": str(cache / "lerobot"),
        "TQDM_DISABLE": "1",
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2"),
    }
    for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "TMPDIR"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def run_json(script: Path, args: list[str], timeout_s: float) -> CheckResult:
    """Run ``script`` with the venv's python; parse the JSON object on its last stdout line."""
    python = require_env()
    with tempfile.TemporaryDirectory(prefix="bp-conformance-") as tmp:
        proc = subprocess.run(
            [str(python), str(script), *args],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env=_child_env(Path(tmp)),
            cwd=str(REPO),
            check=False,
        )
    summary: dict[str, Any] = {}
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    if lines:
        try:
            summary = json.loads(lines[-1])
        except ValueError:
            summary = {}
    return CheckResult(
        returncode=proc.returncode,
        summary=summary,
        stderr_tail=proc.stderr[-4000:],
        problems=list(summary.get("problems", [])),
    )


def check_lerobot(
    root: Path, aggregate_with: Path | None = None, timeout_s: float = 1800
) -> CheckResult:
    """Load ``root`` with ``LeRobotDataset`` and check every frame (see check_lerobot.py);
    with ``aggregate_with``, also merge the two with ``aggregate_datasets`` and check that."""
    args = ["--root", str(root)]
    if aggregate_with is not None:
        args += ["--aggregate-with", str(aggregate_with)]
    return run_json(HERE / "check_lerobot.py", args, timeout_s)


def check_robomimic(
    hdf5: Path,
    low_dim: list[str] | None = None,
    rgb: list[str] | None = None,
    timeout_s: float = 1800,
) -> CheckResult:
    """Load ``hdf5`` with robomimic's ``SequenceDataset`` and check it (see check_robomimic.py)."""
    args = ["--hdf5", str(hdf5)]
    if low_dim is not None:
        args += ["--low-dim", *low_dim]
    if rgb is not None:
        args += ["--rgb", *rgb]
    return run_json(HERE / "check_robomimic.py", args, timeout_s)


def check_loaders(root: Path, lerobot_batches: int = 6, timeout_s: float = 1800) -> CheckResult:
    """Shuffled training batches over every split with robomimic's and LeRobot's loaders
    (see check_loaders.py)."""
    args = ["--root", str(root), "--lerobot-batches", str(lerobot_batches)]
    return run_json(HERE / "check_loaders.py", args, timeout_s)


def write_official(
    store: Path,
    out: Path,
    scene: str,
    run: str | None = None,
    episodes: str = "success",
    vcodec: str = "libsvtav1",
    timeout_s: float = 3600,
) -> CheckResult:
    """Write the store's committed episodes with the official LeRobot writer (timed)."""
    args = [
        "--store",
        str(store),
        "--scene",
        scene,
        "--out",
        str(out),
        "--episodes",
        episodes,
        "--vcodec",
        vcodec,
    ]
    if run is not None:
        args += ["--run", run]
    result = run_json(WRITER, args, timeout_s)
    if result.returncode == 0 and result.summary:
        result.summary.setdefault("ok", True)
    return result
