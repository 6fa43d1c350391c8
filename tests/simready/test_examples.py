"""Every example scene goes ingest → simready and comes out physically sane."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest
from bp_contracts.catalog import load_catalog, load_materials
from bp_contracts.scene_manifest import SceneManifest
from bp_sdk.commit import read_committed
from bp_simready.settings import SimreadySettings

from tests.conftest import EXAMPLE_SCENES
from tests.simready._support import (
    MANIFEST,
    REALISTIC_KG,
    Chain,
    obj_vertices,
    part_bounds,
    total_mass,
)

BOX_TOL = 0.001


def scene_manifest(c: Chain) -> SceneManifest:
    """The ingest manifest simready read."""
    units = read_committed(c.storage, c.scene, c.run_id, "ingest")
    assert units
    return units[0].read_model("scene_manifest.json", SceneManifest)


@pytest.mark.parametrize("scene", EXAMPLE_SCENES)
def test_example_commits_a_valid_manifest(scene: str, examples: dict[str, Chain]) -> None:
    """The example commits a schema-valid simready manifest with one object per manifest object, in order."""
    c = examples[scene]
    assert c.ingest_code == 0 and c.code == 0, c.failure_text()
    m, src = c.manifest(), scene_manifest(c)
    assert m.scene_id == scene
    assert [o.id for o in m.objects] == [o.id for o in src.objects]
    ingest_unit = read_committed(c.storage, scene, "r1", "ingest")
    assert ingest_unit
    assert m.scene_manifest_sha256 == ingest_unit[0].record.files["scene_manifest.json"].sha256
    assert m.materials_version == load_materials().version
    assert m.catalog_version == load_catalog().version
    defaults = SimreadySettings.model_fields
    assert m.max_grasp_width_m == defaults["simready_max_grasp_width_m"].default
    assert m.max_grasp_mass_kg == defaults["simready_max_grasp_kg"].default
    assert src.robot_base is not None and m.robot_base is not None
    assert (
        m.robot_base[0] == src.robot_base.position_m and m.robot_base[1] == src.robot_base.yaw_deg
    )
    for o, s in zip(m.objects, src.objects, strict=True):
        assert (o.size_m, o.position_m, o.orientation_wxyz) == (
            s.size_m,
            s.position_m,
            s.orientation_wxyz,
        )
        assert (o.role, o.static, o.support, o.visual_mesh) == (s.role, s.static, s.support, s.mesh)
    assert c.record().inputs["ingest"]


@pytest.mark.parametrize("scene", EXAMPLE_SCENES)
def test_masses_are_realistic_for_their_category(scene: str, examples: dict[str, Chain]) -> None:
    """Total mass of every object lies in its category's documented realistic range (a mug 0.2-0.5 kg, a can 0.3-0.45 kg, a table > 10 kg)."""
    wrong = []
    for o in examples[scene].manifest().objects:
        low, high = REALISTIC_KG[o.category]
        if not low <= total_mass(o) <= high:
            wrong.append(f"{o.id} ({o.category}): {total_mass(o):.3f} kg not in {low}..{high}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("scene", EXAMPLE_SCENES)
def test_mass_is_density_times_volume_and_material_constants_are_used(
    scene: str, examples: dict[str, Chain]
) -> None:
    """mass = density x volume; density, friction and restitution are the material's; every check passed."""
    materials = load_materials()
    for o in examples[scene].manifest().objects:
        mat = materials.materials[o.material]
        assert o.density_kg_m3 == mat.density_kg_m3
        assert math.isclose(o.inertia.mass_kg, o.density_kg_m3 * o.volume_m3, rel_tol=1e-6), o.id
        assert o.friction == (mat.friction, mat.torsional, mat.rolling)
        assert o.restitution == mat.restitution
        assert all(0.0 <= c <= 1.0 for c in o.rgba)
        assert o.checks and all(ch.ok for ch in o.checks), (
            o.id,
            [ch for ch in o.checks if not ch.ok],
        )
        assert {ch.check for ch in o.checks} >= {
            "mass_kg",
            "friction",
            "extent_min_m",
            "extent_max_m",
            "inertia_triangle",
            "parts_outside_box_m",
        }


@pytest.mark.parametrize("scene", EXAMPLE_SCENES)
def test_inertia_is_positive_and_satisfies_the_triangle_inequality(
    scene: str, examples: dict[str, Chain]
) -> None:
    """Every body's and moving part's principal moments are positive and each is at most the sum of the other two."""
    for o in examples[scene].manifest().objects:
        inertias = [o.inertia] + ([o.articulation.inertia] if o.articulation else [])
        for inertia in inertias:
            a, b, c = inertia.diag_kg_m2
            assert min(a, b, c) > 0, o.id
            assert a <= b + c + 1e-12 and b <= a + c + 1e-12 and c <= a + b + 1e-12, (o.id, inertia)
            half = np.asarray(o.size_m) / 2
            assert np.all(np.abs(inertia.com_m) <= half + 1e-9), (o.id, inertia.com_m)


@pytest.mark.parametrize("scene", EXAMPLE_SCENES)
def test_collision_parts_lie_inside_the_size_box(scene: str, examples: dict[str, Chain]) -> None:
    """Every collision part (moving parts closed; mesh hulls from their OBJ files) is within the object's box, 1 mm tolerance."""
    c = examples[scene]
    unit = c.committed()
    for o in c.manifest().objects:
        half = np.asarray(o.size_m) / 2
        assert o.parts, o.id
        placed = [(p, np.zeros(3)) for p in o.parts]
        if o.articulation:
            placed += [(p, np.asarray(o.articulation.part_pos_m)) for p in o.articulation.parts]
        for p, origin in placed:
            verts = obj_vertices(unit.read_bytes(p.mesh)) if p.shape == "mesh" and p.mesh else None
            lo, hi = part_bounds(p, verts)
            lo, hi = lo + origin, hi + origin
            assert np.all(lo >= -half - BOX_TOL) and np.all(hi <= half + BOX_TOL), (
                o.id,
                p.name,
                lo,
                hi,
                half,
            )


@pytest.mark.parametrize("scene", EXAMPLE_SCENES)
def test_every_committed_file_is_listed_and_referenced(
    scene: str, examples: dict[str, Chain]
) -> None:
    """The commit lists the manifest and exactly the collision files the manifest references, with their sha256."""
    c = examples[scene]
    unit = c.committed()
    refs = {p.mesh for o in c.manifest().objects for p in o.parts if p.mesh}
    assert set(unit.record.files) == {MANIFEST} | refs
    for name, entry in unit.record.files.items():
        assert hashlib.sha256(unit.read_bytes(name)).hexdigest() == entry.sha256
