"""The episodes stage: simulate the scripted expert on every (variant, task) and record.

Sharded: ``CLOUD_RUN_TASK_INDEX``/``CLOUD_RUN_TASK_COUNT`` split the episode list
round-robin; each shard commits its own episodes. Seeds never depend on the shard
count, so the same episode is byte-identical however the work is split.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from bp_contracts.assembly import ASSEMBLY_FILE, Assembly
from bp_contracts.episode import (
    SAMPLES_FILE,
    SEGMENTATION_BACKGROUND,
    SHARD_SUMMARY_FILE,
    DepthEncoding,
    EpisodeRecord,
    episode_data_file,
    episode_file,
    stream_specs,
)
from bp_contracts.simready import SIMREADY_MANIFEST_FILE, SimObject, SimreadyManifest
from bp_contracts.tasks import TASKS_FILE, TaskSet
from bp_contracts.variation import VARIATIONS_INDEX_FILE, Variant, VariationsIndex, variant_file
from bp_sdk.clock import StageClock
from bp_sdk.commit import require_committed, upstream_digests
from bp_sdk.digest import sha256_json
from bp_sdk.errors import ConfigError, PermanentError, Problem
from bp_sdk.runner import Stage, StageContext, StageResult
from bp_sdk.storage import Storage

from bp_episodes.backend import SimBatch
from bp_episodes.compiled import compile_variant
from bp_episodes.data_file import EpisodeData
from bp_episodes.episode import EpisodeTimeoutError, RecordOptions, run_episode
from bp_episodes.expert.registry import EXPERTS
from bp_episodes.initial_state import sample_initial_state
from bp_episodes.metrics import EpisodeMetrics
from bp_episodes.scene import geom_table
from bp_episodes.settings import EpisodesSettings
from bp_episodes.simulators import BackendOptions, open_batch, simulator_info
from bp_episodes.strip import sample_strip
from bp_episodes.worklist import EpisodePlan, build_worklist, select_tasks, shard

UPSTREAM = ["simready", "assemble", "variations", "tasks"]
SAMPLE_ROWS = 4


@dataclass(frozen=True)
class Done:
    """One simulated episode: its record (as written) and how long it took."""

    record: EpisodeRecord
    wall_s: float


class EpisodesStage(Stage[EpisodesSettings]):
    """Simulated manipulation episodes with a scripted expert."""

    name = "episodes"
    distribution = "bp-episodes"
    settings_cls = EpisodesSettings
    sharded = True

    def inputs(self, settings: EpisodesSettings, storage: Storage) -> dict[str, str]:
        """Digests of the committed upstream stages."""
        self._inputs = upstream_digests(storage, settings.scene_id, settings.run_id, UPSTREAM)
        return self._inputs

    def run(self, ctx: StageContext[EpisodesSettings]) -> StageResult:
        """Simulate this shard's episodes."""
        s = ctx.settings
        self.clock = StageClock()  # where the time goes: the summary's stage_seconds
        up = {k: require_committed(ctx.storage, s.scene_id, s.run_id, k) for k in UPSTREAM}
        simready = up["simready"].read_model(SIMREADY_MANIFEST_FILE, SimreadyManifest)
        assembly = up["assemble"].read_model(ASSEMBLY_FILE, Assembly)
        taskset = up["tasks"].read_model(TASKS_FILE, TaskSet)
        _check_rate(assembly.timestep_s, s.episodes_fps)
        tasks = select_tasks(taskset, s.task_filter())
        missing = sorted({t.kind for t in tasks} - set(EXPERTS))
        if missing:
            ctx.log.warning(
                "no scripted expert yet for task kinds %s; those tasks are skipped", missing
            )
            tasks = [t for t in tasks if t.kind in EXPERTS]
        index = up["variations"].read_model(VARIATIONS_INDEX_FILE, VariationsIndex)
        variant_ids = sorted(index.variant_ids())[: s.episodes_max_variants]
        upstream = getattr(self, "_inputs", None) or self.inputs(
            s, ctx.storage
        )  # computed by the runner already
        config = sha256_json({"params": s.output_params(), "upstream": upstream})
        plans = build_worklist(
            s.scene_id, config, s.episodes_base_seed, variant_ids, tasks, s.episodes_per_task
        )
        if not plans:
            raise PermanentError(
                f"no episode to simulate for scene {s.scene_id!r}: no task has an expert and a target",
                next_step="Check tasks.json and EPISODES_TASKS.",
            )
        mine = shard(plans, s.cloud_run_task_index, s.cloud_run_task_count)
        ctx.log.info(
            "shard %d/%d: %d of %d episodes",
            s.cloud_run_task_index,
            s.cloud_run_task_count,
            len(mine),
            len(plans),
        )
        ctx.partial["episodes_total"] = len(mine)
        results = self._simulate(ctx, simready, assembly, up, mine)
        return self._finish(ctx, results, len(plans))

    def _simulate(
        self,
        ctx: StageContext[EpisodesSettings],
        simready: SimreadyManifest,
        assembly: Assembly,
        up: dict[str, Any],
        mine: list[EpisodePlan],
    ) -> list[Done]:
        from bp_sim.robots import get_robot  # noqa: PLC0415

        s = ctx.settings
        opts = RecordOptions(
            s.episodes_fps,
            s.episodes_tier,
            s.episodes_timeout_s,
            s.episodes_joint_noise_rad,
            s.episodes_object_jitter_m,
            s.episodes_object_yaw_rad,
        )
        robot = get_robot(s.episodes_robot)
        by_variant: dict[str, list[EpisodePlan]] = defaultdict(list)
        for p in mine:
            by_variant[p.variant_id].append(p)
        results: list[Done] = []
        samples: list[tuple[str, list[Any]]] = []
        done = succeeded = 0
        for vid in sorted(by_variant):
            with self.clock("scene (compose, compile, open the backend)"):
                variant = up["variations"].read_model(variant_file(vid), Variant)
                c = compile_variant(
                    simready,
                    assembly,
                    variant,
                    up["simready"].read_bytes,
                    robot,
                    s.episodes_resolution,
                )
                worlds = s.episodes_worlds if s.episodes_runner == "batched" else 1
                batch = open_batch(c.model, worlds, BackendOptions.from_settings(s))
            try:
                for record, wall_s in self._episodes(
                    ctx, batch, c.h, by_variant[vid], c.objects, opts, samples
                ):
                    result = Done(record, wall_s)
                    results.append(result)
                    done += 1
                    succeeded += record.success
                    _log_episode(ctx, result)
                    ctx.progress(
                        "episodes", done, len(mine), every_s=0.0, extra={"succeeded": succeeded}
                    )
            finally:
                batch.close()
        if samples:
            ctx.output.write_bytes(SAMPLES_FILE, sample_strip(samples))
        # in work-list order (the batched runner's episodes end in any order)
        order = {p.episode_id: i for i, p in enumerate(mine)}
        return sorted(results, key=lambda r: order[r.record.episode_id])

    def _episodes(
        self,
        ctx: StageContext[EpisodesSettings],
        batch: SimBatch,
        h: Any,
        plans: list[EpisodePlan],
        objects: dict[str, SimObject],
        opts: RecordOptions,
        samples: list[tuple[str, list[Any]]],
    ) -> Iterator[tuple[EpisodeRecord, float]]:
        """Each episode's record and wall time: one at a time, or with EPISODES_RUNNER=batched
        on all of the batch's worlds (:func:`bp_episodes.batched.runner.record_batched`)."""
        if ctx.settings.episodes_runner == "batched":
            from bp_episodes.batched.runner import record_batched  # noqa: PLC0415

            yield from record_batched(
                self, ctx, batch, h, plans, objects, opts, samples, self.clock
            )
            return
        for plan in plans:
            started = time.monotonic()
            record = self._one(ctx, batch, h, plan, objects, opts, samples)
            yield record, round(time.monotonic() - started, 3)

    def _one(
        self,
        ctx: StageContext[EpisodesSettings],
        batch: SimBatch,
        h: Any,
        plan: EpisodePlan,
        objects: dict[str, SimObject],
        opts: RecordOptions,
        samples: list[tuple[str, list[Any]]],
    ) -> EpisodeRecord:
        meta = self._meta(ctx, batch, h, plan, objects)
        init = sample_initial_state(h, plan, objects, opts.perturbation())
        meta["initial_state"] = init.to_json()
        try:
            rec, met = run_episode(batch, h, plan, objects, opts, init)
        except EpisodeTimeoutError as exc:
            meta.update(status="failure", kept=False, failure_reason=f"timeout: {exc}")
            return _write_record(ctx, meta)
        except (
            RuntimeError,
            ValueError,
        ) as exc:  # rendering/capture or planning failed: a failed episode
            meta.update(
                status="failure",
                kept=False,
                failure_reason=f"capture or planning failed: {type(exc).__name__}: {exc}",
            )
            return _write_record(ctx, meta)
        return self._keep(ctx, h, plan, meta, rec.stacked(), met, samples)

    def _meta(
        self,
        ctx: StageContext[EpisodesSettings],
        batch: SimBatch,
        h: Any,
        plan: EpisodePlan,
        objects: dict[str, SimObject],
    ) -> dict[str, Any]:
        """The episode record's keys known before it runs."""
        s = ctx.settings
        meta: dict[str, Any] = {
            "episode_id": plan.episode_id,
            "variant_id": plan.variant_id,
            "task_id": plan.task.task_id,
            "task_kind": plan.task.kind,
            "object": plan.task.object,
            "instruction": plan.task.instruction,
            "index": plan.index,
            "seed": plan.seed,
            "fps": s.episodes_fps,
            "tier": s.episodes_tier,
            "resolution": s.episodes_resolution,
            "movable_objects": list(h.movable),  # row order of object poses and contacts
            "object_categories": {o: objects[o].category for o in h.movable},
            "simulator": simulator_info(s.episodes_backend),
            "cameras": {
                c.name: {"mount": c.mount, "fovy_deg": c.fovy_deg, "intrinsics": c.intrinsics}
                for c in h.cameras
            },
        }
        if s.episodes_tier in ("plus", "full"):
            near, far = batch.depth_range_m()
            meta["depth"] = DepthEncoding.for_planes(near, far).model_dump()
        if s.episodes_tier == "full":
            meta["segmentation"] = {"background": SEGMENTATION_BACKGROUND, "geoms": geom_table(h)}
        return meta

    def _keep(
        self,
        ctx: StageContext[EpisodesSettings],
        h: Any,
        plan: EpisodePlan,
        meta: dict[str, Any],
        recorded: dict[str, Any] | EpisodeData,
        met: EpisodeMetrics,
        samples: list[tuple[str, list[Any]]] | None,
    ) -> EpisodeRecord:
        """Check a recorded episode's streams, write its data and record, and add its frames
        to ``samples`` while there is room (None: no sample rows from this episode)."""
        s = ctx.settings
        data = recorded if isinstance(recorded, EpisodeData) else EpisodeData(recorded)
        shapes, dtypes = data.shapes(), data.dtypes()
        counts = {k: v[0] for k, v in shapes.items()}
        if len(set(counts.values())) != 1:
            met.success = False
            met.failure_reason = f"streams disagree in frame count: {counts}"
        off = _off_contract(
            shapes, dtypes, [c.name for c in h.cameras], s.episodes_resolution, h.movable
        )
        if off:
            met.success = False
            met.failure_reason = "streams break the episode contract: " + "; ".join(off)
        status = "success" if met.success else "failure"
        keep = met.success or s.episodes_keep_failures
        meta.update(
            status=status,
            kept=keep,
            failure_reason=met.failure_reason,
            metrics=met.to_json(),
            frames=met.frames,
            streams={k: list(v[1:]) for k, v in shapes.items()},
            dtypes={k: str(v) for k, v in dtypes.items()},
        )
        if keep:
            payload = data.npz(s.episodes_deflate_level)
            ctx.output.write_bytes(episode_data_file(plan.episode_id), payload)
            meta["data_file"] = episode_data_file(plan.episode_id)
        record = _write_record(ctx, meta)
        for cam in h.cameras:
            key = f"observation.images.{cam.name}"
            if samples is not None and key in shapes and len(samples) < SAMPLE_ROWS:
                frames = data.frames(key, s.episodes_deflate_level)
                title = f"{plan.episode_id} [{status}] {cam.name}: {plan.task.instruction}"
                samples.append((title, list(frames)))
        ctx.log.info(
            "%s: %s%s",
            plan.episode_id,
            status,
            f" ({met.failure_reason})" if met.failure_reason else "",
            extra={"fields": {"quality": met.quality_score, "frames": met.frames}},
        )
        return record

    def _finish(
        self, ctx: StageContext[EpisodesSettings], results: list[Done], total: int
    ) -> StageResult:
        s = ctx.settings
        per_task: dict[str, list[bool]] = defaultdict(list)
        for r in results:
            per_task[r.record.task_id].append(r.record.success)
        successes = sum(r.record.success for r in results)
        rate = successes / len(results) if results else 1.0
        summary = {
            "episodes": len(results),
            "successes": successes,
            "success_rate": round(rate, 4),
            "kept": sum(r.record.kept for r in results),
            "episodes_in_run": total,
            "per_task": {
                k: {"episodes": len(v), "success_rate": round(sum(v) / len(v), 4)}
                for k, v in sorted(per_task.items())
            },
            "wall_s": round(sum(r.wall_s for r in results), 3),
            "frames": sum(r.record.frames or 0 for r in results),
            "stage_seconds": self.clock.to_json(),
        }
        ctx.output.write_json(
            SHARD_SUMMARY_FILE,
            {"summary": summary, "episodes": [r.record.episode_id for r in results]},
        )
        if results and rate < s.episodes_min_success_rate:
            problems = [
                Problem(r.record.episode_id, str(r.record.failure_reason), "")
                for r in results
                if not r.record.success
            ]
            raise PermanentError(
                f"success rate {rate:.0%} is below EPISODES_MIN_SUCCESS_RATE {s.episodes_min_success_rate:.0%} "
                f"({successes}/{len(results)}): the scripted expert is not working on this scene",
                problems=problems,
                next_step="Look at samples.png and the failure reasons; fix the expert or the task targets.",
            )
        return StageResult(
            summary=summary, seeds={r.record.episode_id: r.record.seed for r in results}
        )


def _write_record(ctx: StageContext[EpisodesSettings], meta: dict[str, Any]) -> EpisodeRecord:
    """Validate the episode's record against the contract and write it (only the keys set)."""
    record = EpisodeRecord.model_validate(meta)
    ctx.output.write_json(episode_file(record.episode_id), record.to_json())
    return record


def _off_contract(
    shapes: dict[str, tuple[int, ...]],
    dtypes: dict[str, Any],
    cameras: list[str],
    resolution: int,
    movable: list[str],
) -> list[str]:
    """Streams whose name, per-frame shape or dtype is not the episode arrays' contract."""
    specs = stream_specs(cameras, resolution, len(movable))
    out = []
    for key in sorted(shapes):
        spec, frame, dtype = specs.get(key), tuple(shapes[key][1:]), dtypes[key]
        if spec is None:
            out.append(f"{key} is not a known stream")
        elif frame != spec.shape or not spec.accepts(dtype.kind, dtype.itemsize):
            out.append(f"{key} is {dtype}{list(frame)}, expected {spec.dtype}{list(spec.shape)}")
    return out


def _check_rate(timestep: float, fps: int) -> None:
    hz = round(1.0 / timestep)
    if abs(1.0 / timestep - hz) > 1e-6 or hz % fps:
        raise ConfigError(
            f"EPISODES_FPS={fps} does not divide the physics rate {1.0 / timestep:g} Hz of this scene",
            problems=[
                Problem(
                    "EPISODES_FPS",
                    f"{hz} % {fps} != 0",
                    "pick an fps that divides the physics rate",
                )
            ],
        )


__all__ = ["EpisodesStage"]


def _log_episode(ctx: StageContext[EpisodesSettings], result: Done) -> None:
    """One structured line per episode (the success-rate metric counts these)."""
    r = result.record
    ctx.log.info(
        "episode %s (%s): %s",
        r.episode_id,
        r.task_id,
        "success" if r.success else f"failure ({r.failure_reason or ''})",
        extra={
            "fields": {
                "event": "episode_finished",
                "episode_id": r.episode_id,
                "task_id": r.task_id,
                "task_kind": r.task_kind,
                "success": r.success,
                "wall_s": result.wall_s,
            }
        },
    )
