"""Blueprint meshes: verified read, parse, convex decomposition (CoACD), fit to the object.

A mesh is read from ``scenes/<scene>/input/<mesh>`` and its sha256 checked against the one
ingest recorded; simple holes are closed (:mod:`bp_simready.holes`). It is decomposed once
per distinct mesh (in its own units, centred on its bounding box) by CoACD in a child
process with a timeout (:mod:`bp_simready.worker`), then fitted to each object that uses
it: the mesh's bounding box maps onto the object's ``size_m`` (a per-axis scale, which
keeps hulls convex). Mass properties come from the closed mesh (trimesh); for a mesh that
stays open, from its convex hulls. Hull vertices are clipped to the object's box and
written as OBJ.
"""

from __future__ import annotations

import io
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import numpy as np
import numpy.typing as npt
import trimesh
from bp_sdk.digest import sha256_bytes
from bp_sdk.errors import NotFoundError
from bp_sdk.layout import input_dir
from bp_sdk.spool import spool_dir
from bp_sdk.storage import Storage, join

from bp_simready.holes import close_holes
from bp_simready.solids import Array, MassProps, combine

IntArray = npt.NDArray[np.int32]
Hull = tuple[Array, IntArray]

FORMATS = {".obj": "obj", ".stl": "stl", ".ply": "ply", ".glb": "glb", ".gltf": "gltf"}
# CoACD effort, fixed so that a small mesh (hundreds of triangles) decomposes in about
# 1-2 s on this project's 2-core CI machine; threshold, hull cap and timeout are settings.
COACD_RESOLUTION = 1000
COACD_PREPROCESS_RESOLUTION = 30
COACD_MCTS_ITERATIONS = 60
COACD_MCTS_NODES = 10
COACD_MCTS_DEPTH = 2
COACD_MAX_HULL_VERTICES = 64
OBJ_DECIMALS = 9
# what a mesh's coordinates may be, in the file's own units (docs/SIMREADY.md): nothing
# real is outside 1e-6 .. 1e6 units across (1 km in millimetres) or 1e10 units from its
# origin (10,000 km in millimetres, where float64 still resolves 2e-6 units)
MIN_MESH_EXTENT = 1e-6
MAX_MESH_EXTENT = 1e6
MAX_MESH_COORD = 1e10
NON_FINITE_HINT = (
    "the exporter wrote NaN or infinite coordinates (a degenerate or unset vertex): remove "
    "or fix those vertices and export the mesh again"
)
ABSURD_HINT = (
    "a vertex has a garbage coordinate, or the mesh was exported in the wrong units or "
    "scale: remove stray vertices and export it in metres or millimetres"
)


class MeshProblem(Exception):  # noqa: N818 - a value carried to the problem list, not raised out
    """Why a mesh cannot be used (message for the problem list), and how to fix it when
    that is more specific than re-exporting the mesh."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class SourceMesh:
    """A verified, parsed and decomposed mesh in its own units, centred on its bounding box."""

    path: str
    sha256: str
    vertices: Array
    faces: IntArray
    extents: Array
    watertight: bool
    holes_closed: int
    hulls: list[Hull]
    seconds: float


def read_verified(storage: Storage, scene: str, path: str, expected: str | None) -> bytes:
    """The mesh's bytes; :class:`MeshProblem` when missing or not what ingest recorded."""
    key = join(input_dir(scene), path)
    try:
        data = storage.read_bytes(key)
    except NotFoundError:
        raise MeshProblem(f"mesh {path!r} is missing from input/ (ingest saw it)") from None
    actual = sha256_bytes(data)
    if expected is None or actual != expected:
        raise MeshProblem(
            f"mesh {path!r} has sha256 {actual[:16]}… but ingest recorded "
            f"{(expected or 'none')[:16]}…: the input changed after ingest"
        )
    return data


@dataclass(frozen=True)
class Loaded:
    """A parsed mesh: triangles, whether it is closed, and how many holes were closed."""

    vertices: Array
    faces: IntArray
    watertight: bool
    holes_closed: int


def parse(path: str, data: bytes, max_faces: int) -> Loaded:
    """A triangle mesh from file bytes, its simple holes closed; :class:`MeshProblem` when unusable."""
    ext = PurePosixPath(path).suffix.lower()
    if ext not in FORMATS:
        raise MeshProblem(
            f"mesh {path!r}: simready reads {', '.join(sorted(FORMATS))}, not {ext or 'no extension'}"
        )
    _check_values(path, ext, data)
    try:
        mesh = trimesh.load(io.BytesIO(data), file_type=FORMATS[ext], force="mesh")
    except Exception as exc:  # noqa: BLE001 - trimesh's parsers raise many types on malformed files
        raise MeshProblem(f"mesh {path!r} cannot be parsed ({type(exc).__name__})") from None
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
        raise MeshProblem(f"mesh {path!r} holds no triangles")
    if len(mesh.faces) > max_faces:
        raise MeshProblem(
            f"mesh {path!r} has {len(mesh.faces)} triangles, more than SIMREADY_MAX_MESH_FACES={max_faces}"
        )
    vertices, faces = _arrays(path, mesh)
    _check_extent(path, vertices)
    ext3 = vertices.max(axis=0) - vertices.min(axis=0)
    if float(np.min(ext3)) <= 1e-9 * max(float(np.max(ext3)), 1e-30):
        raise MeshProblem(f"mesh {path!r} is flat (extents {np.round(ext3, 6).tolist()})")
    if mesh.is_watertight:
        return Loaded(vertices, faces, True, 0)
    closed = close_holes(vertices, faces)
    if closed is not None:
        v2, f2, holes = closed
        if trimesh.Trimesh(v2, f2, process=False).is_watertight:
            return Loaded(v2, f2, True, holes)
    return Loaded(vertices, faces, False, 0)


def _arrays(path: str, mesh: trimesh.Trimesh) -> tuple[Array, IntArray]:
    """The mesh's vertices (n, 3) and triangles (m, 3), checked: a malformed file can give
    2D vertices or faces that name vertices it does not have (found by fuzzing)."""
    vertices = np.asarray(mesh.vertices, dtype=np.float64)
    faces = np.asarray(mesh.faces)
    if vertices.ndim != 2 or vertices.shape[1] != 3 or len(vertices) < 3:
        raise MeshProblem(f"mesh {path!r} does not hold 3D vertices (shape {list(vertices.shape)})")
    if faces.ndim != 2 or faces.shape[1] != 3 or not np.issubdtype(faces.dtype, np.integer):
        raise MeshProblem(f"mesh {path!r} does not hold triangles (shape {list(faces.shape)})")
    if int(faces.min()) < 0 or int(faces.max()) >= len(vertices):
        raise MeshProblem(
            f"mesh {path!r} has triangles that name vertices it does not have "
            f"({len(vertices)} vertices, index {int(faces.max())})"
        )
    if not np.all(np.isfinite(vertices)):
        raise MeshProblem(f"mesh {path!r} has non-finite vertices")
    return vertices, faces.astype(np.int32)


def _obj_non_finite(data: bytes) -> tuple[int, int, str, int] | None:
    """(first vertex number from 0, its line number from 1, the line, count) of the
    non-finite ``v`` lines of an OBJ file, in file order (trimesh reorders vertices that
    carry texture coordinates); None when none is found this way."""
    first: tuple[int, int, str] | None = None
    count = vertex = 0
    for line_no, line in enumerate(data.splitlines(), start=1):
        fields = line.split()
        if not fields or fields[0] != b"v":
            continue
        try:
            finite = all(np.isfinite(float(c)) for c in fields[1:4])
        except ValueError:
            finite = True  # not a number at all: trimesh's parser decides
        if not finite:
            count += 1
            first = first or (vertex, line_no, line.decode("ascii", "replace")[:80])
        vertex += 1
    return None if first is None else (*first, count)


def _check_values(path: str, ext: str, data: bytes) -> None:
    """:class:`MeshProblem` for absurd coordinates of the vertices that triangles use, as
    the file has them: trimesh's processing silently drops non-finite vertices with their
    triangles (a NaN then showed up as an impossible inertia) and merges a mesh 1e-9 across
    into one point."""
    try:
        raw = trimesh.load(io.BytesIO(data), file_type=FORMATS[ext], force="mesh", process=False)
        vertices = np.asarray(getattr(raw, "vertices", []), dtype=np.float64)
        faces = np.asarray(getattr(raw, "faces", []))
    except Exception:  # noqa: BLE001 - unreadable: parse() reports it with its own message
        return
    if vertices.ndim != 2 or vertices.shape[1] != 3 or len(vertices) == 0:
        return  # parse() says what is wrong with it
    used = np.zeros(len(vertices), dtype=bool)
    if faces.ndim == 2 and faces.size and np.issubdtype(faces.dtype, np.integer):
        used[faces[(faces >= 0) & (faces < len(vertices))]] = True
    if not used.any():
        return
    finite = np.all(np.isfinite(vertices), axis=1)
    if not np.all(finite[used]):
        _non_finite(path, ext, data, vertices, np.flatnonzero(used & ~finite))
    _check_extent(path, vertices[used])


def _non_finite(path: str, ext: str, data: bytes, vertices: Array, bad: npt.NDArray[Any]) -> None:
    """:class:`MeshProblem` naming the first non-finite vertex and how many there are."""
    first, count = int(bad[0]), len(bad)
    shown = f": {vertices[first].tolist()}"
    in_obj = _obj_non_finite(data) if ext == ".obj" else None
    if in_obj is not None:
        first, line, text, count = in_obj
        shown = f" (line {line}: {text!r})"
    elif ext == ".stl":
        shown = f" (triangle {first // 3}, corner {first % 3}){shown}"
    raise MeshProblem(
        f"mesh {path!r} has {count} vertex{'es' if count != 1 else ''} with NaN or infinite "
        f"coordinates; the first is vertex {first} counting from 0{shown}",
        NON_FINITE_HINT,
    )


def _check_extent(path: str, vertices: Array) -> None:
    """:class:`MeshProblem` for a mesh whose size or distance from its origin is absurd."""
    lo, hi = vertices.min(axis=0), vertices.max(axis=0)
    with np.errstate(over="ignore", invalid="ignore"):  # ±1e308 spans inf: still too wide
        ext3 = hi - lo
        largest = float(ext3.max())
        axis = int(np.argmax(ext3))
        i = int(np.argmax(np.abs(vertices[:, axis] - np.median(vertices[:, axis]))))
    if largest > MAX_MESH_EXTENT or largest < MIN_MESH_EXTENT:
        raise MeshProblem(
            f"mesh {path!r} spans {largest:.6g} units along {'xyz'[axis]} (from "
            f"{float(lo[axis]):.6g} to {float(hi[axis]):.6g}, e.g. the vertex at "
            f"{vertices[i].tolist()}); a mesh must span {MIN_MESH_EXTENT:g} .. "
            f"{MAX_MESH_EXTENT:g} units (its bounding box is fitted to the object's size)",
            ABSURD_HINT,
        )
    far = np.abs(vertices)
    if float(far.max()) > MAX_MESH_COORD:
        row, col = (int(x) for x in np.unravel_index(int(np.argmax(far)), far.shape))
        raise MeshProblem(
            f"mesh {path!r} lies {float(far[row, col]):.6g} units from its origin along "
            f"{'xyz'[col]} (the vertex at {vertices[row].tolist()}); a mesh must lie within "
            f"{MAX_MESH_COORD:g} units of its origin",
            ABSURD_HINT,
        )


def run_worker(
    vertices: Array, faces: IntArray, params: list[float], timeout_s: float
) -> list[Hull]:
    """CoACD in a child process (see :mod:`bp_simready.worker`), stopped after ``timeout_s``."""
    buf = io.BytesIO()
    np.savez(buf, vertices=vertices, faces=faces, params=np.asarray(params, dtype=np.float64))
    with spool_dir("coacd") as tmp:  # a killed job's folder is swept by bp cleanup
        out = tmp / "hulls.npz"
        proc = subprocess.run(  # noqa: S603 - our own module, fixed arguments, no shell
            [sys.executable, "-m", "bp_simready.worker", str(out)],
            input=buf.getvalue(),
            capture_output=True,
            timeout=timeout_s,
            check=False,
        )
        if proc.returncode != 0 or not out.is_file():
            tail = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
            raise MeshProblem(
                f"convex decomposition failed (exit {proc.returncode}) {tail[0][:200]}".rstrip()
            )
        with np.load(out, allow_pickle=False) as z:
            count = len(z.files) // 2
            return [
                (np.asarray(z[f"v{k}"], dtype=np.float64), np.asarray(z[f"f{k}"], dtype=np.int32))
                for k in range(count)
            ]


def decompose(
    path: str,
    sha256: str,
    mesh: Loaded,
    threshold: float,
    max_hulls: int,
    seed: int,
    timeout_s: float,
) -> SourceMesh:
    """Centre the mesh on its bounding box and split it into at most ``max_hulls`` convex hulls."""
    lo, hi = mesh.vertices.min(axis=0), mesh.vertices.max(axis=0)
    vertices = mesh.vertices - (lo + hi) / 2.0
    params = [
        threshold,
        max_hulls,
        seed,
        COACD_PREPROCESS_RESOLUTION,
        COACD_RESOLUTION,
        COACD_MCTS_ITERATIONS,
        COACD_MCTS_NODES,
        COACD_MCTS_DEPTH,
        COACD_MAX_HULL_VERTICES,
        0.0 if mesh.watertight else 1.0,  # skip CoACD's remeshing of open meshes: slow, bloated
    ]
    started = time.monotonic()
    try:
        raw = run_worker(vertices, mesh.faces, params, timeout_s)
    except subprocess.TimeoutExpired:
        raise MeshProblem(
            f"mesh {path!r}: convex decomposition took longer than SIMREADY_COACD_TIMEOUT_S={timeout_s:g} s"
        ) from None
    except MeshProblem as exc:
        raise MeshProblem(f"mesh {path!r}: {exc}") from None
    hulls = [(v, f) for v, f in raw if len(f) >= 4]
    if not hulls:
        raise MeshProblem(f"mesh {path!r}: convex decomposition produced no hull")
    return SourceMesh(
        path,
        sha256,
        vertices,
        mesh.faces,
        np.asarray(hi - lo, dtype=np.float64),
        mesh.watertight,
        mesh.holes_closed,
        hulls,
        time.monotonic() - started,
    )


def _props(vertices: Array, faces: IntArray, density: float, fill: float) -> MassProps:
    """Mass properties of one closed triangle mesh (any winding) whose solid fraction
    ``fill`` of ``density`` is spread uniformly through it; ``volume`` is the solid volume."""
    m = trimesh.Trimesh(vertices, faces, process=False)
    mp = m.mass_properties
    sign = 1.0 if float(mp["volume"]) >= 0 else -1.0
    volume = sign * float(mp["volume"]) * fill
    tensor = sign * np.asarray(mp["inertia"], dtype=np.float64) * density * fill
    return MassProps(
        volume, volume * density, np.asarray(mp["center_mass"], dtype=np.float64), tensor
    )


@dataclass(frozen=True)
class FittedMesh:
    """A mesh fitted to one object's box: its mass properties and collision hulls."""

    props: MassProps
    hulls: list[Hull]
    volume_from: str  # "closed mesh" or "convex hulls (mesh not watertight)"


def fit(
    source: SourceMesh, size: tuple[float, float, float], density: float, fill: float
) -> FittedMesh:
    """Scale ``source`` so its bounding box is ``size``; mass properties of ``fill`` of
    ``density``; hull vertices clipped to the box."""
    scale = np.asarray(size, dtype=np.float64) / source.extents
    half = np.asarray(size, dtype=np.float64) / 2.0
    hulls = [(np.clip(v * scale, -half, half), f) for v, f in source.hulls]
    if source.watertight:
        props = _props(source.vertices * scale, source.faces, density, fill)
        used = "closed mesh"
    else:
        props = combine([_props(v, f, density, fill) for v, f in hulls])
        used = "convex hulls (mesh not watertight)"
    if props.volume <= 0:
        raise MeshProblem(f"mesh {source.path!r} encloses no volume")
    return FittedMesh(props, hulls, used)


def obj_bytes(hull: Hull, comment: str) -> bytes:
    """A convex hull as Wavefront OBJ text (metres, object frame, 1-based faces)."""
    vertices, faces = hull
    lines = [f"# {comment}"]
    lines += [
        "v " + " ".join(f"{round(float(c), OBJ_DECIMALS) + 0.0:.{OBJ_DECIMALS}f}" for c in v)
        for v in vertices
    ]
    lines += [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in faces.tolist()]
    return ("\n".join(lines) + "\n").encode()
