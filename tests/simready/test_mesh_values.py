"""Mesh files with absurd numbers: NaN or infinite vertices, a bounding box of 1e30, a mesh
1e12 units from its origin or 1e-9 across. Each is a real file in the scene folder taken
through ingest and simready; simready names the mesh, the objects using it and the first
bad vertex (and how many) before anything else can misread it (trimesh drops non-finite
vertices, which used to surface as an impossible inertia)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import trimesh
from bp_sdk.errors import ExitCode
from bp_sdk.storage import Storage, open_storage
from bp_simready.meshes import MeshProblem, parse

from tests.simready._support import Chain, chain

BOX = trimesh.creation.box((0.08, 0.08, 0.1))


@pytest.fixture
def storage(tmp_path: Path) -> Storage:
    """A fresh file:// storage."""
    return open_storage((tmp_path / "store").as_uri())


def obj_text(vertices: np.ndarray, faces: np.ndarray, uv: bool = False) -> bytes:
    """Wavefront OBJ of the mesh, coordinates written with repr (nan, inf, 1e+30 as such);
    with ``uv``, every face corner also names a texture coordinate (trimesh then reorders)."""
    lines = [f"v {x!r} {y!r} {z!r}" for x, y, z in vertices.tolist()]
    if uv:
        lines += ["vt 0 0", "vt 1 0", "vt 0 1"]
        lines += [f"f {a + 1}/1 {b + 1}/2 {c + 1}/3" for a, b, c in faces.tolist()]
    else:
        lines += [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in faces.tolist()]
    return ("\n".join(lines) + "\n").encode()


def binary_stl(triangles: np.ndarray) -> bytes:
    """A binary STL of (n, 3, 3) triangle corners, normals left zero (written by hand:
    trimesh's exporter computes normals, which warns on an infinite corner)."""
    record = np.dtype([("normal", "<f4", 3), ("corners", "<f4", (3, 3)), ("attr", "<u2")])
    rows = np.zeros(len(triangles), dtype=record)
    rows["corners"] = triangles
    return b"\0" * 80 + np.uint32(len(triangles)).tobytes() + rows.tobytes()


def box_with(changes: dict[tuple[int, int], float]) -> np.ndarray:
    """The box's vertices with ``{(vertex, axis): value}`` set."""
    v = np.array(BOX.vertices, dtype=np.float64)
    for (i, axis), value in changes.items():
        v[i, axis] = value
    return v


def mugs(mesh: str) -> dict[str, Any]:
    """Two mugs on the floor sharing ``mesh``."""
    return {
        "schema_version": "1",
        "name": "mesh values",
        "units": "m",
        "up_axis": "z",
        "objects": [
            {
                "id": oid,
                "category": "mug",
                "size": [0.08, 0.08, 0.1],
                "pose": {"position": [x, 0.0, 0.05]},
                "mesh": mesh,
            }
            for oid, x in (("mug_a", 0.0), ("mug_b", 0.3))
        ],
    }


def refused(storage: Storage, scene: str, name: str, data: bytes) -> str:
    """Run ingest → simready on two mugs sharing ``meshes/<name>``; simready's only problem."""
    c: Chain = chain(storage, scene, mugs(f"meshes/{name}"), extra={f"meshes/{name}": data})
    assert c.ingest_code == 0
    assert c.code == ExitCode.PERMANENT, c.failure_text()
    (marker,) = c.markers()
    assert marker.error_type == "InputError", marker.message
    assert len(marker.problems) == 1, marker.problems
    problem = marker.problems[0]
    assert problem.startswith(f"input/meshes/{name} (used by mug_a, mug_b): "), problem
    assert "inertia" not in problem
    return problem


def test_nan_vertex_is_named_with_its_line_and_count(storage: Storage) -> None:
    """Two NaN coordinates in one OBJ: the problem names mesh, both mugs, 2 vertices, the first (vertex 3, line 4) and a fix."""
    data = obj_text(box_with({(3, 1): np.nan, (6, 2): np.nan}), BOX.faces)
    problem = refused(storage, "nan", "mug.obj", data)
    assert "has 2 vertexes with NaN or infinite coordinates" in problem, problem
    assert "the first is vertex 3 counting from 0 (line 4: 'v " in problem and "nan" in problem
    assert "(fix: the exporter wrote NaN or infinite coordinates" in problem


def test_inf_vertex_in_binary_stl_is_named_by_triangle_and_corner(storage: Storage) -> None:
    """An infinite coordinate in a binary STL: one STL vertex (a triangle corner) named by triangle and corner."""
    v = np.array(BOX.vertices, dtype=np.float64)
    triangles = v[BOX.faces].copy()
    triangles[5, 2, 0] = np.inf
    data = binary_stl(triangles)
    problem = refused(storage, "inf", "mug.stl", data)
    assert "has 1 vertex with NaN or infinite coordinates" in problem, problem
    assert "vertex 17 counting from 0 (triangle 5, corner 2): [inf," in problem, problem


def test_nan_vertex_is_found_in_file_order_despite_texture_coordinates(storage: Storage) -> None:
    """With texture coordinates trimesh reorders vertices; the OBJ's own vertex number and line are still named."""
    data = obj_text(box_with({(5, 0): -np.inf}), BOX.faces, uv=True)
    problem = refused(storage, "uv", "mug.obj", data)
    assert "has 1 vertex with NaN or infinite" in problem
    assert "vertex 5 counting from 0 (line 6: 'v -inf" in problem, problem


def test_huge_bounding_box_is_named_with_axis_extent_and_vertex(storage: Storage) -> None:
    """A vertex at y = 1e30: 'spans 1e+30 units along y', the stray vertex, the limits and a fix (not 'flat')."""
    data = obj_text(box_with({(2, 1): 1e30}), BOX.faces)
    problem = refused(storage, "huge", "mug.obj", data)
    assert "spans 1e+30 units along y" in problem, problem
    assert "the vertex at [-0.04, 1e+30, -0.05]" in problem, problem
    assert "1e-06 .. 1e+06 units" in problem and "flat" not in problem
    assert "(fix: a vertex has a garbage coordinate" in problem


def test_mesh_far_from_its_origin_is_refused(storage: Storage) -> None:
    """A 0.1-unit box 1e12 units from its origin: the distance, the limit and a fix."""
    v = np.array(BOX.vertices, dtype=np.float64) + np.array([1e12, 0.0, 0.0])
    problem = refused(storage, "far", "mug.obj", obj_text(v, BOX.faces))
    assert "lies 1e+12 units from its origin along x" in problem, problem
    assert "within 1e+10 units of its origin" in problem


def test_mesh_a_nanometre_across_is_refused(storage: Storage) -> None:
    """A box 1e-9 units across (all its vertices): 'spans 1e-09 units', below the 1e-06 limit."""
    v = np.array(BOX.vertices, dtype=np.float64) * 1e-8
    problem = refused(storage, "tiny", "mug.obj", obj_text(v, BOX.faces))
    assert "spans 1e-09 units along z" in problem and "1e-06 .. 1e+06" in problem, problem


def test_millimetre_mesh_offset_like_a_survey_is_still_used(storage: Storage) -> None:
    """A 80 x 80 x 100 mm box 4,000 km from its origin (survey-style offset) is within the limits and simulated."""
    v = np.array(BOX.vertices, dtype=np.float64) * 1000 + np.array([4e9, 5e8, 0.0])
    c = chain(
        storage, "survey", mugs("meshes/mug.obj"), extra={"meshes/mug.obj": obj_text(v, BOX.faces)}
    )
    assert c.code == 0, c.failure_text()
    for o in c.manifest().objects:
        assert o.volume_source == "mesh"
        assert np.isclose(o.volume_m3, 0.08 * 0.08 * 0.1 * 0.2, rtol=1e-6), o.volume_m3


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_loader_reports_non_finite_before_anything_else(bad: float) -> None:
    """The loader itself: a NaN/inf vertex in a mesh with too many triangles is reported as non-finite first."""
    data = obj_text(box_with({(0, 0): bad}), BOX.faces)
    with pytest.raises(MeshProblem) as caught:
        parse("meshes/m.obj", data, max_faces=4)
    assert "1 vertex with NaN or infinite coordinates" in str(caught.value)
    assert caught.value.hint is not None and "NaN" in caught.value.hint


def test_loader_leaves_ordinary_meshes_alone() -> None:
    """A clean box parses as before: 8 finite vertices, 12 triangles, watertight, no hint needed."""
    loaded = parse("meshes/m.obj", obj_text(np.asarray(BOX.vertices), BOX.faces), 100)
    assert loaded.vertices.shape == (8, 3) and loaded.faces.shape == (12, 3)
    assert loaded.watertight and np.isfinite(loaded.vertices).all()
