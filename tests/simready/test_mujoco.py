"""simready's output in real MuJoCo: inertias compile, MuJoCo infers the same mass
properties from the parts, moving parts sweep their range without hitting the carcass,
and a pull at the handle opens them."""

from __future__ import annotations

from collections.abc import Callable

import mujoco
import numpy as np
import pytest
from bp_contracts.simready import CollisionPart, SimObject

from tests.conftest import EXAMPLE_SCENES
from tests.simready._mjcf import geoms_only_xml, pull, scene_xml, sweep_penetration
from tests.simready._support import Chain, obj_faces, obj_vertices, rotation

PENETRATION_TOL = 1e-4  # 0.1 mm


def mesh_volume(data: bytes) -> float:
    """Enclosed volume of a closed OBJ triangle mesh (divergence theorem, any winding)."""
    v, f = obj_vertices(data), obj_faces(data)
    return abs(
        float(np.einsum("ij,ij->i", v[f[:, 0]], np.cross(v[f[:, 1]], v[f[:, 2]])).sum()) / 6.0
    )


def part_volume(p: CollisionPart, read: Callable[[str], bytes]) -> float:
    """Geometric volume of a collision part (MuJoCo sizes)."""
    a, b, _ = p.size
    if p.shape == "box":
        return 8.0 * a * b * p.size[2]
    if p.shape == "cylinder":
        return np.pi * a * a * 2.0 * b
    if p.shape == "sphere":
        return 4.0 / 3.0 * np.pi * a**3
    return mesh_volume(read(p.mesh))


def articulated(examples: dict[str, Chain]) -> list[tuple[Chain, SimObject]]:
    """Every articulated object of the examples with its chain."""
    return [(c, o) for c in examples.values() for o in c.manifest().objects if o.articulation]


@pytest.mark.parametrize("scene", EXAMPLE_SCENES)
def test_every_object_compiles_as_a_free_body_with_its_inertia(
    scene: str, examples: dict[str, Chain]
) -> None:
    """MuJoCo accepts every object's mass, COM and principal moments (it refuses impossible inertias)."""
    c = examples[scene]
    objs = c.manifest().objects
    xml, assets = scene_xml(objs, c.committed().read_bytes, free=True)
    model = mujoco.MjModel.from_xml_string(xml, assets)
    for o in objs:
        b = model.body(o.id)
        assert b.mass[0] == pytest.approx(o.inertia.mass_kg, rel=1e-9)
        assert np.allclose(b.ipos, o.inertia.com_m, atol=1e-9)


@pytest.mark.parametrize("scene", EXAMPLE_SCENES)
def test_mujoco_infers_the_same_mass_properties_from_the_parts(
    scene: str, examples: dict[str, Chain]
) -> None:
    """Given only the collision parts at the object's uniform density, MuJoCo computes the same COM and moments."""
    c = examples[scene]
    read = c.committed().read_bytes
    for o in c.manifest().objects:
        density = o.inertia.mass_kg / sum(part_volume(p, read) for p in o.parts)
        xml, assets = geoms_only_xml(o, density, read)
        model = mujoco.MjModel.from_xml_string(xml, assets)
        data = mujoco.MjData(model)
        mujoco.mj_forward(model, data)
        b = model.body(o.id)
        r = rotation(tuple(b.iquat))
        tensor = r @ np.diag(b.inertia) @ r.T
        mesh = any(p.shape == "mesh" for p in o.parts)
        rel = 0.02 if mesh else 1e-6  # a mesh's own moments vs its convex hulls'
        assert b.mass[0] == pytest.approx(o.inertia.mass_kg, rel=rel), o.id
        assert np.allclose(b.ipos, o.inertia.com_m, atol=1e-6 + rel * max(o.size_m)), o.id
        assert np.allclose(np.diag(tensor), o.inertia.diag_kg_m2, rtol=rel, atol=1e-12), (
            o.id,
            np.diag(tensor),
        )
        off = np.abs(tensor - np.diag(np.diag(tensor))).max()
        assert off <= 0.05 * tensor.max(), o.id  # the diagonal the schema keeps is the inertia


def test_moving_parts_never_hit_their_carcass_over_the_whole_range(
    examples: dict[str, Chain],
) -> None:
    """Sweeping each drawer, lid and door from closed to fully open, no part penetrates its carcass by more than 0.1 mm."""
    found = articulated(examples)
    assert {o.articulation.kind for _, o in found if o.articulation} >= {"drawer", "lid"}
    for c, o in found:
        assert sweep_penetration(o, c.committed().read_bytes) <= PENETRATION_TOL, o.id


def test_pulling_the_handle_opens_and_the_range_stops_it(examples: dict[str, Chain]) -> None:
    """A 20 N pull at the handle along open_direction opens each moving part (positive joint travel) within its range."""
    for c, o in articulated(examples):
        art = o.articulation
        assert art is not None
        q = pull(o, c.committed().read_bytes, 1.5)
        assert q > 0.25 * art.range[1], (o.id, q)
        assert q <= art.range[1] + 0.02, (o.id, q)


def test_laptop_lid_holds_its_angle_and_a_bin_lid_falls_shut(examples: dict[str, Chain]) -> None:
    """With no force, the laptop's friction hinge holds the lid near 1 rad (MuJoCo's soft friction creeps a little); the bin's lid falls shut."""
    c = examples["office_desk"]
    objs = c.manifest().by_id()
    read = c.committed().read_bytes
    held = pull(objs["laptop_1"], read, 1.0, start=1.0, force=0.0)
    assert abs(held - 1.0) < 0.06
    fell = pull(objs["storage_bin_1"], read, 1.5, start=1.0, force=0.0)
    assert fell < 0.2


@pytest.mark.parametrize("scene", EXAMPLE_SCENES)
def test_example_scene_settles_in_place(scene: str, examples: dict[str, Chain]) -> None:
    """With simready's masses, inertias, friction and parts on a floor, nothing drifts 2 mm or sinks 1 mm in 2 s."""
    c = examples[scene]
    objs = c.manifest().objects
    xml, assets = scene_xml(objs, c.committed().read_bytes, free=None)
    model = mujoco.MjModel.from_xml_string(xml, assets)
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    start = {o.id: data.xpos[model.body(o.id).id].copy() for o in objs}
    deepest = 0.0
    for _ in range(1000):
        mujoco.mj_step(model, data)
        deepest = max([deepest, *(-float(con.dist) for con in data.contact[: data.ncon])])
    drift = {
        o.id: float(np.linalg.norm(data.xpos[model.body(o.id).id] - start[o.id])) for o in objs
    }
    worst = max(drift, key=lambda k: drift[k])
    assert drift[worst] < 0.002, (worst, drift[worst])
    assert deepest < 0.001
