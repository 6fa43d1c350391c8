"""Contract fixtures: every backend-agnostic test runs on ``file://`` and on ``gs://``.

The ``gs`` backend is the real google-cloud-storage client talking to fake-gcs-server
(started once per session on a loopback port). When the emulator cannot be found or
started, every ``gs`` test fails with the reason: CI must prove the gs backend, so
it is never skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from bp_sdk.storage import Storage, open_storage

from tests.contract import emulator as emu

EMULATOR_ENV = "STORAGE_EMULATOR_HOST"
GS_PREFIX = "tenant/pipeline"


@pytest.fixture(scope="session")
def gcs_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[emu.Emulator]:
    """A fake-gcs-server process for the whole session; fails (never skips) if it cannot start."""
    server = emu.start_or_fail(tmp_path_factory.mktemp("fake-gcs-server") / "server.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def gcs_env(gcs_emulator: emu.Emulator, monkeypatch: pytest.MonkeyPatch) -> str:
    """``STORAGE_EMULATOR_HOST`` set for one test (restored afterwards); returns the URL."""
    monkeypatch.setenv(EMULATOR_ENV, gcs_emulator.url)
    return gcs_emulator.url


def _close(storage: Storage) -> None:
    client = getattr(storage, "client", None)
    if client is not None:
        client.close()


@pytest.fixture
def open_same() -> Iterator[Callable[[str], Storage]]:
    """Open another ``Storage`` on a URI; each one is closed after the test."""
    opened: list[Storage] = []

    def make(uri: str) -> Storage:
        st = open_storage(uri)
        opened.append(st)
        return st

    yield make
    for st in opened:
        _close(st)


@pytest.fixture(params=["file", pytest.param("gs", marks=pytest.mark.gcs)])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    """A fresh, empty storage: a temp folder (file) or a new bucket under a prefix (gs)."""
    if request.param == "file":
        yield open_storage((tmp_path / "storage").as_uri())
        return
    server: emu.Emulator = request.getfixturevalue("gcs_emulator")
    request.getfixturevalue("gcs_env")
    st = open_storage(f"gs://{server.new_bucket()}/{GS_PREFIX}")
    try:
        yield st
    finally:
        _close(st)
