"""`bp run --docker` against GCS: the emulator in a container, every job in its own image,
workflows/pipeline.yaml through the local interpreter, and the host verifying the delivered
dataset through the real google-cloud-storage client."""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES
from tests.containers.conftest import image_for
from tests.contract.emulator import find_binary
from tests.orchestration.support import LOOSE_GATE, LOOSE_GATE_KEY, SMALL, bp

pytestmark = [pytest.mark.docker, pytest.mark.slow]

EMULATOR_IMAGE = "bp-fake-gcs:local"
PIPELINE_IMAGES = (
    "ingest",
    "simready",
    "assemble",
    "variations",
    "tasks",
    "episodes",
    "export",
    "gate",
    "deliver",
)


def emulator_image(client: Any) -> str:
    """An image holding only the emulator's static binary (built once from the test
    dependency that bundles it; no registry is needed)."""
    names = {tag for image in client.images.list() for tag in image.tags}
    if EMULATOR_IMAGE in names:
        return EMULATOR_IMAGE
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(find_binary(), arcname="fake-gcs-server")
    docker = shutil.which("docker")
    assert docker is not None
    subprocess.run(
        [docker, "import", "--change", 'ENTRYPOINT ["/fake-gcs-server"]', "-", EMULATOR_IMAGE],
        input=buf.getvalue(),
        capture_output=True,
        timeout=120,
        check=True,
    )
    return EMULATOR_IMAGE


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_docker_run_against_the_gcs_emulator_delivers_a_verified_dataset(
    docker_engine: Any, tmp_path: Path
) -> None:
    """Every stage runs in its image, storage is gs:// on the emulator container, and the
    delivered dataset verifies from the host through the real GCS client."""
    for name in PIPELINE_IMAGES:
        image_for(docker_engine, name)
    from testcontainers.core.container import DockerContainer

    port = free_port()
    emulator = (
        DockerContainer(emulator_image(docker_engine))
        .with_command(f"-scheme http -backend memory -host 127.0.0.1 -port {port}")
        .with_kwargs(network_mode="host")
    )
    emulator.start()
    try:
        host = f"http://127.0.0.1:{port}"
        os.environ["STORAGE_EMULATOR_HOST"] = host
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage as gcs

        client = gcs.Client(project="local", credentials=AnonymousCredentials())
        for _ in range(50):
            try:
                client.create_bucket("bp-docker-e2e")
                break
            except Exception:  # noqa: BLE001 - the emulator is still starting
                time.sleep(0.2)
        client.bucket("bp-docker-e2e").blob(f"pipe/{LOOSE_GATE_KEY}").upload_from_string(
            json.dumps(LOOSE_GATE)
        )
        uri = "gs://bp-docker-e2e/pipe"
        settings = {**SMALL, "GATE_CONFIG": LOOSE_GATE_KEY}
        ran = bp(
            "run",
            str(EXAMPLES / "office_desk"),
            "--docker",
            "--no-report",
            "--storage",
            uri,
            "--tasks",
            "1",
            cwd=tmp_path,
            settings=settings,
        )
        assert ran.code == 0, ran.err[-4000:]
        result = json.loads(ran.out)
        assert result["status"] == "delivered"
        destination = result["delivery"]["destination"]
        assert destination.startswith("gs://bp-docker-e2e/pipe/deliveries/")
        verified = bp("verify", destination, cwd=tmp_path)
        assert verified.code == 0, verified.err[-3000:]
        logs = "".join(p.read_text() for p in (tmp_path / "bp-logs").rglob("*.log"))
        assert '"job": "bp-deliver"' in logs  # the jobs' own JSON lines, from the containers
    finally:
        os.environ.pop("STORAGE_EMULATOR_HOST", None)
        emulator.stop()
