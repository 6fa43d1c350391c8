"""Wiring of the dataset's extras into the export: robomimic HDF5, lineage, quality and
the card (with its sample frames). The documents themselves are built by
:mod:`bp_export.robomimic`, :mod:`bp_export.lineage`, :mod:`bp_export.quality` and
:mod:`bp_export.card`; this module only feeds them what the export streamed and writes
their output into the dataset, before ``meta/SHA256SUMS``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import numpy as np
from bp_dataset.features import Recording
from bp_dataset.layout import CARD, LINEAGE, QUALITY, ROBOMIMIC
from bp_sdk.version import code_version, package_version

from bp_export import card, lineage, quality
from bp_export.robomimic import RobomimicWriter, build_env_meta
from bp_export.samples import sample_frames_png
from bp_export.sources import EpisodeRecord, SourceRun

if TYPE_CHECKING:
    from bp_export.files import Staging
    from bp_export.writer import WriterConfig, Written

SAMPLE_EPISODES: Final = 3  # episodes whose frames appear on the card
SAMPLES_PNG: Final = "meta/samples.png"


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
        lowdim += ["observation.object_poses", "observation.contacts"]
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


def sample_of(
    record: EpisodeRecord, arrays: Any, rec: Recording
) -> list[tuple[str, dict[str, Any]]]:
    """Rows of the card's sample strip: the first, middle and last frame of every camera."""
    t = int(arrays[f"observation.images.{rec.cameras[0]}"].shape[0])
    status = "success" if record.success else "failure"
    rows = []
    for i in (0, t // 2, t - 1):
        label = f"{record.episode_id} [{status}] t={i / rec.fps:.2f}s: {record.instruction}"
        rows.append(
            (label, {c: np.asarray(arrays[f"observation.images.{c}"][i]) for c in rec.cameras})
        )
    return rows


def write_extras(run: Any, written: Written, excluded: list[dict[str, Any]]) -> None:
    """robomimic HDF5, lineage, quality, samples and card into the dataset (before the sums)."""
    ctx, staging, cfg = run.ctx, run.staging, run.cfg
    s = ctx.settings
    robomimic_summary = None
    if run.robomimic is not None:
        robomimic_summary = run.robomimic.close(written.splits)
        run.robomimic = None
        staging.publish(ROBOMIMIC)
    sources = [lineage.collect_source(ctx.storage, src.scene_id, src.run_id) for src in run.sources]
    lin = lineage.build_lineage(
        dataset_id=cfg.dataset_id,
        sources=sources,
        episodes=run.accepted,
        dataset_license=s.export_license,
        export_code=code_version("bp-export", s.build_revision),
        export_params=s.output_params(),
    )
    lin.setdefault("export", {})["video"] = {
        "encoder": cfg.video.encoder,
        "pyav": package_version("av"),
        "options": cfg.video.options(),
    }
    staging.write_json(LINEAGE, lin)
    qual = quality.build_quality(run.accepted, run.rejected)
    qual["excluded"] = excluded  # left out by the tier's definition, not by a rule
    staging.write_json(QUALITY, qual)
    samples = [row for rows in run.samples for row in rows]
    staging.write_bytes(SAMPLES_PNG, sample_frames_png(samples))
    assert written.info is not None  # noqa: S101 - the writer sets it
    text = card.render_card(written.info, qual, lin, SAMPLES_PNG, robomimic=robomimic_summary)
    staging.write_bytes(CARD, text.encode())
