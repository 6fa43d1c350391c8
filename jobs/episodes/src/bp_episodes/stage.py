"""The episodes stage: simulate the scripted expert on every (variant, task) and record.

Sharded: ``CLOUD_RUN_TASK_INDEX``/``CLOUD_RUN_TASK_COUNT`` split the episode list
round-robin; each shard commits its own episodes. Seeds never depend on the shard
count, so the same episode is byte-identical however the work is split.
"""

from __future__ import annotations

import io
import time
from collections import defaultdict
from typing import Any

import numpy as np
from bp_sdk.commit import require_committed, upstream_digests
from bp_sdk.digest import sha256_json
from bp_sdk.errors import ConfigError, PermanentError, Problem
from bp_sdk.runner import Stage, StageContext, StageResult
from bp_sdk.schemas import Assembly, SimObject, SimreadyManifest, TaskSet, Variant
from bp_sdk.storage import Storage

from bp_episodes.backend import MujocoBatch
from bp_episodes.episode import EpisodeTimeoutError, RecordOptions, run_episode
from bp_episodes.expert.registry import EXPERTS
from bp_episodes.scene import handles
from bp_episodes.settings import EpisodesSettings
from bp_episodes.strip import sample_strip
from bp_episodes.worklist import EpisodePlan, build_worklist, select_tasks, shard

UPSTREAM = ["simready", "assemble", "variations", "tasks"]
SAMPLE_ROWS = 4


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
        up = {k: require_committed(ctx.storage, s.scene_id, s.run_id, k) for k in UPSTREAM}
        simready = up["simready"].read_model("simready_manifest.json", SimreadyManifest)
        assembly = up["assemble"].read_model("assembly.json", Assembly)
        taskset = up["tasks"].read_model("tasks.json", TaskSet)
        _check_rate(assembly.timestep_s, s.episodes_fps)
        tasks = select_tasks(taskset, s.task_filter())
        missing = sorted({t.kind for t in tasks} - set(EXPERTS))
        if missing:
            ctx.log.warning(
                "no scripted expert yet for task kinds %s; those tasks are skipped", missing
            )
            tasks = [t for t in tasks if t.kind in EXPERTS]
        index = up["variations"].read_json("variations/index.json")
        variant_ids = sorted(_variant_ids(index))[: s.episodes_max_variants]
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
    ) -> list[dict[str, Any]]:
        from bp_sim.compose import compose_scene  # noqa: PLC0415 - imports MuJoCo (after MUJOCO_GL is set)
        from bp_sim.robots import get_robot  # noqa: PLC0415

        s = ctx.settings
        opts = RecordOptions(
            s.episodes_fps, s.episodes_tier, s.episodes_timeout_s, s.episodes_joint_noise_rad
        )
        robot = get_robot(s.episodes_robot)
        by_variant: dict[str, list[EpisodePlan]] = defaultdict(list)
        for p in mine:
            by_variant[p.variant_id].append(p)
        results: list[dict[str, Any]] = []
        samples: list[tuple[str, list[Any]]] = []
        done = succeeded = 0
        for vid in sorted(by_variant):
            variant = up["variations"].read_model(f"variations/{vid}.json", Variant)
            spec = compose_scene(
                simready,
                assembly.robot,
                assembly.cameras,
                assembly.lights,
                variant,
                timestep=assembly.timestep_s,
                mesh_loader=up["simready"].read_bytes,
            )
            model = spec.compile()
            objects: dict[str, SimObject] = {
                o.id: o for o in [*simready.objects, *variant.distractors]
            }
            h = handles(
                model, robot, list(objects.values()), assembly.cameras, s.episodes_resolution
            )
            batch = MujocoBatch(model, 1, s.episodes_resolution, shadows=s.episodes_shadows)
            try:
                for plan in by_variant[vid]:
                    started = time.monotonic()
                    result = self._one(ctx, batch, h, plan, objects, opts, samples)
                    result["wall_s"] = round(time.monotonic() - started, 3)
                    results.append(result)
                    done += 1
                    succeeded += result.get("status") == "success"
                    _log_episode(ctx, result)
                    ctx.progress(
                        "episodes", done, len(mine), every_s=0.0, extra={"succeeded": succeeded}
                    )
            finally:
                batch.close()
        if samples:
            ctx.output.write_bytes("samples.png", sample_strip(samples))
        return results

    def _one(
        self,
        ctx: StageContext[EpisodesSettings],
        batch: MujocoBatch,
        h: Any,
        plan: EpisodePlan,
        objects: dict[str, SimObject],
        opts: RecordOptions,
        samples: list[tuple[str, list[Any]]],
    ) -> dict[str, Any]:
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
            "simulator": {"name": "mujoco", "version": _mujoco_version()},
            "cameras": {
                c.name: {"mount": c.mount, "fovy_deg": c.fovy_deg, "intrinsics": c.intrinsics}
                for c in h.cameras
            },
        }
        try:
            rec, met = run_episode(batch, h, plan, objects, opts)
        except EpisodeTimeoutError as exc:
            meta.update(status="failure", kept=False, failure_reason=f"timeout: {exc}")
            ctx.output.write_json(f"episodes/{plan.episode_id}.json", meta)
            return meta
        except (
            RuntimeError,
            ValueError,
        ) as exc:  # rendering/capture or planning failed: a failed episode
            meta.update(
                status="failure",
                kept=False,
                failure_reason=f"capture or planning failed: {type(exc).__name__}: {exc}",
            )
            ctx.output.write_json(f"episodes/{plan.episode_id}.json", meta)
            return meta
        arrays = rec.stacked()
        counts = {k: int(v.shape[0]) for k, v in arrays.items()}
        if len(set(counts.values())) != 1:
            met.success = False
            met.failure_reason = f"streams disagree in frame count: {counts}"
        status = "success" if met.success else "failure"
        keep = met.success or s.episodes_keep_failures
        meta.update(
            status=status,
            kept=keep,
            failure_reason=met.failure_reason,
            metrics=met.to_json(),
            frames=met.frames,
            streams={k: list(v.shape[1:]) for k, v in arrays.items()},
            dtypes={k: str(v.dtype) for k, v in arrays.items()},
        )
        if keep:
            buf = io.BytesIO()
            savez: Any = np.savez_compressed  # typed stubs mistake **arrays for allow_pickle
            savez(buf, **arrays)
            ctx.output.write_bytes(f"episodes/{plan.episode_id}.npz", buf.getvalue())
            meta["data_file"] = f"episodes/{plan.episode_id}.npz"
        ctx.output.write_json(f"episodes/{plan.episode_id}.json", meta)
        if len(samples) < SAMPLE_ROWS:
            for cam in h.cameras:
                key = f"observation.images.{cam.name}"
                if key in arrays and len(samples) < SAMPLE_ROWS:
                    samples.append(
                        (
                            f"{plan.episode_id} [{status}] {cam.name}: {plan.task.instruction}",
                            list(arrays[key]),
                        )
                    )
        ctx.log.info(
            "%s: %s%s",
            plan.episode_id,
            status,
            f" ({met.failure_reason})" if met.failure_reason else "",
            extra={"fields": {"quality": met.quality_score, "frames": met.frames}},
        )
        return meta

    def _finish(
        self, ctx: StageContext[EpisodesSettings], results: list[dict[str, Any]], total: int
    ) -> StageResult:
        s = ctx.settings
        per_task: dict[str, list[bool]] = defaultdict(list)
        for r in results:
            per_task[r["task_id"]].append(r["status"] == "success")
        successes = sum(r["status"] == "success" for r in results)
        rate = successes / len(results) if results else 1.0
        summary = {
            "episodes": len(results),
            "successes": successes,
            "success_rate": round(rate, 4),
            "kept": sum(bool(r.get("kept")) for r in results),
            "episodes_in_run": total,
            "per_task": {
                k: {"episodes": len(v), "success_rate": round(sum(v) / len(v), 4)}
                for k, v in sorted(per_task.items())
            },
            "wall_s": round(sum(r.get("wall_s", 0.0) for r in results), 3),
        }
        ctx.output.write_json(
            "shard.json", {"summary": summary, "episodes": [r["episode_id"] for r in results]}
        )
        if results and rate < s.episodes_min_success_rate:
            problems = [
                Problem(r["episode_id"], str(r.get("failure_reason")), "")
                for r in results
                if r["status"] != "success"
            ]
            raise PermanentError(
                f"success rate {rate:.0%} is below EPISODES_MIN_SUCCESS_RATE {s.episodes_min_success_rate:.0%} "
                f"({successes}/{len(results)}): the scripted expert is not working on this scene",
                problems=problems,
                next_step="Look at samples.png and the failure reasons; fix the expert or the task targets.",
            )
        return StageResult(
            summary=summary, seeds={r["episode_id"]: int(r["seed"]) for r in results}
        )


def _mujoco_version() -> str:
    import mujoco  # noqa: PLC0415 - already imported by the simulation (after MUJOCO_GL)

    return str(mujoco.__version__)


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


def _variant_ids(index: Any) -> list[str]:
    """Variant ids from variations/index.json (a list of ids or of {variant_id: ...})."""
    items = index.get("variants", index) if isinstance(index, dict) else index
    out = []
    for it in items:
        out.append(it if isinstance(it, str) else it.get("variant_id") or it.get("id"))
    return [str(x) for x in out if x]


__all__ = ["EpisodesStage"]


def _log_episode(ctx: StageContext[EpisodesSettings], result: dict[str, Any]) -> None:
    """One structured line per episode (the success-rate metric counts these)."""
    success = result.get("status") == "success"
    ctx.log.info(
        "episode %s (%s): %s",
        result.get("episode_id"),
        result.get("task_id"),
        "success" if success else f"failure ({result.get('failure_reason', '')})",
        extra={
            "fields": {
                "event": "episode_finished",
                "episode_id": result.get("episode_id"),
                "task_id": result.get("task_id"),
                "task_kind": result.get("task_kind"),
                "success": success,
                "wall_s": result.get("wall_s"),
            }
        },
    )
