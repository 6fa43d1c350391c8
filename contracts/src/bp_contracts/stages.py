"""The stages of the pipeline, in order, and what each commits as (defined once).

``workflows/pipeline.yaml``'s ``stage_order`` subworkflow is what ``bp run`` and Cloud
Workflows execute; this constant is the same list for Python (the report, export's
lineage, ``bp stage``), and a test holds the two equal. Scene-run stages commit under
``scenes/<scene>/runs/<run>/<stage>``, dataset stages under ``datasets/<id>/<stage>``
(:mod:`bp_contracts.dataset_id`); a sharded stage commits one unit per shard.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

UnitKind = Literal["run", "dataset"]


@dataclass(frozen=True)
class StageDef:
    """One stage: its name, where it commits, and whether it runs as shards."""

    name: str
    unit: UnitKind
    sharded: bool = False


STAGES: Final[tuple[StageDef, ...]] = (
    StageDef("ingest", "run"),
    StageDef("simready", "run"),
    StageDef("assemble", "run"),
    StageDef("variations", "run"),
    StageDef("tasks", "run"),
    StageDef("episodes", "run", sharded=True),
    StageDef("export", "dataset"),
    StageDef("gate", "dataset"),
    StageDef("deliver", "dataset"),
)
STAGE_ORDER: Final[tuple[str, ...]] = tuple(s.name for s in STAGES)
RUN_STAGES: Final[tuple[str, ...]] = tuple(s.name for s in STAGES if s.unit == "run")
DATASET_STAGES: Final[tuple[str, ...]] = tuple(s.name for s in STAGES if s.unit == "dataset")
SHARDED_STAGES: Final[frozenset[str]] = frozenset(s.name for s in STAGES if s.sharded)
# what a dataset is made of: every scene-run stage up to and including the episodes
UPSTREAM_OF_DATASET: Final[tuple[str, ...]] = RUN_STAGES


def stage(name: str) -> StageDef:
    """The stage called ``name`` (KeyError if there is none)."""
    for s in STAGES:
        if s.name == name:
            return s
    raise KeyError(name)
