"""Fixtures of the bp_sim tests: example scenes with stand-in physics (no simready stage)."""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")  # before anything imports mujoco

import pytest
from bp_sdk.storage import open_storage

from tests.conftest import EXAMPLE_SCENES, EXAMPLES, put_scene
from tests.ingest._support import ingest, ok_manifest
from tests.sim._simready import simready_from
from tests.sim._support import Example


@pytest.fixture(scope="session")
def examples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Example]:
    """Every example scene ingested for real, with stand-in simready physics."""
    storage = open_storage(tmp_path_factory.mktemp("sim_examples").as_uri())
    out = {}
    for scene in EXAMPLE_SCENES:
        put_scene(storage, scene, EXAMPLES / scene)
        manifest = ok_manifest(ingest(storage, scene))
        simready, sources = simready_from(manifest)
        meshes = {name: (EXAMPLES / scene / src).read_bytes() for name, src in sources.items()}
        out[scene] = Example(scene, manifest, simready, meshes)
    return out
