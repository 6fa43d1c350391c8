"""One variant from one seed: poses, distractors, colours, lights and cameras.

The variant's seed is ``derive_seed(scene, configuration digest, base seed, index)``;
each part draws from its own generator seeded by ``derive_seed(seed, part)``, so one part
never shifts another's random stream (a distractor skipped for lack of room leaves the
colours, lights and cameras as they were).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from bp_contracts.assembly import Assembly
from bp_contracts.geometry import Quat, Vec3, rnd, rvec
from bp_contracts.simready import SimObject
from bp_contracts.variation import ObjectPose, Variant, variant_id
from bp_sdk.digest import derive_seed, sha256_json

from bp_variations.arrange import Arrangement, Failure, add_distractors, place_groups
from bp_variations.jitter import jitter_camera, jitter_light, jitter_rgba
from bp_variations.scene import PlacementScene
from bp_variations.settings import VariationsSettings

# settings that change which variants exist, not what variant i is: kept out of the seeds
NOT_IN_SEED = frozenset({"VARIATIONS_COUNT", "VARIATIONS_BASE_SEED", "VARIATIONS_NOMINAL_FIRST"})


def config_digest(settings: VariationsSettings, inputs: dict[str, str]) -> str:
    """Digest of what determines a variant's content: output settings and upstream digests."""
    params = {k: v for k, v in settings.output_params().items() if k not in NOT_IN_SEED}
    return sha256_json({"params": params, "inputs": inputs})


def variant_seed(scene_id: str, config: str, base_seed: int, index: int) -> int:
    """The seed of variant ``index``: never time, run id or attempt."""
    return derive_seed(scene_id, config, base_seed, index)


def part_rng(seed: int, part: str) -> np.random.Generator:
    """The generator of one part (``poses``, ``distractors``, ``colours``, ``lights``, ``cameras``)."""
    return np.random.default_rng(derive_seed(seed, part))


def ranges(s: VariationsSettings) -> dict[str, float]:
    """The jitter ranges a randomised variant uses (all zero for the nominal one)."""
    return {
        "position_jitter_m": s.variations_position_jitter_m,
        "yaw_jitter_rad": s.variations_yaw_jitter_rad,
        "replace_anywhere": 1.0 if s.variations_placement_mode == "replace" else 0.0,
        "margin_m": s.variations_margin_m,
        "distractors_max": float(s.variations_distractors_max),
        "hue": s.variations_hue_jitter,
        "saturation": s.variations_saturation_jitter,
        "value": s.variations_value_jitter,
        "light_intensity_min": s.variations_light_intensity_min,
        "light_intensity_max": s.variations_light_intensity_max,
        "light_direction_deg": s.variations_light_direction_deg,
        "camera_position_m": s.variations_camera_position_m,
        "camera_orientation_deg": s.variations_camera_orientation_deg,
        "camera_fovy_deg": s.variations_camera_fovy_deg,
    }


@dataclass
class Outcome:
    """A variant, or the failures that prevented it, plus notes for the index."""

    index: int
    seed: int
    variant: Variant | None
    failures: list[Failure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _pose(oid: str, p: Vec3, q: Quat) -> ObjectPose:
    return ObjectPose(
        id=oid,
        position_m=(rnd(p[0]), rnd(p[1]), rnd(p[2])),
        orientation_wxyz=(rnd(q[0]), rnd(q[1]), rnd(q[2]), rnd(q[3])),
    )


def _rgba(c: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    return (rnd(c[0]), rnd(c[1]), rnd(c[2]), rnd(c[3]))


def _rounded(obj: SimObject) -> SimObject:
    return obj.model_copy(
        update={"position_m": rvec(obj.position_m), "orientation_wxyz": rvec(obj.orientation_wxyz)}
    )


def nominal_variant(
    scene_id: str,
    scene: PlacementScene,
    assembly: Assembly,
    index: int,
    seed: int,
    s: VariationsSettings,
) -> Outcome:
    """The blueprint layout unchanged: poses, colours, lights and cameras as assembled."""
    zero = dict.fromkeys(ranges(s), 0.0)
    variant = Variant(
        scene_id=scene_id,
        variant_id=variant_id(index),
        index=index,
        seed=seed,
        nominal=True,
        poses=[_pose(o.id, o.position_m, o.orientation_wxyz) for o in scene.movable],
        colours={o.id: _rgba(o.rgba) for o in sorted(scene.objects, key=lambda o: o.id)},
        distractors=[],
        lights=list(assembly.lights),
        cameras=list(assembly.cameras),
        ranges=zero,
        placement_attempts=0,
    )
    return Outcome(index, seed, variant)


def random_variant(
    scene_id: str,
    scene: PlacementScene,
    assembly: Assembly,
    index: int,
    seed: int,
    s: VariationsSettings,
) -> Outcome:
    """A randomised variant; ``variant`` is None when some object found no spot."""
    arr: Arrangement = place_groups(scene, part_rng(seed, "poses"), s)
    if arr.failures:
        return Outcome(index, seed, None, arr.failures, arr.notes)
    add_distractors(scene, arr, part_rng(seed, "distractors"), s)
    colour_rng = part_rng(seed, "colours")
    colours = {}
    for o in sorted(scene.objects, key=lambda o: o.id):
        colours[o.id] = jitter_rgba(
            o.rgba,
            colour_rng,
            s.variations_hue_jitter,
            s.variations_saturation_jitter,
            s.variations_value_jitter,
        )
    light_rng = part_rng(seed, "lights")
    lights = [
        jitter_light(
            light,
            light_rng,
            s.variations_light_intensity_min,
            s.variations_light_intensity_max,
            s.variations_light_direction_deg,
        )
        for light in assembly.lights
    ]
    camera_rng = part_rng(seed, "cameras")
    cameras = [
        jitter_camera(
            cam,
            camera_rng,
            s.variations_camera_position_m,
            s.variations_camera_orientation_deg,
            s.variations_camera_fovy_deg,
        )
        for cam in assembly.cameras
    ]
    variant = Variant(
        scene_id=scene_id,
        variant_id=variant_id(index),
        index=index,
        seed=seed,
        nominal=False,
        poses=[_pose(o.id, *arr.poses[o.id]) for o in scene.movable],
        colours=colours,
        distractors=[_rounded(d) for d in arr.distractors],
        lights=lights,
        cameras=cameras,
        ranges=ranges(s),
        placement_attempts=arr.attempts,
    )
    return Outcome(index, seed, variant, [], arr.notes)


def make_variant(
    scene_id: str,
    scene: PlacementScene,
    assembly: Assembly,
    index: int,
    config: str,
    s: VariationsSettings,
) -> Outcome:
    """Variant ``index``: nominal when it is v0000 and VARIATIONS_NOMINAL_FIRST is set."""
    seed = variant_seed(scene_id, config, s.variations_base_seed, index)
    if index == 0 and s.variations_nominal_first:
        return nominal_variant(scene_id, scene, assembly, index, seed, s)
    return random_variant(scene_id, scene, assembly, index, seed, s)


def as_json(variant: Variant) -> dict[str, Any]:
    """The variant as plain JSON data (written with sorted keys)."""
    data: dict[str, Any] = variant.model_dump(mode="json", by_alias=True)
    return data
