"""Every stage of the pipeline, and how to prepare a store in which it has work to do.

The base store (``conftest.pipeline``) went all the way: ingest → … → deliver and a
report. :func:`prepare` copies it without the stage's own outputs (its unit folder, and
for deliver the delivered copy, for report every report), so the stage runs again for real
on real upstream data.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bp_sdk.layout import Unit, dataset_dir, report_unit, run_dir

SCENE = "kitchen_counter"
RUN = "r1"
DATASET = "kitchen-core"
REPORT = "fault-1"


def _stage_class(name: str) -> Any:
    """The stage's class, imported only when a test needs it (job code is heavy)."""
    from bp_assemble.stage import AssembleStage
    from bp_deliver.stage import DeliverStage
    from bp_episodes.stage import EpisodesStage
    from bp_export.stage import ExportStage
    from bp_gate.stage import GateStage
    from bp_ingest.stage import IngestStage
    from bp_report.stage import ReportStage
    from bp_simready.stage import SimreadyStage
    from bp_tasks.stage import TasksStage
    from bp_variations.stage import VariationsStage

    return {
        "ingest": IngestStage,
        "simready": SimreadyStage,
        "assemble": AssembleStage,
        "variations": VariationsStage,
        "tasks": TasksStage,
        "episodes": EpisodesStage,
        "export": ExportStage,
        "gate": GateStage,
        "deliver": DeliverStage,
        "report": ReportStage,
    }[name]


@dataclass(frozen=True)
class Spec:
    """One stage: where it commits, what else to drop from the copy, its settings."""

    name: str
    unit: Unit
    drop: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)

    def make(self) -> Any:
        """A fresh stage object."""
        return _stage_class(self.name)()

    @property
    def script(self) -> str:
        """Its console script."""
        return f"bp-{self.name}"


def specs(episode_task: str) -> list[Spec]:
    """Every stage, ingest → deliver and report (``episode_task``: the one task episodes runs)."""
    scene_stages = ["ingest", "simready", "assemble", "variations", "tasks"]
    out = [Spec(n, Unit(SCENE, RUN, n)) for n in scene_stages]
    out.append(
        Spec(
            "episodes",
            Unit(SCENE, RUN, "episodes", 0, 1),
            drop=(f"{run_dir(SCENE, RUN)}/episodes",),
            env={
                "EPISODES_TASKS": episode_task,
                "EPISODES_PER_TASK": "1",
                "EPISODES_MAX_VARIANTS": "1",
                "EPISODES_RESOLUTION": "64",
                "EPISODES_MIN_SUCCESS_RATE": "0",
                "EPISODES_TIER": "core",
            },
        )
    )
    for n in ("export", "gate", "deliver"):
        drop = ("deliveries",) if n == "deliver" else ()
        out.append(Spec(n, Unit(SCENE, RUN, n, dataset=DATASET), drop=drop))
    out.append(
        Spec(
            "report",
            report_unit(SCENE, RUN, REPORT),
            drop=(f"{run_dir(SCENE, RUN)}/reports", f"{dataset_dir(DATASET)}/reports"),
            env={"REPORT_ID": REPORT},
        )
    )
    return out


def prepare(base: Path, spec: Spec, dest: Path) -> Path:
    """A copy of ``base`` in which ``spec``'s stage has not run yet."""
    shutil.copytree(base, dest, dirs_exist_ok=True)
    for key in (spec.unit.dir, *spec.drop):
        shutil.rmtree(dest / key, ignore_errors=True)
    return dest


def env_for(storage_uri: str, spec: Spec, **extra: str) -> dict[str, str]:
    """The job environment for ``spec`` on the store at ``storage_uri``."""
    keep = {"PATH", "HOME", "LANG", "TMPDIR", "MUJOCO_GL"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        STORAGE_URI=storage_uri, SCENE_ID=SCENE, RUN_ID=RUN, LOG_FORMAT="json", DATASET_ID=DATASET
    )
    env.update(spec.env)
    env.update(extra)
    return env
