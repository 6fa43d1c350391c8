"""Helpers shared by the ingest tests: run the real stage, read what it left in storage."""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bp_contracts.scene_manifest import SceneManifest
from bp_ingest.stage import IngestStage
from bp_sdk.commit import CommitRecord, load_record, read_committed
from bp_sdk.layout import Unit, run_dir
from bp_sdk.markers import FailureMarker
from bp_sdk.runner import run_stage
from bp_sdk.storage import Storage

from tests.conftest import job_env, minimal_blueprint

MANIFEST = "scene_manifest.json"
Quat = tuple[float, float, float, float]
Vec3 = tuple[float, float, float]


@dataclass
class Outcome:
    """Exit code of one ingest run plus read access to what it wrote."""

    code: int
    storage: Storage
    scene: str
    run: str

    @property
    def unit(self) -> Unit:
        """The ingest unit of this run."""
        return Unit(self.scene, self.run, "ingest")

    def run_keys(self) -> list[str]:
        """Every stored key under the run folder, listed through the storage API."""
        return [i.path for i in self.storage.list(run_dir(self.scene, self.run) + "/")]

    def markers(self) -> list[FailureMarker]:
        """Every failure marker under the run folder, validated."""
        return [
            FailureMarker.model_validate_json(self.storage.read_bytes(k))
            for k in self.run_keys()
            if k.endswith("/_FAILURE.json")
        ]

    def marker(self) -> FailureMarker:
        """The single failure marker of this run."""
        found = self.markers()
        assert len(found) == 1, f"expected one failure marker, found {self.run_keys()}"
        return found[0]

    def record(self) -> CommitRecord:
        """The commit record of this run (must exist)."""
        rec = load_record(self.storage, self.unit)
        assert rec is not None, f"no commit record; exit {self.code}; keys {self.run_keys()}"
        return rec

    def manifest_bytes(self) -> bytes:
        """The committed manifest, verified against the commit record's size and sha256."""
        units = read_committed(self.storage, self.scene, self.run, "ingest")
        assert units, f"ingest not committed (exit {self.code}); keys {self.run_keys()}"
        return units[0].read_bytes(MANIFEST)

    def manifest(self) -> SceneManifest:
        """The committed manifest, validated by the SDK schema."""
        return SceneManifest.model_validate_json(self.manifest_bytes())


def ingest(storage: Storage, scene: str, run: str = "r1", **env: str) -> Outcome:
    """Run the real ingest stage in-process on ``scene`` and return its outcome."""
    code = run_stage(IngestStage(), environ=job_env(storage, scene, run, **env))
    return Outcome(code, storage, scene, run)


def ok_manifest(outcome: Outcome) -> SceneManifest:
    """Assert ingest succeeded and return its validated manifest."""
    assert outcome.code == 0, _failure_text(outcome)
    return outcome.manifest()


def _failure_text(outcome: Outcome) -> str:
    markers = outcome.markers()
    if not markers:
        return f"exit {outcome.code}, no marker; keys {outcome.run_keys()}"
    m = markers[0]
    return f"exit {outcome.code}: {m.error_type}: {m.message}\n" + "\n".join(m.problems)


def files_under(root: Path) -> list[str]:
    """Every file under ``root`` on disk (temporary files included), relative POSIX paths."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def blueprint(**overrides: Any) -> dict[str, Any]:
    """A deep copy of the shared minimal blueprint (table, mug on it, apple on it)."""
    return copy.deepcopy(minimal_blueprint(**overrides))


def dumps(bp: dict[str, Any]) -> bytes:
    """Blueprint as JSON bytes."""
    return json.dumps(bp, indent=1).encode()


def by_id(manifest: SceneManifest) -> dict[str, Any]:
    """Manifest objects by id."""
    return {o.id: o for o in manifest.objects}


# --------------------------------------------------------------- independent geometry
def rotation_matrix(q: Quat) -> list[list[float]]:
    """3x3 rotation matrix of a unit quaternion [w, x, y, z]."""
    w, x, y, z = q
    return [
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ]


def half_extents(q: Quat, size: Vec3) -> Vec3:
    """Half extents of the world-axis-aligned box around a box of ``size`` turned by ``q``."""
    r = rotation_matrix(q)
    return tuple(sum(abs(r[i][j]) * size[j] for j in range(3)) / 2 for i in range(3))  # type: ignore[return-value]


def bottom(obj: Any) -> float:
    """World z of the lowest point of a manifest object's box."""
    return obj.position_m[2] - half_extents(obj.orientation_wxyz, obj.size_m)[2]


def top(obj: Any) -> float:
    """World z of the highest point of a manifest object's box."""
    return obj.position_m[2] + half_extents(obj.orientation_wxyz, obj.size_m)[2]


def close(a: Any, b: Any, tol: float = 1e-9) -> bool:
    """Element-wise closeness of two equal-length number sequences (or two numbers)."""
    if isinstance(a, int | float):
        return math.isclose(a, b, rel_tol=0.0, abs_tol=tol)
    return len(a) == len(b) and all(
        math.isclose(x, y, rel_tol=0.0, abs_tol=tol) for x, y in zip(a, b, strict=True)
    )
