"""Wiring of the dataset's extras into the export: robomimic HDF5, the object list and
segmentation maps, initial states, quality, sample frames, lineage and the card. The
documents themselves are built by :mod:`bp_export.robomimic`, :mod:`bp_export.objects`,
:mod:`bp_export.initial_states`, :mod:`bp_export.quality`, :mod:`bp_export.samples`,
:mod:`bp_export.lineage_doc` and :mod:`bp_export.card`; this module only feeds them what
the export streamed and writes their output into the dataset, before ``meta/SHA256SUMS``.

Order matters for the content digest: every content file is written first, then the
digest over them (:func:`bp_dataset.layout.content_digest`) goes into the lineage and
the card, which it does not cover.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final

import numpy as np
from bp_dataset.features import Recording
from bp_dataset.layout import (
    CARD,
    INITIAL_STATES,
    LINEAGE,
    OBJECTS,
    QUALITY,
    ROBOMIMIC,
    SAMPLES,
    content_digest,
)
from bp_sdk.commit import now
from bp_sdk.digest import sha256_json
from bp_sdk.version import code_version, package_version

from bp_export import card, initial_states, lineage, lineage_doc, quality
from bp_export.robomimic import RobomimicWriter, build_env_meta
from bp_export.samples import (
    SamplePicker,
    SampleRow,
    depth_rgb,
    sample_grid_png,
    segmentation_rgb,
)
from bp_export.sources import ExportEpisode, SourceRun

if TYPE_CHECKING:
    from bp_export.files import Staging
    from bp_export.writer import WriterConfig, Written

SAMPLES_PNG: Final = SAMPLES
# stands for an RGB frame the encoders have not returned yet; never drawn (an empty image is
# refused by the grid), always replaced once they have
PENDING_FRAME: Final = np.zeros((0, 0, 3), dtype=np.uint8)


def open_robomimic(
    staging: Staging, cfg: WriterConfig, sources: list[SourceRun]
) -> RobomimicWriter:
    """The robomimic writer for this dataset (images: RGB of every camera, plus depth)."""
    rec = cfg.recording
    image_keys = [
        *rec.video_keys(),
        *(k for k in rec.lossless_keys() if k.startswith("observation.depth.")),
    ]
    lowdim = ["observation.state", "observation.velocity", "observation.ee_pose"]
    if "observation.object_poses" in rec.lossless_keys():
        lowdim += ["observation.object_poses", "observation.contacts", "observation.object_present"]
    env_meta = build_env_meta(
        dataset_id=cfg.dataset_id,
        scene_ids=sorted({s.scene_id for s in sources}),
        robot=rec.robot_type,
        fps=rec.fps,
        cameras=list(rec.cameras),
        resolution=rec.resolution,
        physics_timestep_s=cfg.physics_timestep_s,
        simulator_version=sources[0].assembly.mujoco_version,
        tier=rec.tier,
    )
    return RobomimicWriter(staging.path(ROBOMIMIC), env_meta, image_keys, lowdim)


def sample_row(record: ExportEpisode, arrays: Any, rec: Recording, rgb: Any = None) -> SampleRow:
    """The middle frame of every camera and lossless image stream (``rgb``: cameras' frames)."""
    t = int(arrays["observation.state"].shape[0])
    i = t // 2
    images: dict[str, np.ndarray] = {}
    for cam in rec.cameras:
        frame = rgb[cam] if rgb is not None else arrays[f"observation.images.{cam}"][i]
        images[f"{cam} rgb"] = np.asarray(frame)
        if f"observation.depth.{cam}" in arrays:
            images[f"{cam} depth"] = depth_rgb(arrays[f"observation.depth.{cam}"][i])
        if f"observation.segmentation.{cam}" in arrays:
            images[f"{cam} seg"] = segmentation_rgb(arrays[f"observation.segmentation.{cam}"][i])
    status = "SUCCESS" if record.success else "FAILURE (failure rollout)"
    caption = (
        f"{status} - episode {record.dataset_index} ({record.split}) {record.episode_id}, "
        f"scene {record.scene_id} variant {record.meta.variant_id}, frame {i} "
        f"(t={i / rec.fps:.2f}s of {t / rec.fps:.2f}s): {record.instruction}"
    )
    return SampleRow(caption, record.success, images)


def fill_sample_rgb(
    picker: SamplePicker,
    slots: list[tuple[int, int]],
    frames_of: Callable[[int], Mapping[str, np.ndarray]],
    rec: Recording,
) -> None:
    """Put the encoders' middle RGB frames in each (picker row, episode) of ``slots``."""
    for slot, index in slots:
        frames = frames_of(index)
        row = picker.rows[slot]
        rgb = {f"{cam} rgb": frames[f"observation.images.{cam}"] for cam in rec.cameras}
        picker.rows[slot] = replace(row, images={**row.images, **rgb})


def write_extras(run: Any, written: Written, excluded: list[dict[str, Any]]) -> None:
    """Every extra into the dataset (before the sums); content first, then lineage and card."""
    staging = run.staging
    robomimic_summary = None
    if run.robomimic is not None:
        with run.clock("robomimic hdf5"):
            robomimic_summary = run.robomimic.close(written.splits)
            run.robomimic = None
            staging.publish(ROBOMIMIC)
    with run.clock("objects, initial states, quality"):
        objects_doc = run.objects.document()
        staging.write_json(OBJECTS, objects_doc)
        staging.write_bytes(INITIAL_STATES, initial_states.table_bytes(run.states))
        qual = quality.build_quality(run.accepted, run.rejected, initial_states.spread(run.states))
        qual["excluded"] = excluded  # left out by the tier's definition, not by a rule
        staging.write_json(QUALITY, qual)
    picker = run.picker
    with run.clock("card: samples png"):
        staging.write_bytes(SAMPLES_PNG, sample_grid_png(picker.rows))
    with run.clock("card: lineage, README"):
        _lineage_and_card(run, written, qual, objects_doc, robomimic_summary)


def _lineage_and_card(
    run: Any,
    written: Written,
    qual: dict[str, Any],
    objects_doc: dict[str, Any],
    robomimic_summary: dict[str, Any] | None,
) -> None:
    """``meta/lineage.json`` (with the content digest of what is written), then the card."""
    ctx, staging, cfg, picker = run.ctx, run.staging, run.cfg, run.picker
    s = ctx.settings
    digest = content_digest({name: e.sha256 for name, e in ctx.output.files.items()})
    sources = [lineage.collect_source(ctx.storage, src.scene_id, src.run_id) for src in run.sources]
    lin = lineage_doc.build_lineage(
        dataset_id=cfg.dataset_id,
        sources=sources,
        episodes=run.accepted,
        dataset_license=s.export_license,
        export_code=code_version("bp-export", s.build_revision),
        export_params=s.output_params(),
        export_settings_digest=sha256_json(s.redacted()),
        image_digest=s.build_image_digest,
        created_at=now(),
        content_digest=digest,
        export_run={
            "execution": s.cloud_run_execution,
            "attempt": s.cloud_run_task_attempt,
            "attempt_dir": ctx.output.dir,
        },
    )
    lin["reproducible"]["export"]["video"] = {
        "encoder": cfg.video.encoder,
        "pyav": package_version("av"),
        "options": cfg.video.options(),
    }
    staging.write_json(LINEAGE, lin)
    assert written.info is not None  # noqa: S101 - the writer sets it
    text = card.render_card(
        written.info,
        qual,
        lin,
        SAMPLES_PNG,
        robomimic=robomimic_summary,
        objects=objects_doc,
        samples=[(r.caption, r.success) for r in picker.rows],
        sample_groups=len(picker.groups),
    )
    staging.write_bytes(CARD, text.encode())
