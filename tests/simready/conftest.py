"""Fixtures of the simready tests: each example taken through ingest → simready once."""

from __future__ import annotations

import pytest
from bp_sdk.storage import open_storage

from tests.conftest import EXAMPLE_SCENES, EXAMPLES
from tests.simready._support import Chain, chain


@pytest.fixture(scope="session")
def examples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Chain]:
    """Every example scene through ingest and simready (run r1), each in its own storage."""
    out: dict[str, Chain] = {}
    for scene in EXAMPLE_SCENES:
        storage = open_storage(tmp_path_factory.mktemp(f"sr_{scene}").as_uri())
        out[scene] = chain(storage, scene, EXAMPLES / scene)
    return out
