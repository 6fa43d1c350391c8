"""Helpers shared by the simready tests: run the real chain, read what it committed."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from bp_contracts.simready import CollisionPart, SimObject, SimreadyManifest
from bp_ingest.stage import IngestStage
from bp_sdk.commit import CommitRecord, CommittedUnit, load_record, read_committed
from bp_sdk.layout import Unit, run_dir
from bp_sdk.markers import FailureMarker
from bp_sdk.runner import Stage, run_stage
from bp_sdk.storage import Storage
from bp_simready.stage import SimreadyStage

from tests.conftest import job_env, put_scene

MANIFEST = "simready_manifest.json"

# Realistic total masses (kg) of the example scenes' categories: handbook and retail
# figures, wide enough for the examples' sizes (docs/SIMREADY.md, "Plausibility").
REALISTIC_KG: dict[str, tuple[float, float]] = {
    "countertop": (50.0, 400.0),
    "table": (10.0, 60.0),
    "desk": (10.0, 60.0),
    "shelf": (10.0, 60.0),
    "shelf_board": (1.0, 6.0),
    "drawer_unit": (10.0, 50.0),
    "tray": (0.2, 2.0),
    "cutting_board": (0.5, 2.5),
    "mug": (0.2, 0.5),
    "cup": (0.01, 0.3),
    "bowl": (0.2, 0.8),
    "bottle": (0.2, 1.5),
    "can": (0.3, 0.45),
    "jar": (0.2, 0.7),
    "box": (0.05, 0.5),
    "cereal_box": (0.3, 0.8),
    "toy_block": (0.03, 0.2),
    "apple": (0.1, 0.3),
    "orange": (0.1, 0.3),
    "banana": (0.1, 0.25),
    "sponge": (0.005, 0.05),
    "spray_bottle": (0.1, 0.6),
    "book": (0.3, 1.5),
    "marker": (0.01, 0.05),
    "stapler": (0.1, 0.4),
    "remote": (0.05, 0.2),
    "phone": (0.1, 0.25),
    "laptop": (1.0, 3.0),
    "tissue_box": (0.05, 0.3),
    "plant_pot": (0.5, 3.0),
    "vase": (0.3, 1.5),
    "basket": (0.2, 1.0),
    "storage_bin": (0.5, 3.0),
    "kettle": (0.8, 2.5),
    "toaster": (1.0, 4.0),
    "cabinet": (15.0, 60.0),
    "microwave": (8.0, 20.0),
}


@contextmanager
def kept_logging() -> Iterator[None]:
    """Put the root logger's handlers back after a job run in-process replaced them."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        for h in list(root.handlers):
            root.removeHandler(h)
        for h in handlers:
            root.addHandler(h)
        root.setLevel(level)


def run(stage: Stage[Any], storage: Storage, scene: str, run_id: str = "r1", **env: str) -> int:
    """Run a real stage in-process and return its exit code."""
    with kept_logging():
        return run_stage(stage, job_env(storage, scene, run_id, **env))


@dataclass
class Chain:
    """One scene taken through ingest → simready, and read access to the result."""

    storage: Storage
    scene: str
    run_id: str
    ingest_code: int
    code: int

    @property
    def unit(self) -> Unit:
        """The simready unit of this run."""
        return Unit(self.scene, self.run_id, "simready")

    def record(self) -> CommitRecord:
        """The simready commit record (must exist)."""
        rec = load_record(self.storage, self.unit)
        assert rec is not None, f"simready not committed: exit {self.code}; {self.failure_text()}"
        return rec

    def committed(self) -> CommittedUnit:
        """The committed simready unit."""
        units = read_committed(self.storage, self.scene, self.run_id, "simready")
        assert units, f"simready not committed: exit {self.code}; {self.failure_text()}"
        return units[0]

    def manifest(self) -> SimreadyManifest:
        """The committed manifest, verified and validated by the SDK schema."""
        return self.committed().read_model(MANIFEST, SimreadyManifest)

    def keys(self) -> list[str]:
        """Every stored key under the run folder."""
        return [i.path for i in self.storage.list(run_dir(self.scene, self.run_id) + "/")]

    def simready_keys(self) -> list[str]:
        """Every stored key under the simready stage folder."""
        return [k for k in self.keys() if f"/{self.run_id}/simready/" in k]

    def markers(self) -> list[FailureMarker]:
        """Every simready failure marker of the run."""
        return [
            FailureMarker.model_validate_json(self.storage.read_bytes(k))
            for k in self.simready_keys()
            if k.endswith("/_FAILURE.json")
        ]

    def failure_text(self) -> str:
        """The first marker's message and problems, for assertion messages."""
        found = self.markers()
        if not found:
            return "no failure marker"
        return found[0].message + "\n" + "\n".join(found[0].problems)


def chain(
    storage: Storage,
    scene: str,
    blueprint: Any,
    run_id: str = "r1",
    extra: dict[str, bytes] | None = None,
    **env: str,
) -> Chain:
    """Store a blueprint (dict or example folder), run ingest then simready in-process."""
    put_scene(storage, scene, blueprint, extra)
    first = run(IngestStage(), storage, scene, run_id, **env)
    second = run(SimreadyStage(), storage, scene, run_id, **env) if first == 0 else -1
    return Chain(storage, scene, run_id, first, second)


# ----------------------------------------------------------------- independent geometry
def part_bounds(
    part: CollisionPart, mesh_vertices: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Axis-aligned bounds of a collision part in its owner's frame (identity quat only)."""
    assert part.quat == (1.0, 0.0, 0.0, 0.0), part
    c = np.asarray(part.pos)
    a, b, _ = part.size
    if part.shape == "box":
        h = np.asarray(part.size)
    elif part.shape == "cylinder":
        h = np.array([a, a, b])
    elif part.shape == "sphere":
        h = np.array([a, a, a])
    else:
        assert mesh_vertices is not None
        return c + mesh_vertices.min(axis=0), c + mesh_vertices.max(axis=0)
    return c - h, c + h


def overlap(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> float:
    """Penetration depth of two axis-aligned boxes (≤ 0: apart or touching)."""
    return float(np.min(np.minimum(a[1], b[1]) - np.maximum(a[0], b[0])))


def obj_vertices(data: bytes) -> np.ndarray:
    """Vertices of a Wavefront OBJ file."""
    rows = [ln.split()[1:4] for ln in data.decode().splitlines() if ln.startswith("v ")]
    return np.array(rows, dtype=float)


def total_mass(o: SimObject) -> float:
    """Body plus moving part."""
    return o.inertia.mass_kg + (o.articulation.inertia.mass_kg if o.articulation else 0.0)


def rotation(q: tuple[float, float, float, float]) -> np.ndarray:
    """Rotation matrix of a unit quaternion [w, x, y, z]."""
    w, x, y, z = q
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def obj_faces(data: bytes) -> np.ndarray:
    """0-based triangles of an OBJ file."""
    rows = [ln.split()[1:4] for ln in data.decode().splitlines() if ln.startswith("f ")]
    return np.array(rows, dtype=int) - 1


def is_convex(vertices: np.ndarray, faces: np.ndarray) -> bool:
    """Every vertex lies on the inner side of every face plane (within 1 µm)."""
    centre = vertices.mean(axis=0)
    for a, b, c in faces:
        n = np.cross(vertices[b] - vertices[a], vertices[c] - vertices[a])
        norm = np.linalg.norm(n)
        if norm < 1e-15:
            continue
        n = n / norm
        if n @ (centre - vertices[a]) > 0:
            n = -n
        if np.max((vertices - vertices[a]) @ n) > 1e-6:
            return False
    return True
