"""The export's episode loop: one episode at a time, its npz copied to local disk and checked
against its commit record (:func:`spool`), validated by the hard rules, given its rewards,
written (data, videos, robomimic, sample frames, initial states) or rejected with its
reasons; then the extras (:func:`bp_export.extras.write_extras`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
from bp_contracts.episode import EpisodeRecord
from bp_dataset.features import Recording
from bp_dataset.spec import DatasetSpec
from bp_sdk.clock import StageClock
from bp_sdk.errors import PermanentError, Problem
from bp_sdk.runner import StageContext
from bp_sdk.spool import make_spool, remove_spool

from bp_export import extras, initial_states, objects, reward
from bp_export.files import Staging
from bp_export.samples import SamplePicker
from bp_export.settings import ExportSettings
from bp_export.sources import Candidate, ExportEpisode, SourceRun
from bp_export.validate import check_episode
from bp_export.writer import DatasetWriter, WriterConfig, Written

SPOOL_BLOCK = 1 << 20


def instruction_of(meta: EpisodeRecord) -> str:
    """The episode's task string (its instruction; the task id when it has none)."""
    return meta.instruction or meta.task_id


class EpisodeLoop:
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
