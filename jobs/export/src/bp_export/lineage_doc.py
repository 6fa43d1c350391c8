"""The lineage document (``meta/lineage.json``, ``bp.lineage/v2``), built from what
:func:`bp_export.lineage.collect_source` read.

Two sections, so that a re-generation can be compared with the original:

* ``reproducible``: what the same blueprint, configuration, seeds and code give again —
  the content digest of the data files, package versions of every stage, robot, simulator,
  physics, licenses, every episode's seed, export's parameters, and per source the same;
* ``provenance``: what records this particular run — when export ran (``created_at``), its
  execution and attempt, the source revision and image of each stage's build (or why it is
  not recorded), the upstream commit records (attempts, times, input and output digests).

``gate`` says who decides (the gate stage, after export: the verdict is not known here);
``gaps`` lists every fact that could not be established, instead of guessing it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from bp_contracts.episode import EpisodeRecord
from bp_contracts.stages import RUN_STAGES
from bp_sdk.digest import sha256_json
from bp_sdk.errors import PermanentError, Problem

from bp_export.lineage import (
    SourceLineage,
    licenses_of,
    physics_of,
    record_entry,
    robot_of,
    simulator_of,
)
from bp_export.sources import ExportEpisode

LINEAGE_SCHEMA: Final = "bp.lineage/v2"
UNKNOWN_REVISION: Final = "unknown"
NOT_RECORDED: Final = (
    "not recorded (built outside an image: BUILD_REVISION was not set by the build or the caller)"
)
NO_IMAGE: Final = "not recorded (ran outside a container image: BUILD_IMAGE_DIGEST was not set)"
GATE_DECIDED_BY: Final = (
    "the gate stage, after export: its verdict and every failed check are in "
    "datasets/<dataset>/gate decision.json, and in the delivered folder's DELIVERY.md "
    "(_DELIVERY.json is its machine-readable record)"
)
CONTENT_DIGEST_RULE: Final = (
    "sha256 of the meta/SHA256SUMS lines of every file except meta/lineage.json and "
    "README.md: grep -v -e '  meta/lineage.json$' -e '  README.md$' meta/SHA256SUMS "
    "| sha256sum"
)
LAYOUT: Final = {
    "reproducible": (
        "the same blueprint, configuration, seeds and code give the same values (and the same "
        "content digest)"
    ),
    "provenance": (
        "records of this run: times, executions, attempts, build revisions and upstream commit "
        "digests; they differ between re-generations"
    ),
}


def _revision(value: str | None) -> str:
    return NOT_RECORDED if not value or value == UNKNOWN_REVISION else value


def _versions(code: Mapping[str, str]) -> dict[str, str]:
    return {k: code[k] for k in ("package", "version", "sdk_version") if k in code}


def _seeds(
    by_label: Mapping[str, SourceLineage], episodes: Sequence[ExportEpisode]
) -> tuple[list[dict[str, Any]], dict[str, list[EpisodeRecord]], list[str]]:
    """Every episode's seed (checked against its shard's record), records per source, gaps."""
    problems: list[Problem] = []
    gaps: list[str] = []
    metas: dict[str, list[EpisodeRecord]] = {label: [] for label in by_label}
    seeds: list[dict[str, Any]] = []
    for ep in sorted(episodes, key=lambda e: e.dataset_index):
        label = f"{ep.scene_id}/{ep.run_id}"
        src = by_label.get(label)
        if src is None:
            problems.append(
                Problem(
                    f"episode {ep.episode_id}", f"comes from {label}, which is not a listed source"
                )
            )
            continue
        metas[label].append(ep.meta)
        seed = ep.meta.seed  # the record's contract requires it
        recorded = {
            rec.seeds[ep.episode_id]
            for rec in src.stages.get("episodes", [])
            if ep.episode_id in rec.seeds
        }
        if recorded and recorded != {seed}:
            problems.append(
                Problem(
                    f"episode {ep.episode_id}",
                    f"seed {seed} in its JSON differs from its shard's commit record {sorted(recorded)}",
                )
            )
        init = ep.meta.initial_state
        seeds.append(
            {
                "dataset_index": ep.dataset_index,
                "episode_id": ep.episode_id,
                "scene_id": ep.scene_id,
                "run_id": ep.run_id,
                "variant_id": ep.meta.variant_id,
                "seed": seed,
                "initial_state_seed": None if init is None else init.seed,
            }
        )
    if problems:
        raise PermanentError("lineage contradicts itself", problems=problems)
    return seeds, metas, gaps


class _Codes:
    """Code versions and build records of every stage, gathered over the sources."""

    def __init__(self, export_code: Mapping[str, str], image_digest: str | None) -> None:
        self.versions: dict[str, list[dict[str, str]]] = {"export": [_versions(export_code)]}
        self.revisions: dict[str, list[str]] = {"export": [_revision(export_code.get("revision"))]}
        self.images: dict[str, list[str]] = {"export": [image_digest]} if image_digest else {}
        self.unknown = export_code.get("revision", UNKNOWN_REVISION) == UNKNOWN_REVISION

    def add(self, stage: str, code: Mapping[str, str]) -> None:
        for table, value in (
            (self.versions, _versions(code)),
            (self.revisions, _revision(code.get("revision"))),
        ):
            bucket: list[Any] = table.setdefault(stage, [])
            if value not in bucket:
                bucket.append(value)
        self.unknown |= code.get("revision", UNKNOWN_REVISION) == UNKNOWN_REVISION
        if code.get("image_digest"):
            images = self.images.setdefault(stage, [])
            if code["image_digest"] not in images:
                images.append(code["image_digest"])


def _source_entries(
    sources: Sequence[SourceLineage],
    metas: Mapping[str, list[EpisodeRecord]],
    codes: _Codes,
    gaps: list[str],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, str]]:
    """Per source: its reproducible entry, its provenance entry; and the upstream digests."""
    reproducible: list[dict[str, Any]] = []
    provenance: list[dict[str, Any]] = []
    inputs: dict[str, str] = {}
    for src in sources:
        stages_out: dict[str, list[dict[str, Any]]] = {}
        for stage in RUN_STAGES:
            recs = sorted(src.stages.get(stage, []), key=lambda r: r.shard.index if r.shard else 0)
            if not recs:
                gaps.append(f"{src.label}: stage {stage} has no commit record")
                continue
            stages_out[stage] = [record_entry(r) for r in recs]
            inputs[f"{stage}:{src.label}"] = (
                recs[0].outputs_digest
                if len(recs) == 1 and recs[0].shard is None
                else sha256_json([r.outputs_digest for r in recs])
            )
            for r in recs:
                codes.add(stage, dict(r.code))
        reproducible.append(
            {
                "scene_id": src.scene_id,
                "run_id": src.run_id,
                "episodes": len(metas[src.label]),
                "licenses": licenses_of(src, gaps),
                "robot": robot_of(src),
                "simulator": simulator_of(src, metas[src.label], gaps),
                "physics": physics_of(src, gaps),
            }
        )
        provenance.append({"scene_id": src.scene_id, "run_id": src.run_id, "stages": stages_out})
    return reproducible, provenance, inputs


def _common(values: list[Any], what: str, gaps: list[str]) -> Any:
    values = [v for v in values if v is not None]
    if not values:
        gaps.append(f"{what} unknown for every source")
        return None
    first = values[0]
    if any(json.dumps(v, sort_keys=True) != json.dumps(first, sort_keys=True) for v in values):
        gaps.append(f"sources differ in {what}; see each source's entry")
        return None
    return first


def build_lineage(
    *,
    dataset_id: str,
    sources: Sequence[SourceLineage],
    episodes: Sequence[ExportEpisode],
    dataset_license: str,
    export_code: Mapping[str, str],
    export_params: Mapping[str, Any],
    export_settings_digest: str | None = None,
    gate_config_version: str | None = None,
    image_digest: str | None = None,
    created_at: datetime | None = None,
    content_digest: str | None = None,
    export_run: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The lineage document (plain JSON). Contradictions raise; missing facts become gaps.

    ``export_code`` is export's own ``code_version(...)``; ``image_digest`` the digest of
    the image export runs in (None outside containers); ``gate_config_version`` the
    threshold config the gate will apply, if known at export time; ``content_digest`` the
    digest of the data files (:func:`bp_dataset.layout.content_digest`); ``export_run``
    export's execution and attempt.
    """
    by_label = {s.label: s for s in sources}
    if len(by_label) != len(sources):
        raise PermanentError(
            "lineage contradicts itself",
            problems=[Problem("sources", "a source run is listed twice")],
        )
    seeds, metas, gaps = _seeds(by_label, episodes)
    codes = _Codes(export_code, image_digest)
    repro_sources, prov_sources, inputs = _source_entries(sources, metas, codes, gaps)
    gaps += _record_gaps(codes, content_digest)
    reproducible = {
        "content_digest": content_digest,
        "content_digest_rule": CONTENT_DIGEST_RULE,
        "code": codes.versions,
        **_robot_and_physics(repro_sources, dataset_license, gaps),
        "seeds": seeds,
        "export": {"params": dict(export_params)},
        "sources": repro_sources,
    }
    provenance = {
        "created_at": created_at.isoformat() if created_at else None,
        "export": {
            **dict(export_run or {}),
            "code": {**dict(export_code), "revision": _revision(export_code.get("revision"))},
            "image_digest": image_digest or NO_IMAGE,
            "settings_digest": export_settings_digest,
        },
        "revisions": codes.revisions,
        "image_digests": codes.images,
        "inputs": dict(sorted(inputs.items())),
        "sources": prov_sources,
    }
    gate: dict[str, Any] = {"decided_by": GATE_DECIDED_BY}
    if gate_config_version:
        gate["config_version"] = gate_config_version
    return {
        "schema": LINEAGE_SCHEMA,
        "dataset_id": dataset_id,
        "episodes": len(seeds),
        "layout": LAYOUT,
        "reproducible": reproducible,
        "provenance": provenance,
        "gate": gate,
        "gaps": sorted(set(gaps)),
    }


def _record_gaps(codes: _Codes, content_digest: str | None) -> list[str]:
    """Gaps in the build records (revisions, image digests) and a missing content digest."""
    gaps: list[str] = []
    if codes.unknown:
        gaps.append(
            "source revision not recorded for some stages (BUILD_REVISION was not set: they ran "
            "outside a built image and no caller passed it); package versions are recorded"
        )
    if not codes.images:
        gaps.append(
            "no container image digests recorded: the stages ran outside containers, or their "
            "images did not set BUILD_IMAGE_DIGEST"
        )
    if content_digest is None:
        gaps.append("content digest not computed")
    return gaps


def _robot_and_physics(
    repro_sources: Sequence[Mapping[str, Any]], dataset_license: str, gaps: list[str]
) -> dict[str, Any]:
    """The robot, simulator, physics and licenses common to every source (else gaps)."""
    robots = [s["robot"] for s in repro_sources if s["robot"] is not None]
    robot_licenses = sorted({r["source"]["license"] for r in robots})
    return {
        "robot": {
            "model": sorted({r["model"] for r in robots}),
            "source": _common([r["source"] for r in robots], "robot model source", gaps),
            "licenses": robot_licenses,
        },
        "simulator": _common([s["simulator"] for s in repro_sources], "simulator", gaps),
        "physics": _common([s["physics"] for s in repro_sources], "physics parameters", gaps),
        "licenses": {
            "dataset": dataset_license,
            "robot_model": robot_licenses,
            "inputs": [
                {"scene_id": s["scene_id"], "run_id": s["run_id"], **s["licenses"]}
                for s in repro_sources
            ],
        },
    }
