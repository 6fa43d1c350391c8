"""The variations stage: N domain-randomised, collision-free variants of the assembled scene.

Reads ``simready_manifest.json`` (simready) and ``assembly.json`` (assemble); writes
``variations/v0000.json`` ... (``bp.variant/v1``), ``variations/index.json`` and
``variations/overview.svg``. Every variant is computed before anything is written: if any
object finds no free spot in any variant, one PermanentError lists each such object (its
support, the support's free area against its footprint, the candidates tried) and no
output is written.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Final

from bp_contracts.assembly import ASSEMBLY_FILE, Assembly
from bp_contracts.simready import SIMREADY_MANIFEST_FILE, SimreadyManifest
from bp_contracts.variation import (
    VARIATIONS_INDEX_FILE,
    VARIATIONS_INDEX_SCHEMA,
    VARIATIONS_OVERVIEW_FILE,
    Variant,
    VariationsIndex,
    variant_file,
    variant_id,
)
from bp_sdk.commit import require_committed, upstream_digests
from bp_sdk.errors import PermanentError, Problem
from bp_sdk.runner import Stage, StageContext, StageResult
from bp_sdk.storage import Storage

from bp_variations.arrange import Failure
from bp_variations.overview import MAX_THUMBNAILS, render_overview
from bp_variations.scene import build_scene, check_inputs
from bp_variations.settings import VariationsSettings
from bp_variations.variant import Outcome, as_json, config_digest, make_variant, ranges

UPSTREAM: Final = ["simready", "assemble"]
MAX_FAILED_VARIANTS: Final = 20  # stop generating after this many variants failed


class VariationsStage(Stage[VariationsSettings]):
    """Write N randomised variants of the assembled scene."""

    name = "variations"
    distribution = "bp-variations"
    settings_cls = VariationsSettings

    def inputs(self, settings: VariationsSettings, storage: Storage) -> dict[str, str]:
        """Outputs digests of the committed simready and assemble stages of this run."""
        return upstream_digests(storage, settings.scene_id, settings.run_id, UPSTREAM)

    def run(self, ctx: StageContext[VariationsSettings]) -> StageResult:
        """Compute every variant, then write them, the index and the overview."""
        s = ctx.settings
        inputs = self.inputs(s, ctx.storage)
        simready = require_committed(ctx.storage, s.scene_id, s.run_id, "simready")
        sim = simready.read_model(SIMREADY_MANIFEST_FILE, SimreadyManifest)
        assembly = require_committed(ctx.storage, s.scene_id, s.run_id, "assemble").read_model(
            ASSEMBLY_FILE, Assembly
        )
        check_inputs(
            s.scene_id, sim, simready.record.files[SIMREADY_MANIFEST_FILE].sha256, assembly
        )
        scene = build_scene(sim, assembly)
        for note in scene.notes:
            ctx.log.warning(note)
        config = config_digest(s, inputs)
        outcomes: list[Outcome] = []
        failed = 0
        for i in range(s.variations_count):
            outcome = make_variant(s.scene_id, scene, assembly, i, config, s)
            outcomes.append(outcome)
            if outcome.failures:
                failed += 1
                ctx.partial["failed_variants"] = failed
                if failed >= MAX_FAILED_VARIANTS:
                    break
            ctx.progress("variants generated", i + 1, s.variations_count)
        if failed:
            _raise_failures(s.scene_id, outcomes, s.variations_count)
        variants = [o.variant for o in outcomes if o.variant is not None]
        for o in outcomes:
            for note in o.notes:
                ctx.log.info("%s: %s", variant_id(o.index), note)
        for v in variants:
            ctx.output.write_json(variant_file(v.variant_id), as_json(v))
        ctx.output.write_json(
            VARIATIONS_INDEX_FILE, _index(s, inputs, config, outcomes, list(scene.notes))
        )
        ctx.output.write_bytes(
            VARIATIONS_OVERVIEW_FILE,
            render_overview(s.scene_id, variants, scene.objects, assembly, len(variants)).encode(),
        )
        return StageResult(
            summary={
                "variants": len(variants),
                "movable_objects": len(scene.movable),
                "distractors": sum(len(v.distractors) for v in variants),
                "placement_attempts": sum(v.placement_attempts for v in variants),
                "notes": sum(len(o.notes) for o in outcomes) + len(scene.notes),
            },
            seeds={v.variant_id: v.seed for v in variants},
        )


def _index(
    s: VariationsSettings,
    inputs: dict[str, str],
    config: str,
    outcomes: list[Outcome],
    scene_notes: list[str],
) -> dict[str, Any]:
    entries = []
    for o in outcomes:
        v: Variant | None = o.variant
        if v is None:  # pragma: no cover - failures raise before the index is written
            continue
        entries.append(
            {
                "variant_id": v.variant_id,
                "file": variant_file(v.variant_id),
                "index": v.index,
                "seed": v.seed,
                "nominal": v.nominal,
                "distractors": [d.id for d in v.distractors],
                "placement_attempts": v.placement_attempts,
                "notes": o.notes,
            }
        )
    doc = {
        "schema": VARIATIONS_INDEX_SCHEMA,
        "scene_id": s.scene_id,
        "count": len(entries),
        "base_seed": s.variations_base_seed,
        "nominal_first": s.variations_nominal_first,
        "placement_mode": s.variations_placement_mode,
        "max_candidates": s.variations_max_candidates,
        "config_digest": config,
        "inputs": inputs,
        "seed_rule": "derive_seed(scene_id, config_digest, base_seed, index)",
        "ranges": ranges(s),
        "notes": scene_notes,
        "overview": VARIATIONS_OVERVIEW_FILE,
        "overview_variants": [e["variant_id"] for e in entries[:MAX_THUMBNAILS]],
        "variants": entries,
    }
    VariationsIndex.model_validate(doc)  # what every reader relies on
    return doc


def _raise_failures(scene_id: str, outcomes: list[Outcome], requested: int) -> None:
    first: dict[str, tuple[str, Failure]] = {}
    count: Counter[str] = Counter()
    for o in outcomes:
        for f in o.failures:
            count[f.object_id] += 1
            first.setdefault(f.object_id, (variant_id(o.index), f))
    failed = sum(1 for o in outcomes if o.failures)
    tried = len(outcomes)
    problems = []
    for oid in sorted(first, key=lambda k: (-count[k], k)):
        vid, f = first[oid]
        problems.append(
            Problem(
                f"object {oid}",
                f"in {count[oid]} of {tried} variants (first {vid}): {f.describe()}",
                f"give {oid} more room on {f.support} (fewer or smaller objects, a larger support), "
                "or lower VARIATIONS_MARGIN_M, or raise VARIATIONS_MAX_CANDIDATES if the sweep step is coarse",
            )
        )
    stopped = f" (stopped after {failed} failing variants)" if tried < requested else ""
    raise PermanentError(
        f"scene {scene_id!r}: {len(problems)} object{'s' if len(problems) != 1 else ''} could not be "
        f"placed collision-free in {failed} of {tried} variants{stopped}; nothing was written",
        problems=problems,
        next_step="Give the named objects room on their supports or relax the placement settings, then run again with a new RUN_ID.",
    )
