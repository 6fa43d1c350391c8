"""Every example scene's variants are collision-free, resting, jittered within range and deterministic."""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass

import pytest
from bp_contracts.assembly import Assembly
from bp_contracts.simready import SimObject, SimreadyManifest
from bp_contracts.variation import Variant
from bp_sdk.digest import derive_seed, sha256_json
from bp_sdk.storage import Storage, open_storage
from bp_variations.variant import NOT_IN_SEED

from tests.conftest import EXAMPLE_SCENES, EXAMPLES, put_scene
from tests.ingest._support import ingest, ok_manifest
from tests.variations._support import (
    Outcome,
    angle_between,
    distance,
    point_in,
    publish_upstream,
    qconj,
    qmul,
    run_variations,
    shadow,
    simready_of,
    z_range,
)

MARGIN = 0.01  # VARIATIONS_MARGIN_M default
TOL = 1e-6


@dataclass
class Example:
    """One example scene taken through ingest and variations twice (runs r1 and r2)."""

    sim: SimreadyManifest
    assembly: Assembly
    first: Outcome
    second: Outcome


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Example]:
    """Each example ingested, given simready/assemble outputs, and varied under r1 and r2."""
    storage: Storage = open_storage(tmp_path_factory.mktemp("variations_examples").as_uri())
    out = {}
    for scene in EXAMPLE_SCENES:
        put_scene(storage, scene, EXAMPLES / scene)
        runs = []
        for run in ("r1", "r2"):
            manifest = ok_manifest(ingest(storage, scene, run))
            sim = simready_of(manifest)
            _, asm = publish_upstream(storage, scene, run, sim)
            runs.append(run_variations(storage, scene, run))
        out[scene] = Example(sim, asm, runs[0], runs[1])
    return out


def _variants(ex: Example) -> list[Variant]:
    assert ex.first.code == 0, ex.first.failure_text()
    return ex.first.variants()


def _placed(ex: Example, v: Variant) -> dict[str, SimObject]:
    """Every object of the scene at its pose in ``v``, plus the distractors."""
    poses = {p.id: p for p in v.poses}
    out = {}
    for o in ex.sim.objects:
        p = poses.get(o.id)
        out[o.id] = (
            o
            if p is None
            else o.model_copy(
                update={"position_m": p.position_m, "orientation_wxyz": p.orientation_wxyz}
            )
        )
    for d in v.distractors:
        out[d.id] = d
    return out


def _chain(objs: dict[str, SimObject], oid: str) -> set[str]:
    below = set()
    while objs[oid].support != "floor":
        oid = objs[oid].support
        below.add(oid)
    return below


@pytest.mark.parametrize("scene", EXAMPLE_SCENES)
def test_no_overlaps_and_inside_supports(scene: str, examples: dict[str, Example]) -> None:
    """Each moved object and distractor is inside its support's top and keeps the margin from everything at its height."""
    ex = examples[scene]
    for v in _variants(ex):
        objs = _placed(ex, v)
        moving = [p.id for p in v.poses] + [d.id for d in v.distractors]
        for oid in moving:
            o = objs[oid]
            poly = shadow(o.size_m, o.position_m, o.orientation_wxyz)
            if o.support != "floor":
                s = objs[o.support]
                top = shadow(s.size_m, s.position_m, s.orientation_wxyz)
                assert all(point_in(top, p, 1e-6) for p in poly), (
                    f"{v.variant_id}: {oid} leaves {o.support}"
                )
            lo, hi = z_range(o.size_m, o.position_m, o.orientation_wxyz)
            below = _chain(objs, oid)
            for other in objs.values():
                if other.id == oid or other.id in below or oid in _chain(objs, other.id):
                    continue
                olo, ohi = z_range(other.size_m, other.position_m, other.orientation_wxyz)
                if olo >= hi - 1e-4 or ohi <= lo + 1e-4:
                    continue  # different heights
                d = distance(poly, shadow(other.size_m, other.position_m, other.orientation_wxyz))
                limit = MARGIN if not v.nominal else 0.0
                assert d >= limit - TOL, f"{v.variant_id}: {oid} is {d:.4f} m from {other.id}"


@pytest.mark.parametrize("scene", EXAMPLE_SCENES)
def test_objects_keep_resting_heights_and_turn_only_about_z(
    scene: str, examples: dict[str, Example]
) -> None:
    """Every moved object's bottom is on its support's top (snapped) and its orientation differs by a yaw only."""
    ex = examples[scene]
    nominal = {o.id: o for o in ex.sim.objects}
    for v in _variants(ex):
        objs = _placed(ex, v)
        for p in v.poses:
            o, s = objs[p.id], objs[objs[p.id].support] if objs[p.id].support != "floor" else None
            bottom = z_range(o.size_m, o.position_m, o.orientation_wxyz)[0]
            top = 0.0 if s is None else z_range(s.size_m, s.position_m, s.orientation_wxyz)[1]
            # the blueprint itself rests to within 1 mm; randomised variants snap onto the support
            tol = 1e-3 if v.nominal else TOL
            assert bottom == pytest.approx(top, abs=tol), f"{v.variant_id}: {p.id} floats or sinks"
            q = p.orientation_wxyz
            assert math.sqrt(sum(c * c for c in q)) == pytest.approx(1.0, abs=1e-8)
            turn = qmul(q, qconj(nominal[p.id].orientation_wxyz))
            assert abs(turn[1]) < 1e-8 and abs(turn[2]) < 1e-8, f"{p.id} tilted: {turn}"


@pytest.mark.parametrize("scene", EXAMPLE_SCENES)
def test_first_variant_is_the_blueprint_and_the_others_move(
    scene: str, examples: dict[str, Example]
) -> None:
    """v0000 has the blueprint poses, colours, lights and cameras; later variants really change them."""
    ex = examples[scene]
    variants = _variants(ex)
    v0 = variants[0]
    movable = [o for o in ex.sim.objects if not o.static]
    assert v0.nominal and v0.variant_id == "v0000" and v0.distractors == []
    assert [p.id for p in v0.poses] == [o.id for o in movable]
    for p, o in zip(v0.poses, movable, strict=True):
        assert p.position_m == pytest.approx(o.position_m, abs=1e-9)
        assert p.orientation_wxyz == pytest.approx(o.orientation_wxyz, abs=1e-9)
    assert v0.colours == {o.id: pytest.approx(o.rgba, abs=1e-9) for o in ex.sim.objects}
    assert v0.lights == ex.assembly.lights and v0.cameras == ex.assembly.cameras
    for v in variants[1:]:
        assert not v.nominal
        moved = [
            p.id
            for p, o in zip(v.poses, movable, strict=True)
            if math.dist(p.position_m[:2], o.position_m[:2]) > 1e-4
        ]
        assert len(moved) >= len(movable) // 2, f"{v.variant_id} barely moved: {moved}"
        assert v.placement_attempts >= len(movable)


@pytest.mark.parametrize("scene", EXAMPLE_SCENES)
def test_jitter_ranges_respected(scene: str, examples: dict[str, Example]) -> None:
    """Colours stay within the HSV ranges; scene cameras and lights move within bounds; the wrist camera stays."""
    ex = examples[scene]
    rgba = {o.id: o.rgba for o in ex.sim.objects}
    cams = {c.name: c for c in ex.assembly.cameras}
    lights = {li.name: li for li in ex.assembly.lights}
    for v in _variants(ex)[1:]:
        assert v.ranges["hue"] == 0.05 and v.ranges["camera_position_m"] == 0.03
        for oid, c in v.colours.items():
            h0, s0, v0 = colorsys.rgb_to_hsv(*rgba[oid][:3])
            h1, s1, v1 = colorsys.rgb_to_hsv(*c[:3])
            assert abs(s1 - s0) <= 0.15 + TOL and abs(v1 - v0) <= 0.15 + TOL
            if s0 > 0.05 and s1 > 0.05 and v0 > 0.05 and v1 > 0.05:
                dh = abs(h1 - h0) % 1.0
                assert min(dh, 1 - dh) <= 0.05 + 1e-5, f"{oid}: hue moved {dh}"
            assert c[3] == rgba[oid][3]
        for c in v.cameras:
            base = cams[c.name]
            if c.mount == "wrist":
                assert c == base
                continue
            assert all(abs(a - b) <= 0.03 + 1e-9 for a, b in zip(c.pos_m, base.pos_m, strict=True))
            assert math.degrees(angle_between(base.quat_wxyz, c.quat_wxyz)) <= 3.0 + 1e-5
            assert abs(c.fovy_deg - base.fovy_deg) <= 2.0 + 1e-9
        for li in v.lights:
            base_l = lights[li.name]
            factors = {round(a / b, 6) for a, b in zip(li.diffuse, base_l.diffuse, strict=True)}
            assert len(factors) == 1 and 0.7 - 1e-6 <= factors.pop() <= 1.3 + 1e-6
            cos = sum(a * b for a, b in zip(li.dir, base_l.dir, strict=True)) / (
                math.dist(li.dir, (0, 0, 0)) * math.dist(base_l.dir, (0, 0, 0))
            )
            assert math.degrees(math.acos(min(1.0, cos))) <= 15.0 + 1e-5


@pytest.mark.parametrize("scene", EXAMPLE_SCENES)
def test_distractors_are_new_clones_of_graspable_objects(
    scene: str, examples: dict[str, Example]
) -> None:
    """Distractors copy a graspable movable object under a new id with a new colour (placement checked above)."""
    ex = examples[scene]
    by_id = {o.id: o for o in ex.sim.objects}
    templates = {o.id for o in ex.sim.objects if o.graspable and not o.static}
    total = 0
    for v in _variants(ex):
        assert len(v.distractors) <= 2
        for d in v.distractors:
            total += 1
            assert d.id.startswith("distractor_") and d.id not in by_id
            same = [
                t
                for t in templates
                if by_id[t].size_m == d.size_m and by_id[t].category == d.category
            ]
            assert same, f"{d.id} clones no graspable object"
            assert d.rgba != by_id[same[0]].rgba
    assert total > 0, "8 variants with up to 2 distractors each added none"


@pytest.mark.parametrize("scene", EXAMPLE_SCENES)
def test_seeds_derive_from_scene_config_and_index(scene: str, examples: dict[str, Example]) -> None:
    """Seeds differ per variant and equal derive_seed(scene, config digest, base seed, index)."""
    ex = examples[scene]
    record = ex.first.record()
    params = {k: v for k, v in record.params.items() if k not in NOT_IN_SEED}
    config = sha256_json({"params": params, "inputs": record.inputs})
    variants = _variants(ex)
    seeds = [v.seed for v in variants]
    assert len(set(seeds)) == len(seeds)
    assert seeds == [derive_seed(scene, config, 0, i) for i in range(len(variants))]
    index = ex.first.index()
    assert [e["seed"] for e in index["variants"]] == seeds
    assert index["config_digest"] == config
    assert record.seeds == {v.variant_id: v.seed for v in variants}


@pytest.mark.parametrize("scene", EXAMPLE_SCENES)
def test_runs_under_different_run_ids_are_byte_identical(
    scene: str, examples: dict[str, Example]
) -> None:
    """r1 and r2 (same inputs) commit byte-identical variants, index and overview."""
    ex = examples[scene]
    a, b = ex.first.files(), ex.second.files()
    assert set(a) == {f"variations/v{i:04d}.json" for i in range(8)} | {
        "variations/index.json",
        "variations/overview.svg",
    }
    assert a == b


@pytest.mark.parametrize("scene", EXAMPLE_SCENES)
def test_overview_shows_every_variant(scene: str, examples: dict[str, Example]) -> None:
    """The overview SVG has one thumbnail per variant (up to 16) with every object drawn."""
    ex = examples[scene]
    svg = ex.first.files()["variations/overview.svg"].decode()
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    for i in range(8):
        assert f">v{i:04d} · " in svg
    assert svg.count("<polygon") == sum(
        len(ex.sim.objects) + len(v.distractors) for v in _variants(ex)
    )
