"""Helpers of the assemble tests: a stand-in simready stage, runs, and reading outputs."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from bp_assemble.stage import AssembleStage
from bp_contracts.simready import SimreadyManifest
from bp_sdk.commit import CommittedUnit, load_record, read_committed
from bp_sdk.digest import sha256_bytes
from bp_sdk.layout import Unit, run_dir
from bp_sdk.markers import FailureMarker
from bp_sdk.runner import Stage, StageContext, StageResult, run_stage
from bp_sdk.settings import JobSettings
from bp_sdk.storage import Storage
from bp_sdk.storage.local import LocalStorage

from tests.conftest import job_env

SIMREADY_MANIFEST = "simready_manifest.json"


class _StandInSettings(JobSettings):
    stage_name: ClassVar[str] = "simready"


class StandInSimready(Stage[_StandInSettings]):
    """Commits a given simready manifest and meshes as the ``simready`` stage (a test double of the upstream stage)."""

    name = "simready"
    distribution = "bp-sdk"
    settings_cls = _StandInSettings

    def __init__(self, manifest: SimreadyManifest, meshes: dict[str, bytes]) -> None:
        self.manifest = manifest
        self.meshes = meshes

    def inputs(self, settings: _StandInSettings, storage: Storage) -> dict[str, str]:
        return {"manifest": sha256_bytes(self.manifest.model_dump_json().encode())}

    def run(self, ctx: StageContext[_StandInSettings]) -> StageResult:
        for name, data in sorted(self.meshes.items()):
            ctx.output.write_bytes(name, data)
        ctx.output.write_json(SIMREADY_MANIFEST, self.manifest)
        return StageResult()


@dataclass
class Outcome:
    """Exit code of one assemble run and read access to what it left."""

    code: int
    storage: Storage
    scene: str
    run: str

    def run_keys(self) -> list[str]:
        """Every stored key of the run."""
        return [i.path for i in self.storage.list(run_dir(self.scene, self.run) + "/")]

    def committed(self) -> CommittedUnit:
        """The committed assemble unit (must exist)."""
        units = read_committed(self.storage, self.scene, self.run, "assemble")
        assert units, f"assemble not committed (exit {self.code}): {self.failure_text()}"
        return units[0]

    def marker(self) -> FailureMarker:
        """The single failure marker of the assemble stage."""
        keys = [k for k in self.run_keys() if "/assemble/" in k and k.endswith("/_FAILURE.json")]
        assert len(keys) == 1, f"expected one assemble failure marker, found {self.run_keys()}"
        return FailureMarker.model_validate_json(self.storage.read_bytes(keys[0]))

    def failure_text(self) -> str:
        """The marker's message and problems, or a note that there is none."""
        keys = [k for k in self.run_keys() if "/assemble/" in k and k.endswith("/_FAILURE.json")]
        if not keys:
            return "no failure marker"
        m = FailureMarker.model_validate_json(self.storage.read_bytes(keys[0]))
        return f"{m.error_type}: {m.message}\n" + "\n".join(m.problems)

    def json(self, name: str) -> Any:
        """A committed JSON file, verified."""
        return json.loads(self.committed().read_bytes(name))

    def export(self, dest: Path) -> Path:
        """Copy every committed file under ``dest`` (as a user would download it)."""
        unit = self.committed()
        for name in unit.record.files:
            path = dest / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(unit.read_bytes(name))
        return dest

    def folder(self) -> Path:
        """The committed attempt folder on disk, in place (file:// storage only)."""
        assert isinstance(self.storage, LocalStorage), "in-place access needs file:// storage"
        return self.storage.root / self.committed().record.attempt_dir

    def download(self, dest: Path) -> Path:
        """Copy the committed attempt folder alone to ``dest``, byte for byte, as a lab would."""
        shutil.copytree(self.folder(), dest)
        return dest

    def is_committed(self) -> bool:
        """Whether assemble has a commit record for this run."""
        return load_record(self.storage, Unit(self.scene, self.run, "assemble")) is not None


def commit_simready(
    storage: Storage, scene: str, run: str, manifest: SimreadyManifest, meshes: dict[str, bytes]
) -> None:
    """Commit ``manifest`` (+ meshes) as the simready output of ``scene``/``run``."""
    code = run_stage(StandInSimready(manifest, meshes), environ=job_env(storage, scene, run))
    assert code == 0


def assemble(storage: Storage, scene: str, run: str = "r1", **env: str) -> Outcome:
    """Run the real assemble stage in-process."""
    code = run_stage(AssembleStage(), environ=job_env(storage, scene, run, **env))
    return Outcome(code, storage, scene, run)
