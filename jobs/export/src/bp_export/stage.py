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
from typing import Any

from bp_contracts.episode import Tier
from bp_dataset.checksums import dataset_digest, format_sums, parse_sums, sha256_stream
from bp_dataset.features import KEEPS_FAILURES, Recording, features
from bp_dataset.info import CameraMeta
from bp_dataset.layout import SHA256SUMS, content_digest
from bp_dataset.spec import DatasetSource, DatasetSpec, spec_problems
from bp_dataset.video import PIX_FMT, VideoParams
from bp_sdk.errors import (
    ConfigError,
    NotFoundError,
    PermanentError,
    Problem,
    RetryableError,
)
from bp_sdk.layout import Unit
from bp_sdk.runner import Stage, StageContext, StageResult
from bp_sdk.storage import Storage, join
from pydantic import ValidationError

from bp_export import objects, splits
from bp_export.episode_loop import EpisodeLoop, instruction_of
from bp_export.files import Staging
from bp_export.settings import ExportSettings
from bp_export.sources import (
    Candidate,
    SourceRun,
    candidates,
    check_tier,
    recording_of,
    resolve_sources,
    source_digests,
)
from bp_export.writer import WriterConfig, Written

MB = 1 << 20
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
        cands, malformed = _gather(sources)
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
            state = EpisodeLoop(ctx, cfg, staging, rec, sources, spec, index)
            written = _write_episodes(state, malformed, chosen, excluded)
        with state.clock("checksums (SHA256SUMS, every file re-read)"):
            digest = publish_sums(ctx)
        summary = _run_summary(ctx, state, written, tier, excluded, digest, started)
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


def _gather(sources: list[SourceRun]) -> tuple[list[Candidate], list[dict[str, Any]]]:
    """Every source's committed episodes, and the ones whose record breaks its contract;
    a PermanentError when no episode is left."""
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
    return cands, malformed


def _write_episodes(
    state: EpisodeLoop,
    malformed: list[dict[str, Any]],
    chosen: list[tuple[Candidate, str]],
    excluded: list[dict[str, Any]],
) -> Written:
    """Reject the malformed episodes, stream the chosen ones, write the extras; the loop is
    closed whatever happens."""
    for item in malformed:
        state.reject_malformed(item)
    try:
        state.stream(chosen)
        return state.finish(excluded)
    finally:
        state.close()


def _run_summary(
    ctx: StageContext[ExportSettings],
    state: EpisodeLoop,
    written: Written,
    tier: Tier,
    excluded: list[dict[str, Any]],
    digest: str,
    started: float,
) -> dict[str, Any]:
    """The commit summary: counts, files, digests, wall and CPU time, memory, step times."""
    took = time.monotonic() - started
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)  # the encoders, waited for by now
    files = ctx.output.files
    return {
        "dataset_id": ctx.settings.dataset(),
        "tier": tier,
        "episodes": written.episodes,
        "frames": written.frames,
        "tasks": len(written.tasks),
        "splits": written.splits,
        "sources": [src.label for src in state.sources],
        "rejected": len(state.rejected),
        "rejected_reasons": state.rejected[:MAX_LISTED],
        "excluded": len(excluded),
        "video_files": written.video_files,
        "files": len(files),
        "bytes": sum(e.size for e in files.values()),
        "dataset_digest": digest,
        "content_digest": content_digest({name: e.sha256 for name, e in files.items()}),
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


__all__ = ["ExportStage", "load_spec", "publish_sums", "select"]
