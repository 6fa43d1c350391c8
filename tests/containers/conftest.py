"""Run the real job images with testcontainers against a host folder mounted as ``file:///data``.

The images come from ``scripts/build_images.sh`` (tags ``bp-<job>:local``). A test whose
image is missing is skipped, unless ``BP_DOCKER_IMAGES`` names it (``scripts/test.sh`` sets
it to what it built): then the missing image is a failure, as is an engine that does not
answer. testcontainers (a test-only tool) runs without its Ryuk reaper image, which cannot be
pulled here: every container is removed by the helper that started it.
"""

from __future__ import annotations

import os

# testcontainers reads its configuration when it is first imported
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
os.environ.setdefault("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1")

import importlib
import json
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
MOUNT = "/data"
STORAGE_URI = f"file://{MOUNT}"
IMAGE_USER = 10001  # the images' own non-root user


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker of these tests (the root pyproject lists slow and gcs)."""
    config.addinivalue_line(
        "markers", "docker: runs the job images in a Docker engine (testcontainers)"
    )


def required_images() -> set[str]:
    """Images this test run must find (``BP_DOCKER_IMAGES``, comma-separated job names)."""
    return {x.strip() for x in os.environ.get("BP_DOCKER_IMAGES", "").split(",") if x.strip()}


def jobs_with_entry_point() -> list[str]:
    """Every job the build script builds: its pyproject declares bp-<job> and main.py exists."""
    found = []
    for pyproject in sorted((REPO / "jobs").glob("*/pyproject.toml")):
        job = pyproject.parent.name
        declared = any(line.startswith(f"bp-{job} ") for line in pyproject.read_text().splitlines())
        if declared and (pyproject.parent / "src" / f"bp_{job}" / "main.py").is_file():
            found.append(job)
    return found


def _unavailable(reason: str, name: str = "") -> None:
    if name in required_images() or (not name and required_images()):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def docker_engine() -> Any:
    """A Docker client whose engine answers (skip, or fail when images are required)."""
    try:
        importlib.import_module("testcontainers")
        # by name: the repository's own docker/ folder would shadow it for type checkers
        docker: Any = importlib.import_module("docker")
    except ImportError:
        _unavailable("testcontainers is not installed: uv sync --frozen (it is in the dev group)")
    try:
        client = docker.from_env(timeout=60)
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means no engine
        _unavailable(
            f"no Docker engine answers ({type(exc).__name__}): run scripts/docker_engine.sh"
        )
    return client


def image_for(client: Any, name: str) -> str:
    """``bp-<name>:local`` if it was built; otherwise skip (or fail when it is required)."""
    tag = f"bp-{name}:local"
    try:
        client.images.get(tag)
    except Exception:  # noqa: BLE001 - docker.errors.ImageNotFound or an API error
        _unavailable(f"image {tag} is not built: run bash scripts/build_images.sh {name}", name)
    return tag


def built_image(client: Any, name: str) -> str | None:
    """``bp-<name>:local`` if it was built; None if not (a failure when it is required)."""
    tag = f"bp-{name}:local"
    try:
        client.images.get(tag)
    except Exception:  # noqa: BLE001 - docker.errors.ImageNotFound or an API error
        if name in required_images():
            pytest.fail(f"image {tag} is not built: run bash scripts/build_images.sh {name}")
        return None
    return tag


def open_to_container(root: Path) -> None:
    """Let the image's non-root user create entries in a folder tree the host (root) made.

    A non-root host runs the containers as itself instead (see :func:`container_user`).
    """
    if os.getuid() != 0:
        return
    for dirpath, _dirs, _files in os.walk(root):
        Path(dirpath).chmod(0o777)


def container_user() -> str | None:
    """The image's own user when the host is root; the host's uid:gid otherwise, so the
    files the job writes stay removable by the user running the tests."""
    if os.getuid() == 0:
        return None
    return f"{os.getuid()}:{os.getgid()}"


@dataclass
class Finished:
    """A job container that exited."""

    exit_code: int
    logs: str

    def records(self) -> list[dict[str, Any]]:
        """The JSON log lines (Cloud Logging format)."""
        out = []
        for line in self.logs.splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return out


def job_container(image: str, storage_root: Path, env: dict[str, str]) -> Any:
    """A testcontainers container of ``image`` with the storage folder mounted at /data."""
    from testcontainers.core.container import DockerContainer

    kwargs: dict[str, Any] = {}
    user = container_user()
    if user is not None:
        kwargs["user"] = user
    container = DockerContainer(image, **kwargs)
    container.with_volume_mapping(str(storage_root), MOUNT, "rw")
    for key, value in {"STORAGE_URI": STORAGE_URI, "LOG_FORMAT": "json", **env}.items():
        container.with_env(key, value)
    return container


def _logs(container: Any) -> str:
    out, err = container.get_logs()
    return str((out + err).decode(errors="replace"))


def run_job(image: str, storage_root: Path, env: dict[str, str], timeout: float = 900) -> Finished:
    """Run a job container to its end; return its exit code and logs; remove it."""
    container = job_container(image, storage_root, env).start()
    try:
        status = container.get_wrapped_container().wait(timeout=timeout)
        return Finished(int(status["StatusCode"]), _logs(container))
    finally:
        container.stop()


def stop_when_logged(
    image: str,
    storage_root: Path,
    env: dict[str, str],
    needle: str,
    grace_s: int = 60,
    deadline_s: float = 900,
) -> Finished:
    """Start a job, wait until its logs contain ``needle``, then ``docker stop`` it
    (SIGTERM, SIGKILL after ``grace_s``); return how it ended. Fails if it ends first."""
    container = job_container(image, storage_root, env).start()
    wrapped = container.get_wrapped_container()
    try:
        end = time.monotonic() + deadline_s
        while needle not in _logs(container):
            wrapped.reload()
            if wrapped.status != "running":
                pytest.fail(f"the job ended before logging {needle!r}:\n{_logs(container)[-3000:]}")
            if time.monotonic() > end:
                pytest.fail(f"no {needle!r} in the logs within {deadline_s} s")
            time.sleep(0.5)
        wrapped.stop(timeout=grace_s)
        status = wrapped.wait(timeout=grace_s + 60)
        return Finished(int(status["StatusCode"]), _logs(container))
    finally:
        container.stop()


def run_in_image(client: Any, image: str, script: str) -> str:
    """Run ``python -c script`` in the image (entry point replaced); return its stdout."""
    out: bytes = client.containers.run(
        image, ["-c", script], entrypoint="python", remove=True, stdout=True, stderr=True
    )
    return out.decode()


def locked_distributions(job: str, extras: tuple[str, ...] = ()) -> dict[str, str]:
    """Normalised name → version of everything uv.lock installs for ``bp-<job>`` (its members
    included), with the job's optional ``extras`` (e.g. ``("warp",)`` for the GPU image)."""
    uv = shutil.which("uv") or str(Path.home() / ".local" / "bin" / "uv")
    text = subprocess.run(
        [
            uv,
            "export",
            "--frozen",
            "--no-dev",
            "--package",
            f"bp-{job}",
            *(arg for extra in extras for arg in ("--extra", extra)),
            "--no-hashes",
            "--no-editable",
            "--no-header",
            "--format",
            "requirements-txt",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=REPO,
    ).stdout
    found: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.split(";")[0].strip()
        if "==" in line:
            name, version = line.split("==")
            found[normalise(name)] = version.strip()
        elif line.startswith("./"):
            meta = _pyproject_name_version(REPO / line[2:] / "pyproject.toml")
            found[normalise(meta[0])] = meta[1]
    return found


def _pyproject_name_version(path: Path) -> tuple[str, str]:
    import tomllib

    project = tomllib.loads(path.read_text())["project"]
    return str(project["name"]), str(project["version"])


def normalise(name: str) -> str:
    """PEP 503 name normalisation."""
    return re.sub(r"[-_.]+", "-", name).lower()


@pytest.fixture
def storage_dir(tmp_path: Path) -> Path:
    """An empty storage folder the container user can write."""
    root = tmp_path / "storage"
    root.mkdir()
    open_to_container(root)
    return root
