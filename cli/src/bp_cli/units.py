"""Where a stage commits, for ``bp`` to show a job's record or marker.

Scene stages commit under ``scenes/<scene>/runs/<run>/<stage>`` (one unit per shard for a
sharded stage); dataset stages under ``datasets/<DATASET_ID>/<stage>`` (default
``<scene>-<run>``), as ``workflows/pipeline.yaml``'s ``unit_prefix`` does. Before a job
starts in a derived run, ``bp stage`` checks that the stage before it has committed there.
"""

from __future__ import annotations

from collections.abc import Mapping

from bp_contracts.dataset_id import dataset_id
from bp_contracts.stages import DATASET_STAGES, SHARDED_STAGES, STAGE_ORDER
from bp_dataset.decision import dataset_unit
from bp_sdk.commit import MAX_RUNS_CHECKED, load_record, read_committed
from bp_sdk.errors import PermanentError
from bp_sdk.layout import Unit, scene_dir
from bp_sdk.storage import Storage, join

from bp_cli.errors import UsageError

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


def is_committed(
    store: Storage, stage: str, scene_id: str, run_id: str, env: Mapping[str, str]
) -> bool:
    """Whether ``stage`` has committed for this scene run (every shard, or its dataset unit);
    an unreadable record counts as not committed."""
    unit = stage_unit(stage, scene_id, run_id, env)
    try:
        if unit is None:
            return bool(read_committed(store, scene_id, run_id, stage))
        return load_record(store, unit) is not None
    except PermanentError:
        return False


def check_upstream_run(
    store: Storage,
    stage: str,
    scene_id: str,
    run_id: str,
    overrides: Mapping[str, str],
    env: Mapping[str, str],
) -> None:
    """Before ``bp stage`` starts a job in a derived run: when the stage before it has not
    committed in that run but has in another run of the scene (its --set values differed),
    a usage error that says why the run ids differ and what to pass instead."""
    order = list(STAGE_ORDER)
    if stage not in order[1:] or (stage == "export" and env.get("EXPORT_SPEC")):
        return  # ingest reads the input; an export spec names its own source runs
    upstream = order[order.index(stage) - 1]
    if is_committed(store, upstream, scene_id, run_id, env):
        return
    runs = store.list_dirs(join(scene_dir(scene_id), "runs") + "/")[:MAX_RUNS_CHECKED]
    others = [r for r in runs if r != run_id and is_committed(store, upstream, scene_id, r, env)]
    if not others:
        return  # nowhere: the job's own error says to run the upstream stage first
    sets = "".join(f" --set {k}={v}" for k, v in sorted(overrides.items()))
    listed = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
    before = upstream if upstream == order[0] else f"{order[0]} … {upstream}"
    raise UsageError(
        f"{upstream} has not committed in run {run_id}, the run id derived from scene "
        f"{scene_id}'s input and {sets.strip() or 'no --set values'}, but it "
        f"has in run{'s' if len(others) > 1 else ''} {listed}: the --set values are part of "
        "the run id, so stages given different --set values run in different runs",
        next_step=(
            f"Run {stage} in the run where {upstream} committed: bp stage {stage} --scene "
            f"{scene_id} --run-id {others[0]}{sets}; or give every stage the same --set values "
            f"(run {before} {'with' + sets if sets else 'without --set'} too, then {stage})."
        ),
    )
