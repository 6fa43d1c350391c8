"""Close simple holes of a triangle mesh, so an almost-closed scan gets a true volume.

A hole is a loop of boundary edges (edges used by one triangle). Each loop is closed by a
fan of triangles around a new vertex at the loop's centroid, wound against the loop's
existing triangles so the result stays consistently oriented. Meshes with non-manifold
edges or pinched boundaries (a vertex starting two boundary edges) are left alone.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from bp_simready.solids import Array

IntArray = npt.NDArray[np.int32]


def boundary_edges(faces: IntArray) -> list[tuple[int, int]] | None:
    """Directed boundary edges (as their triangle runs them), or None when an edge is non-manifold."""
    directed = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    undirected = np.sort(directed, axis=1)
    keys, counts = np.unique(undirected, axis=0, return_counts=True)
    if np.any(counts > 2):
        return None
    once = {(int(a), int(b)) for (a, b), n in zip(keys, counts, strict=True) if n == 1}
    return sorted((int(a), int(b)) for a, b in directed if (min(a, b), max(a, b)) in once)


def close_holes(vertices: Array, faces: IntArray) -> tuple[Array, IntArray, int] | None:
    """(vertices, faces, holes closed), or None when the boundary is not simple loops."""
    edges = boundary_edges(faces)
    if edges is None:
        return None
    nxt: dict[int, int] = {}
    for a, b in edges:
        if a in nxt:
            return None  # pinched: two boundary edges leave one vertex
        nxt[a] = b
    new_vertices = [vertices]
    new_faces = [faces]
    count = len(vertices)
    holes = 0
    seen: set[int] = set()
    for start in sorted(nxt):
        if start in seen:
            continue
        loop = [start]
        seen.add(start)
        node = nxt[start]
        while node != start:
            if node in seen or node not in nxt:
                return None
            loop.append(node)
            seen.add(node)
            node = nxt[node]
        centre = vertices[loop].mean(axis=0)
        new_vertices.append(centre[None, :])
        fan = [(loop[(i + 1) % len(loop)], loop[i], count) for i in range(len(loop))]
        new_faces.append(np.asarray(fan, dtype=np.int32))
        count += 1
        holes += 1
    return np.concatenate(new_vertices), np.concatenate(new_faces).astype(np.int32), holes
