"""Where a stage commits, for ``bp`` to show a job's record or marker.

Scene stages commit under ``scenes/<scene>/runs/<run>/<stage>`` (one unit per shard for a
sharded stage); dataset stages under ``datasets/<DATASET_ID>/<stage>`` (default
``<scene>-<run>``), as ``workflows/pipeline.yaml``'s ``unit_prefix`` does.
"""

from __future__ import annotations

from collections.abc import Mapping

from bp_contracts.dataset_id import dataset_id
from bp_contracts.stages import DATASET_STAGES, SHARDED_STAGES
from bp_dataset.decision import dataset_unit
from bp_sdk.layout import Unit

SHARDED = SHARDED_STAGES  # TEMP-CONTRACTS: until main.py imports it from bp_contracts


def dataset_id_of(scene_id: str, run_id: str, env: Mapping[str, str]) -> str:
    """``DATASET_ID`` if set, else the default ``<scene>-<run>`` (:mod:`bp_contracts.dataset_id`)."""
    return dataset_id(scene_id, run_id, env.get("DATASET_ID"))


def stage_unit(stage: str, scene_id: str, run_id: str, env: Mapping[str, str]) -> Unit | None:
    """The unit an unsharded stage commits to (None for a sharded stage: one per shard)."""
    if stage in SHARDED_STAGES:
        return None
    if stage in DATASET_STAGES:
        return dataset_unit(dataset_id_of(scene_id, run_id, env), stage)
    return Unit(scene_id, run_id, stage)
