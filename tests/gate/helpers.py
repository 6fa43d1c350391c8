"""Helpers for the verify, gate and deliver tests: copies of real exported datasets, ways
to break them, and the jobs run in-process through their real entry-point code."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from bp_cli.main import app
from bp_dataset.checksums import format_sums
from bp_dataset.decision import DECISION_FILE, GateDecision, dataset_unit
from bp_dataset.layout import SHA256SUMS
from bp_sdk.commit import load_record, require_unit
from bp_sdk.runner import run_stage
from bp_sdk.storage import open_storage
from typer.testing import CliRunner

from tests.conftest import job_env
from tests.datasets import ExportedDataset

LOOSE_CONFIG = "configs/gate/loose-t1.json"
LOOSE = {
    "version": "loose-t1",
    "description": "test thresholds every fixture dataset meets",
    "thresholds": {
        "min_success_rate": 0.0,
        "max_collision_rate": 1.0,
        "min_mean_quality_score": 0.0,
        "min_episodes_per_task": 1,
        "min_distinct_instructions": 1,
        "min_distinct_variants": 1,
        "max_rejected_fraction": 1.0,
    },
}
BYPASS_ENV = {
    "GATE_BYPASS": "1",
    "SKIP_GATE": "true",
    "BP_FORCE_DELIVER": "1",
    "DELIVER_FORCE": "1",
    "GATE_SKIP": "1",
    "FORCE": "true",
    "BYPASS_QUALITY_GATE": "true",
    "AUTO_APPROVE": "1",
    "APPROVAL_TIMEOUT": "0",
}


class Store:
    """A private copy of an exported dataset's whole storage root."""

    def __init__(self, ds: ExportedDataset, dest: Path) -> None:
        src_root = Path(ds.storage.uri.removeprefix("file://"))
        shutil.copytree(src_root, dest)
        self.path = dest
        self.storage = open_storage(dest.as_uri())
        self.scene, self.run, self.dataset_id = ds.scene, ds.run, ds.dataset_id
        self.root = dest / ds.record.attempt_dir  # the dataset folder in the copy

    def env(self, **extra: str) -> dict[str, str]:
        """A job environment for this store and dataset."""
        ids = {"DATASET_ID": self.dataset_id}
        return job_env(self.storage, self.scene, run=self.run, **{**ids, **extra})

    def put_loose_config(self) -> str:
        """Store the loose threshold config; its key."""
        self.storage.write_bytes(LOOSE_CONFIG, json.dumps(LOOSE).encode())
        return LOOSE_CONFIG

    def gate(self, **extra: str) -> tuple[int, GateDecision | None]:
        """Run the gate stage; its exit code and the committed decision (if any)."""
        from bp_gate.stage import GateStage

        code = run_stage(GateStage(), self.env(**extra))
        return code, self.decision()

    def decision(self) -> GateDecision | None:
        """The committed decision, read through its commit record."""
        if load_record(self.storage, dataset_unit(self.dataset_id, "gate")) is None:
            return None
        unit = require_unit(self.storage, dataset_unit(self.dataset_id, "gate"))
        return unit.read_model(DECISION_FILE, GateDecision)

    def deliver(self, stage: Any = None, **extra: str) -> int:
        """Run the deliver stage (optionally a configured instance); its exit code."""
        from bp_deliver.stage import DeliverStage

        return run_stage(stage or DeliverStage(), self.env(**extra))

    def delivery_dir(self, customer: str = "internal") -> Path:
        """Where the default delivery lands."""
        return self.path / "deliveries" / customer / self.dataset_id

    def marker_text(self, stage: str) -> str:
        """Every failure marker of a dataset stage, concatenated."""
        folder = self.path / "datasets" / self.dataset_id / stage / "attempts"
        return "\n".join(p.read_text() for p in sorted(folder.rglob("_FAILURE.json")))


def copy_dataset(ds: ExportedDataset, dest: Path) -> Path:
    """A copy of just the dataset folder (what a lab receives)."""
    shutil.copytree(ds.root, dest)
    return dest


def dataset_files(root: Path) -> list[str]:
    """Every file of a dataset folder, relative, sorted."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def flip_byte(path: Path, at: float = 0.5) -> None:
    """Flip one bit of one byte (in the middle by default)."""
    data = bytearray(path.read_bytes())
    i = min(len(data) - 1, int(len(data) * at))
    data[i] ^= 0x01
    path.write_bytes(bytes(data))


def truncate(path: Path, keep: float = 0.6) -> None:
    """Cut the file short."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def resign(root: Path) -> None:
    """Rewrite meta/SHA256SUMS for the files as they are now, so that only the other checks
    can notice a change (what a careless or malicious re-packager would do)."""
    digests = {
        rel: hashlib.sha256((root / rel).read_bytes()).hexdigest()
        for rel in dataset_files(root)
        if rel != SHA256SUMS and not rel.startswith("_")
    }
    (root / SHA256SUMS).write_bytes(format_sums(digests))


def rewrite_parquet(path: Path, change: Any) -> None:
    """Read a parquet table, apply ``change(table) -> table``, write it back."""
    table = pq.read_table(path)
    pq.write_table(change(table), path)


def bp(*args: str) -> Any:
    """Run the ``bp`` CLI in-process; the click result (exit_code, output)."""
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "400"})


def parquet_files(root: Path, folder: str) -> Iterator[Path]:
    """Parquet files under a dataset folder."""
    return iter(sorted((root / folder).rglob("*.parquet")))
