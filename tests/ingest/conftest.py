"""Fixtures of the ingest tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from bp_sdk.storage import Storage

from tests.conftest import put_scene
from tests.ingest._support import Outcome, ingest


@pytest.fixture
def run_ingest(file_storage: Storage) -> Callable[..., Outcome]:
    """Store a blueprint (dict or raw bytes) and run the real ingest stage on it in-process."""

    def go(
        bp: dict[str, Any] | bytes,
        scene: str = "scene1",
        run: str = "r1",
        extra: dict[str, bytes] | None = None,
        **env: str,
    ) -> Outcome:
        put_scene(file_storage, scene, bp, extra)
        return ingest(file_storage, scene, run, **env)

    return go
