"""Blueprint meshes that are not convex, shared, capped or not watertight."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import trimesh
from bp_sdk.storage import open_storage

from tests.simready._support import Chain, chain, is_convex, obj_faces, obj_vertices

R_IN, R_OUT, H = 0.034, 0.04, 0.1  # the ring's radii and height in its file (metres)


def ring_obj(drop_faces: int = 0) -> bytes:
    """A thick ring (a pot without a bottom), optionally with faces removed (not watertight)."""
    ring = trimesh.creation.annulus(r_min=R_IN, r_max=R_OUT, height=H, sections=32)
    if drop_faces:
        ring = trimesh.Trimesh(ring.vertices, ring.faces[drop_faces:], process=False)
    text = trimesh.exchange.obj.export_obj(ring, include_normals=False, include_texture=False)
    return text.encode()


def pot(oid: str, size: list[float], x: float, mesh: str) -> dict[str, Any]:
    """A plant pot standing on the floor, its shape given by ``mesh``."""
    return {
        "id": oid,
        "category": "plant_pot",
        "size": size,
        "mesh": mesh,
        "pose": {"position": [x, 0.0, size[2] / 2]},
        "support": "floor",
    }


def blueprint(*objects: dict[str, Any]) -> dict[str, Any]:
    """A blueprint of the given objects."""
    return {
        "schema_version": "1",
        "name": "meshes",
        "units": "m",
        "up_axis": "z",
        "objects": list(objects),
    }


@pytest.fixture(scope="module")
def rings(tmp_path_factory: pytest.TempPathFactory) -> Chain:
    """Two pots sharing one ring mesh at different sizes, through ingest and simready."""
    storage = open_storage(tmp_path_factory.mktemp("sr_rings").as_uri())
    bp = blueprint(
        pot("pot_small", [0.12, 0.12, 0.12], 0.0, "meshes/ring.obj"),
        pot("pot_wide", [0.18, 0.14, 0.1], 0.5, "meshes/ring.obj"),
    )
    c = chain(storage, "rings", bp, extra={"meshes/ring.obj": ring_obj()})
    assert c.code == 0, c.failure_text()
    return c


def test_non_convex_mesh_becomes_several_convex_hulls_inside_the_box(rings: Chain) -> None:
    """A ring is split into 2..16 convex hulls, all inside the object's box, hugging it, decomposed in under 5 s."""
    unit = rings.committed()
    for o in rings.manifest().objects:
        assert o.volume_source == "mesh"
        assert 2 <= len(o.parts) <= 16, (o.id, len(o.parts))
        half = np.asarray(o.size_m) / 2
        every = []
        for p in o.parts:
            assert p.mesh is not None
            data = unit.read_bytes(p.mesh)
            v = obj_vertices(data)
            assert is_convex(v, obj_faces(data)), p.mesh
            assert np.all(np.abs(v) <= half + 1e-9), p.mesh
            every.append(v)
        allv = np.vstack(every)
        assert np.allclose(allv.max(axis=0), half, atol=0.005)
        # the hole stays open: no hull reaches the ring's axis
        radial = np.hypot(allv[:, 0] / half[0], allv[:, 1] / half[1])
        assert radial.min() > 0.5, o.id
    seconds = rings.record().summary["decomposition_s"]
    assert list(seconds) == ["meshes/ring.obj"] and seconds["meshes/ring.obj"] > 0


def test_mesh_volume_and_mass_follow_the_mesh_scaled_to_the_box(rings: Chain) -> None:
    """Volume is the ring's (scaled per axis to size_m) x fill, far below the cylinder's; mass = density x volume."""
    for o in rings.manifest().objects:
        sx, sy, sz = o.size_m
        ring = (
            math.pi * (R_OUT**2 - R_IN**2) * H * (sx / (2 * R_OUT)) * (sy / (2 * R_OUT)) * (sz / H)
        )
        mesh_volume = o.volume_m3 / 0.35  # plant_pot fill
        assert mesh_volume == pytest.approx(ring, rel=0.02)
        assert mesh_volume < 0.5 * math.pi * (min(sx, sy) / 2) ** 2 * sz  # a ring, not a cylinder
        assert o.inertia.mass_kg == pytest.approx(2400 * o.volume_m3, rel=1e-6)


def test_a_shared_mesh_is_decomposed_once_and_fitted_to_each_object(rings: Chain) -> None:
    """Two objects using one mesh: one decomposition, one set of hull files per object, each scaled to its own box."""
    m = rings.manifest().by_id()
    small, wide = m["pot_small"], m["pot_wide"]
    assert rings.record().summary["meshes_decomposed"] == 1
    assert len(small.parts) == len(wide.parts)
    unit = rings.committed()
    vs = obj_vertices(unit.read_bytes(small.parts[0].mesh or ""))
    vw = obj_vertices(unit.read_bytes(wide.parts[0].mesh or ""))
    scale = np.asarray(wide.size_m) / np.asarray(small.size_m)
    assert np.allclose(vs * scale, vw, atol=2e-9)


def test_hull_cap_setting_limits_the_hulls(tmp_path_factory: pytest.TempPathFactory) -> None:
    """SIMREADY_COACD_MAX_HULLS=3 gives at most three hulls."""
    storage = open_storage(tmp_path_factory.mktemp("sr_cap").as_uri())
    bp = blueprint(pot("pot_1", [0.14, 0.14, 0.13], 0.0, "meshes/ring.obj"))
    c = chain(
        storage, "capped", bp, extra={"meshes/ring.obj": ring_obj()}, SIMREADY_COACD_MAX_HULLS="3"
    )
    assert c.code == 0, c.failure_text()
    assert 1 <= len(c.manifest().objects[0].parts) <= 3


def test_mesh_with_holes_is_closed_for_its_volume(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A ring with missing triangles has its holes closed, so its volume is the ring's, and a warning says so."""
    storage = open_storage(tmp_path_factory.mktemp("sr_open").as_uri())
    bp = blueprint(pot("pot_open", [0.14, 0.14, 0.13], 0.0, "meshes/open.obj"))
    c = chain(storage, "open", bp, extra={"meshes/open.obj": ring_obj(drop_faces=6)})
    assert c.code == 0, c.failure_text()
    o = c.manifest().objects[0]
    assert o.volume_source == "mesh" and all(ch.ok for ch in o.checks)
    assert "closed mesh" in o.checks[0].reason
    ring = math.pi * (R_OUT**2 - R_IN**2) * H * (0.14 / 0.08) ** 2 * 1.3
    assert o.volume_m3 / 0.35 == pytest.approx(ring, rel=0.05)
    warnings = c.record().summary["warnings"]
    assert any(
        w.startswith("pot_open: mesh 'meshes/open.obj' had ") and "closed for its volume" in w
        for w in warnings
    )


def test_non_manifold_mesh_takes_its_volume_from_the_hulls(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A mesh with an edge shared by three triangles cannot be closed: volume and inertia come from its hulls, with a warning."""
    ring = trimesh.creation.annulus(r_min=R_IN, r_max=R_OUT, height=H, sections=32)
    a, b, c3 = ring.faces[0]
    fin = ring.vertices[[a, b, c3]].mean(axis=0)
    vertices = np.vstack([ring.vertices, fin])
    faces = np.vstack([ring.faces, [[a, b, len(ring.vertices)]]])
    text = trimesh.exchange.obj.export_obj(
        trimesh.Trimesh(vertices, faces, process=False),
        include_normals=False,
        include_texture=False,
    )
    storage = open_storage(tmp_path_factory.mktemp("sr_fin").as_uri())
    bp = blueprint(pot("pot_fin", [0.14, 0.14, 0.13], 0.0, "meshes/fin.obj"))
    c = chain(storage, "fin", bp, extra={"meshes/fin.obj": text.encode()})
    assert c.code == 0, c.failure_text()
    o = c.manifest().objects[0]
    assert "convex hulls (mesh not watertight)" in o.checks[0].reason
    ring_volume = math.pi * (R_OUT**2 - R_IN**2) * H * (0.14 / 0.08) ** 2 * 1.3
    assert o.volume_m3 / 0.35 == pytest.approx(ring_volume, rel=0.1)  # hulls overfill a little
    warnings = c.record().summary["warnings"]
    assert (
        "pot_fin: mesh 'meshes/fin.obj' is not watertight: volume and inertia from its convex hulls"
        in warnings
    )


def test_decomposition_is_bounded_by_its_timeout(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A decomposition slower than SIMREADY_COACD_TIMEOUT_S is stopped: exit 3 naming the mesh and the limit."""
    storage = open_storage(tmp_path_factory.mktemp("sr_slow").as_uri())
    bp = blueprint(pot("pot_1", [0.14, 0.14, 0.13], 0.0, "meshes/ring.obj"))
    c = chain(
        storage, "slow", bp, extra={"meshes/ring.obj": ring_obj()}, SIMREADY_COACD_TIMEOUT_S="0.01"
    )
    assert c.code == 3
    (marker,) = c.markers()
    (problem,) = marker.problems
    assert problem.startswith("input/meshes/ring.obj (used by pot_1): ")
    assert "took longer than SIMREADY_COACD_TIMEOUT_S=0.01 s" in problem


def test_decomposition_is_deterministic(
    rings: Chain, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Decomposing the same rings again (another storage and run id) commits byte-identical hull files."""
    storage = open_storage(tmp_path_factory.mktemp("sr_rings_again").as_uri())
    bp = blueprint(
        pot("pot_small", [0.12, 0.12, 0.12], 0.0, "meshes/ring.obj"),
        pot("pot_wide", [0.18, 0.14, 0.1], 0.5, "meshes/ring.obj"),
    )
    again = chain(storage, "rings", bp, run_id="r9", extra={"meshes/ring.obj": ring_obj()})
    assert again.code == 0, again.failure_text()
    assert again.record().files == rings.record().files
    assert again.record().seeds == rings.record().seeds
