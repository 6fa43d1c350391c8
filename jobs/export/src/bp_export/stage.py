"""The export stage: committed episodes → one LeRobot v3.0 dataset (+ robomimic HDF5).

It commits as a dataset unit (``datasets/<dataset_id>/export/``): the attempt folder is
the dataset root, published only through the runner's commit record. Episodes stream
through one at a time (one npz downloaded, checked against its commit record, validated
by the hard rules, written, encoded by the video workers, deleted); an episode that
breaks a rule (or whose record breaks its contract, :mod:`bp_contracts.episode`) is
rejected with its reasons into ``meta/quality.json`` and the summary.
``meta/SHA256SUMS`` is written last and checked against the bytes in storage.
"""

from __future__ import annotations

import hashlib
import resource
import time
from pathlib import Path
from typing import Any

import numpy as np
from bp_contracts.episode import EpisodeRecord, Tier
from bp_dataset.checksums import dataset_digest, format_sums, parse_sums, sha256_stream
from bp_dataset.features import KEEPS_FAILURES, Recording, features
from bp_dataset.info import CameraMeta
from bp_dataset.layout import SHA256SUMS, content_digest
from bp_dataset.spec import DatasetSource, DatasetSpec, spec_problems
from bp_dataset.video import PIX_FMT, VideoParams
from bp_sdk.clock import StageClock
from bp_sdk.errors import (
    ConfigError,
    NotFoundError,
    PermanentError,
    Problem,
    RetryableError,
)
from bp_sdk.layout import Unit
from bp_sdk.runner import Stage, StageContext, StageResult
from bp_sdk.spool import make_spool, remove_spool
from bp_sdk.storage import Storage, join
from pydantic import ValidationError

from bp_export import extras, initial_states, objects, reward, splits
from bp_export.files import Staging
from bp_export.samples import SamplePicker
from bp_export.settings import ExportSettings
from bp_export.sources import (
    Candidate,
    ExportEpisode,
    SourceRun,
    candidates,
    check_tier,
    recording_of,
    resolve_sources,
    source_digests,
)
from bp_export.validate import check_episode
from bp_export.writer import DatasetWriter, WriterConfig, Written

MB = 1 << 20
SPOOL_BLOCK = 1 << 20
MAX_LISTED = 50  # rejection reasons listed in the summary (all are in quality.json)


def load_spec(storage: Storage, key: str) -> tuple[DatasetSpec, str]:
    """The dataset spec at ``key`` and its sha256, or a ConfigError listing every problem."""
    try:
        raw = storage.read_bytes(key)
    except NotFoundError:
        raise ConfigError(
            f"dataset spec {key!r} does not exist in storage",
            problems=[
                Problem("EXPORT_SPEC", f"no object {key!r}", "upload the spec there or fix the key")
            ],
        ) from None
    try:
        spec = DatasetSpec.model_validate_json(raw)
    except ValidationError as exc:
        raise ConfigError(
            f"dataset spec {key!r} is invalid",
            problems=[Problem(f"{key} {where}", msg) for where, msg in spec_problems(exc)],
            next_step="Fix the spec (schema bp.dataset_spec/v1, see docs/EXPORT.md) and run again.",
        ) from None
    return spec, hashlib.sha256(raw).hexdigest()


class ExportStage(Stage[ExportSettings]):
    """Merge committed episode shards into a LeRobot v3.0 dataset."""

    name = "export"
    distribution = "bp-export"
    settings_cls = ExportSettings

    def __init__(self) -> None:
        self._plan: tuple[DatasetSpec | None, list[SourceRun]] | None = None

    def unit(self, settings: ExportSettings) -> Unit:
        """``datasets/<dataset_id>/export``."""
        return Unit(settings.scene_id, settings.run_id, self.name, dataset=settings.dataset())

    def inputs(self, settings: ExportSettings, storage: Storage) -> dict[str, str]:
        """Digests of every source's committed episodes shards and assembly (and the spec)."""
        spec, spec_sha = (None, None)
        if settings.export_spec:
            spec, spec_sha = load_spec(storage, settings.export_spec)
        default = DatasetSource(scene_id=settings.scene_id, run_id=settings.run_id)
        sources = resolve_sources(storage, default, spec)
        self._plan = (spec, sources)
        out = source_digests(sources)
        if spec_sha:
            out["spec"] = spec_sha
        return out

    def run(self, ctx: StageContext[ExportSettings]) -> StageResult:
        """Write the dataset into the attempt folder; the runner commits it."""
        s = ctx.settings
        if self._plan is None:
            self.inputs(s, ctx.storage)
        assert self._plan is not None  # noqa: S101 - set just above
        spec, sources = self._plan
        started = time.monotonic()
        cands: list[Candidate] = []
        malformed: list[dict[str, Any]] = []
        for src in sources:
            found, bad = candidates(src)
            cands += found
            malformed += bad
        if not cands:
            raise PermanentError(
                "the sources committed no episodes"
                + (" that match their contract" if malformed else ""),
                problems=[
                    Problem(f"{r['scene_id']}/{r['run_id']}/{r['episode_id']}", r["reason"])
                    for r in malformed
                ],
                next_step="Record the episodes again under a new RUN_ID." if malformed else "",
            )
        rec = recording_of(sources, [(f"{c.scene_id}/{c.run_id}", c.meta) for c in cands])
        tier = check_tier(rec.tier, s.export_tier, spec.tier if spec else None)
        chosen, excluded = select(cands, tier, s.export_valid_fraction)
        ctx.log.info(
            "export %s: %d sources, %d episodes found, %d selected for tier %s (%d excluded)",
            s.dataset(),
            len(sources),
            len(cands),
            len(chosen),
            tier,
            len(excluded),
        )
        index = objects.build_index([c for c, _ in chosen], [src.label for src in sources])
        cfg = self._config(s, rec, sources, cands, index)
        with Staging(ctx.output) as staging:
            state = _Run(ctx, cfg, staging, rec, sources, spec, index)
            for item in malformed:
                state.reject_malformed(item)
            try:
                state.stream(chosen)
                written = state.finish(excluded)
            finally:
                state.close()
        with state.clock("checksums (SHA256SUMS, every file re-read)"):
            digest = publish_sums(ctx)
        took = time.monotonic() - started
        me = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)  # the encoders, waited for by now
        summary = {
            "dataset_id": s.dataset(),
            "tier": tier,
            "episodes": written.episodes,
            "frames": written.frames,
            "tasks": len(written.tasks),
            "splits": written.splits,
            "sources": [src.label for src in sources],
            "rejected": len(state.rejected),
            "rejected_reasons": state.rejected[:MAX_LISTED],
            "excluded": len(excluded),
            "video_files": written.video_files,
            "files": len(ctx.output.files),
            "bytes": sum(e.size for e in ctx.output.files.values()),
            "dataset_digest": digest,
            "content_digest": content_digest(
                {name: e.sha256 for name, e in ctx.output.files.items()}
            ),
            "wall_s": round(took, 3),
            "frames_per_s": round(written.frames / took, 1) if took > 0 else None,
            "peak_rss_mb": round(me.ru_maxrss / 1024, 1),
            "peak_rss_encoder_mb": round(kids.ru_maxrss / 1024, 1),
            "cpu_s": round(me.ru_utime + me.ru_stime, 1),
            "cpu_encoders_s": round(kids.ru_utime + kids.ru_stime, 1),
            "stage_seconds": {
                "main": state.clock.to_json(),
                "encoders": state.writer.pool.encoder_clock.to_json(),
            },
        }
        if state.rejected:
            ctx.log.warning(
                "%d episode(s) rejected: %s",
                len(state.rejected),
                "; ".join(f"{r['episode_id']}: {r['reason']}" for r in state.rejected[:10]),
            )
        return StageResult(summary=summary, seeds={})

    def _config(
        self,
        s: ExportSettings,
        rec: Recording,
        sources: list[SourceRun],
        cands: list[Candidate],
        index: objects.ObjectIndex,
    ) -> WriterConfig:
        cams_meta = cands[0].meta.cameras
        cameras = {
            c: CameraMeta(
                mount=cams_meta[c].mount,
                fovy_deg=cams_meta[c].fovy_deg,
                width=rec.resolution,
                height=rec.resolution,
                intrinsics=[list(row) for row in cams_meta[c].intrinsics],
            )
            for c in rec.cameras
        }
        params = VideoParams(
            encoder=s.export_video_codec,
            fps=rec.fps,
            width=rec.resolution,
            height=rec.resolution,
            crf=s.export_crf,
            gop=s.export_gop,
            pix_fmt=PIX_FMT,
        )
        return WriterConfig(
            dataset_id=s.dataset(),
            recording=rec,
            features=features(rec, params.codec_name, PIX_FMT),
            video=params,
            cameras=cameras,
            physics_timestep_s=sources[0].assembly.timestep_s,
            data_file_bytes=s.export_data_file_mb * MB,
            video_file_bytes=s.export_video_file_mb * MB,
            data_file_mb=s.export_data_file_mb,
            video_file_mb=s.export_video_file_mb,
            workers=s.export_workers,
            objects=list(index.names),
            depth=objects.depth_info((c.scene_id, c.meta.depth) for c in cands),
            segmentation=objects.segmentation_info(index),
        )


def select(
    cands: list[Candidate], tier: Tier, valid_fraction: float
) -> tuple[list[tuple[Candidate, str]], list[dict[str, Any]]]:
    """Episodes the tier takes, ordered train first then valid (each in source order, then
    by episode id); and the failures it leaves out (by the tier's definition, or because no
    data was kept). A success without data is taken, to be rejected by the rules, not
    excluded. Splits are stratified per task (:mod:`bp_export.splits`)."""
    keep_failures = KEEPS_FAILURES[tier]
    taken: list[Candidate] = []
    excluded: list[dict[str, Any]] = []
    for c in cands:
        why = None
        if c.data_file is None and not c.success:
            why = "failure without recorded data (the episodes stage did not keep it)"
        elif not c.success and not keep_failures:
            why = f"failure rollout; tier {tier} keeps successful episodes only (tier full keeps failures)"
        if why:
            excluded.append(
                {
                    "scene_id": c.scene_id,
                    "run_id": c.run_id,
                    "episode_id": c.episode_id,
                    "reason": why,
                }
            )
            continue
        taken.append(c)
    members = [
        splits.Member(c.scene_id, c.run_id, c.episode_id, instruction_of(c.meta)) for c in taken
    ]
    split = splits.assign(members, valid_fraction)
    train = [(c, "train") for c in taken if split[c.key] == "train"]
    valid = [(c, "valid") for c in taken if split[c.key] == "valid"]
    return train + valid, excluded


def instruction_of(meta: EpisodeRecord) -> str:
    """The episode's task string (its instruction; the task id when it has none)."""
    return meta.instruction or meta.task_id


class _Run:
    """The state of one export's episode loop."""

    def __init__(
        self,
        ctx: StageContext[ExportSettings],
        cfg: WriterConfig,
        staging: Staging,
        rec: Recording,
        sources: list[SourceRun],
        spec: DatasetSpec | None,
        index: objects.ObjectIndex,
    ) -> None:
        self.ctx = ctx
        self.objects = index
        self.states: list[initial_states.StateRow] = []
        self.cfg = cfg
        self.rec = rec
        self.sources = sources
        self.spec = spec
        self.staging = staging
        self.spool = make_spool("export-spool")
        self.rejected: list[dict[str, Any]] = []
        self.accepted: list[ExportEpisode] = []
        self.waiting: dict[int, Path] = {}
        self.clock = StageClock()
        self.sample_slots: list[tuple[int, int]] = []  # (picker row, episode): RGB to fill in
        self.writer = DatasetWriter(cfg, staging, ctx.cancelled, self.clock)
        self.robomimic = (
            extras.open_robomimic(staging, cfg, sources) if ctx.settings.export_robomimic else None
        )
        self.picker = SamplePicker()

    def reject_malformed(self, item: dict[str, Any]) -> None:
        """An episode whose record breaks its contract (never read further)."""
        self.rejected.append(item)
        self.ctx.log.warning(
            "rejected %s/%s %s: %s",
            item["scene_id"],
            item["run_id"],
            item["episode_id"],
            item["reason"],
        )

    def reject(self, c: Candidate, reasons: list[str]) -> None:
        reason = "; ".join(reasons)
        self.rejected.append(
            {
                "scene_id": c.scene_id,
                "run_id": c.run_id,
                "episode_id": c.episode_id,
                "reason": reason,
            }
        )
        self.ctx.log.warning("rejected %s/%s %s: %s", c.scene_id, c.run_id, c.episode_id, reason)

    def stream(self, chosen: list[tuple[Candidate, str]]) -> None:
        for n, (c, split) in enumerate(chosen, start=1):
            self.ctx.progress("episodes", n - 1, len(chosen))
            self.one(c, split)
            self.writer.poll()
            self._free()
        self.ctx.progress("episodes", len(chosen), len(chosen))

    def one(self, c: Candidate, split: str) -> None:
        if c.data_file is None:
            self.reject(c, ["episode is a success but its data (npz) was not committed"])
            return
        with self.clock("shard copy + sha256 check"):
            path = spool(c, self.spool)
        keep = False
        try:
            group = (
                c.scene_id,
                c.run_id,
                c.meta.variant_id,
                c.meta.task_id or instruction_of(c.meta),
            )
            sample = self.picker.wants(group, c.success)
            with self.clock("shard read + rules (images only for robomimic)"):
                # the encoders decode the images (and return a sampled episode's middle frames)
                checked = check_episode(
                    c.meta, path, self.rec, load_images=self.robomimic is not None
                )
            if not checked.ok:
                self.reject(c, checked.reasons)
                return
            instruction = instruction_of(c.meta)
            if not instruction:
                self.reject(c, ["episode has no instruction (task string)"])
                return
            record = ExportEpisode(
                dataset_index=len(self.accepted),
                scene_id=c.scene_id,
                run_id=c.run_id,
                episode_id=c.episode_id,
                task_index=self.writer.task_index(instruction),
                instruction=instruction,
                success=c.success,
                meta=c.meta,
                split=split,
                loader=lambda: checked.arrays,
            )
            arrays = self.objects.remap(checked.arrays, c.meta, c.scene_id)
            try:
                r, d, ok = reward.frame_rewards(record, checked.frames, self.rec.fps)
            except PermanentError as exc:
                self.reject(c, [p.message for p in exc.problems] or [exc.message])
                return
            if not np.isfinite(r).all():
                self.reject(c, ["rewards are not finite"])
                return
            self.writer.add(record, path, arrays, r, d, ok, sample)
            keep = True
            if self.robomimic is not None:
                with self.clock("robomimic hdf5"):
                    self.robomimic.add(record, arrays, r, d)
            self.picker.seen(group)
            if sample:
                # the RGB columns come from the encoders (filled in by finish)
                self.sample_slots.append((len(self.picker.rows), record.dataset_index))
                rgb = dict.fromkeys(self.rec.cameras, extras.PENDING_FRAME)
                self.picker.take(group, c.success, extras.sample_row(record, arrays, self.rec, rgb))
            record.release()
            record.loader = None  # the accepted list keeps metadata only, never arrays
            self.states.append(
                initial_states.state_row(record, self.objects, arrays["observation.state"][0])
            )
            self.objects.note_episode(record)
            self.accepted.append(record)
            self.waiting[record.dataset_index] = path
        finally:
            if not keep:
                path.unlink(missing_ok=True)

    def _free(self) -> None:
        for idx in [i for i in self.waiting if self.writer.done_with(i)]:
            self.waiting.pop(idx).unlink(missing_ok=True)

    def finish(self, excluded: list[dict[str, Any]]) -> Written:
        if not self.accepted:
            raise PermanentError(
                f"no episode is left to export: {len(self.rejected)} rejected, {len(excluded)} excluded",
                problems=[
                    Problem(f"{r['scene_id']}/{r['run_id']}/{r['episode_id']}", r["reason"])
                    for r in [*self.rejected, *excluded]
                ],
                next_step="Fix the episodes (see the reasons) and record them again under a new RUN_ID.",
            )
        written = self.writer.finish()
        self._free()
        extras.fill_sample_rgb(self.picker, self.sample_slots, self.writer.sample_frames, self.rec)
        assert written.info is not None  # noqa: S101 - set by finish
        extras.write_extras(self, written, excluded)
        return written

    def close(self) -> None:
        self.writer.close()
        if self.robomimic is not None:
            self.robomimic.abort()
        remove_spool(self.spool)


def spool(c: Candidate, folder: Path) -> Path:
    """Copy the episode's npz to local disk, checking it against its commit record."""
    assert c.data_file is not None  # noqa: S101 - caller checks
    entry = c.unit.record.files.get(c.data_file)
    if entry is None:
        raise PermanentError(
            f"episode {c.episode_id} of {c.scene_id}/{c.run_id} names data file {c.data_file!r}, "
            "which its shard did not commit"
        )
    path = folder / f"{c.scene_id}--{c.run_id}--{c.episode_id}.npz"
    h = hashlib.sha256()
    size = 0
    with c.unit.open(c.data_file) as src, path.open("wb") as dst:
        while block := src.read(SPOOL_BLOCK):
            h.update(block)
            size += len(block)
            dst.write(block)
    if size != entry.size or h.hexdigest() != entry.sha256:
        path.unlink(missing_ok=True)
        raise PermanentError(
            f"committed file {c.data_file!r} of {c.scene_id}/{c.run_id} does not match its commit "
            "record (size or sha256 differs): storage was modified after commit",
            next_step="Treat that episodes run as corrupt; record it again under a new RUN_ID.",
        )
    return path


def publish_sums(ctx: StageContext[ExportSettings]) -> str:
    """Write ``meta/SHA256SUMS`` last and prove it against the bytes in storage."""
    digests = {name: e.sha256 for name, e in ctx.output.files.items()}
    sums = format_sums(digests)
    ctx.output.write_bytes(SHA256SUMS, sums)
    stored = ctx.storage.read_bytes(join(ctx.output.dir, SHA256SUMS))
    listed, errors = parse_sums(stored)
    problems = [Problem(SHA256SUMS, f"line {e.line}: {e.problem}") for e in errors]
    if listed != digests:
        problems.append(Problem(SHA256SUMS, "does not list exactly the files written"))
    for name, want in sorted(digests.items()):
        with ctx.storage.open_read(join(ctx.output.dir, name)) as f:
            got, size = sha256_stream(f)
        if got != want or size != ctx.output.files[name].size:
            problems.append(Problem(name, "bytes in storage differ from what was written"))
    if problems:
        raise RetryableError("the written dataset does not match its SHA256SUMS", problems=problems)
    return dataset_digest(sums)


__all__ = ["ExportStage", "load_spec", "publish_sums", "select", "spool"]
