"""Fixtures of the assemble tests: examples ingested for real, stand-in simready committed, assembled twice."""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")  # before anything imports mujoco

from dataclasses import dataclass

import pytest
from bp_sdk.storage import Storage, open_storage

from tests.assemble._support import Outcome, assemble, commit_simready
from tests.conftest import EXAMPLE_SCENES, EXAMPLES, put_scene
from tests.ingest._support import ingest, ok_manifest
from tests.sim._simready import simready_from
from tests.sim._support import Example


@dataclass(frozen=True)
class Assembled:
    """One example: its stand-in physics and two assemble runs (r1, r2) of the same inputs."""

    example: Example
    first: Outcome
    second: Outcome


def prepare(storage: Storage, scene: str, run: str) -> Example:
    """Ingest the example for real and commit stand-in simready output for ``run``."""
    manifest = ok_manifest(ingest(storage, scene, run))
    simready, sources = simready_from(manifest)
    meshes = {name: (EXAMPLES / scene / src).read_bytes() for name, src in sources.items()}
    commit_simready(storage, scene, run, simready, meshes)
    return Example(scene, manifest, simready, meshes)


@pytest.fixture(scope="session")
def assembled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Assembled]:
    """Every example assembled twice (runs r1 and r2) in one file:// storage."""
    storage = open_storage(tmp_path_factory.mktemp("assembled").as_uri())
    out = {}
    for scene in EXAMPLE_SCENES:
        put_scene(storage, scene, EXAMPLES / scene)
        example = prepare(storage, scene, "r1")
        prepare(storage, scene, "r2")
        out[scene] = Assembled(
            example, assemble(storage, scene, "r1"), assemble(storage, scene, "r2")
        )
    return out
