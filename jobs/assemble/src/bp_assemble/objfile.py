"""A small Wavefront OBJ reader: vertices and polygon faces, nothing else.

Collision meshes from simready are convex hulls written as plain OBJ; USD needs their
points and faces. Texture/normal indices (``f 1/2/3``), negative (relative) indices and
comments are handled; anything else (materials, groups, lines) is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass


class ObjError(ValueError):
    """The file is not a usable OBJ mesh."""


@dataclass(frozen=True)
class ObjMesh:
    """Vertices and faces (each a list of 0-based vertex indices)."""

    points: list[tuple[float, float, float]]
    faces: list[list[int]]


def _index(token: str, count: int, line_no: int) -> int:
    raw = token.split("/", 1)[0]
    try:
        i = int(raw)
    except ValueError:
        raise ObjError(f"line {line_no}: bad face index {token!r}") from None
    idx = i - 1 if i > 0 else count + i
    if not 0 <= idx < count or i == 0:
        raise ObjError(f"line {line_no}: face index {i} outside 1..{count}")
    return idx


def parse_obj(data: bytes) -> ObjMesh:
    """Points and faces of an OBJ file; :class:`ObjError` when it has neither."""
    points: list[tuple[float, float, float]] = []
    faces: list[list[int]] = []
    for line_no, raw in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
        parts = raw.split("#", 1)[0].split()
        if not parts:
            continue
        if parts[0] == "v":
            if len(parts) < 4:
                raise ObjError(f"line {line_no}: a vertex needs 3 coordinates")
            try:
                points.append((float(parts[1]), float(parts[2]), float(parts[3])))
            except ValueError:
                raise ObjError(f"line {line_no}: bad vertex {raw.strip()!r}") from None
        elif parts[0] == "f":
            if len(parts) < 4:
                raise ObjError(f"line {line_no}: a face needs at least 3 vertices")
            faces.append([_index(t, len(points), line_no) for t in parts[1:]])
    if not points or not faces:
        raise ObjError("no vertices or no faces")
    return ObjMesh(points, faces)
