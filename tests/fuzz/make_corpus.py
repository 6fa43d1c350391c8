"""Regenerate the committed seed corpora: ``python -m tests.fuzz.make_corpus``.

blueprint: the example scenes and small valid and broken blueprints; mesh: a closed and an
open mesh in every format simready reads; dataset: mutation programs (no-op, each kind of
damage, with and without SHA256SUMS rewritten).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import trimesh

from tests.fuzz.mutate import program

HERE = Path(__file__).resolve().parent / "corpus"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "scenes"


def _write(folder: str, name: str, data: bytes) -> None:
    path = HERE / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _obj(name: str, category: str, size: list[float], z: float, **extra: object) -> dict[str, object]:
    return {"id": name, "category": category, "size": size, "pose": {"position": [0.0, 0.0, z]}, **extra}


def blueprints() -> None:
    for scene in sorted(p for p in EXAMPLES.iterdir() if (p / "scene.json").is_file()):
        text = (scene / "scene.json").read_text().replace("meshes/mug.obj", "meshes/m.obj")
        _write("blueprint", f"example-{scene.name}.json", text.encode())
    table = _obj("table", "table", [1.2, 0.8, 0.75], 0.375)
    mug = _obj("mug", "mug", [0.09, 0.09, 0.1], 0.8, support="table", mesh="meshes/m.obj")
    base = {"schema_version": "1", "name": "t", "units": "m", "up_axis": "z", "objects": [table, mug]}
    _write("blueprint", "minimal.json", json.dumps(base).encode())
    yup = {**base, "units": "cm", "up_axis": "y", "robot_base": {"position": [0, 0, -50], "yaw_deg": 90}}
    _write("blueprint", "y-up-cm-robot.json", json.dumps(yup).encode())
    _write("blueprint", "bom-quaternion.json", b"\xef\xbb\xbf" + json.dumps(
        {**base, "objects": [{**table, "pose": {"position": [0, 0, 0.4], "orientation_wxyz": [2, 0, 0, 0]}}]}).encode())
    _write("blueprint", "duplicate-key.json", b'{"schema_version": "1", "name": "a", "name": "b", "units": "m", "up_axis": "z", "objects": []}')
    _write("blueprint", "nan.json", json.dumps(base).replace("0.75", "NaN").encode())
    _write("blueprint", "deep.json", b'{"schema_version": "1", "x": ' + b"[" * 40 + b"]" * 40 + b"}")
    _write("blueprint", "cycle.json", json.dumps({**base, "objects": [
        {**table, "support": "mug"}, {**mug, "mesh": None}]}).encode())
    _write("blueprint", "truncated.json", json.dumps(base).encode()[:90])


def meshes() -> None:
    closed = trimesh.creation.box(extents=[1.0, 0.5, 0.25])
    open_box = trimesh.Trimesh(closed.vertices, closed.faces[:-1], process=False)
    for label, mesh in (("box", closed), ("open", open_box)):
        for ext in ("obj", "stl", "ply", "glb"):
            data = mesh.export(file_type=ext)
            _write("mesh", f"{label}.{ext}", data if isinstance(data, bytes) else data.encode())
    _write("mesh", "box-ascii.stl", closed.export(file_type="stl_ascii").encode())
    _write("mesh", "box-ascii.ply", closed.export(file_type="ply", encoding="ascii"))
    gltf = closed.export(file_type="gltf", embed_buffers=True)
    _write("mesh", "box.gltf", gltf["model.gltf"] if isinstance(gltf, dict) else gltf)
    tetra = "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 1 3 2\nf 1 2 4\nf 1 4 3\nf 2 3 4\n"
    _write("mesh", "tetra.obj", tetra.encode())
    buf = io.BytesIO()
    np.savetxt(buf, np.zeros((2, 3)), fmt="v %g %g %g")
    _write("mesh", "no-faces.obj", buf.getvalue())


def datasets() -> None:
    seeds = {
        "noop": program(False),
        "noop-resigned": program(True),
        "flip-data": program(False, ("flip", 1, 30000, b"\x10")),
        "truncate-video-resigned": program(True, ("truncate", 13, 40000, b"")),
        "delete-info": program(False, ("delete", 4, 0, b"")),
        "add-temp": program(False, ("add", 0, 0, b".bp-tmp-x")),
        "info-fps-resigned": program(True, ("json", 4, 3, b"0")),
        "episodes-garbage-resigned": program(True, ("replace", 3, 0, b"PAR1garbagePAR1")),
        "video-header-resigned": program(True, ("overwrite", 14, 10, b"\x00" * 16)),
        "hdf5-insert-resigned": program(True, ("insert", 12, 200, b"\xff" * 8)),
        "stats-edit-resigned": program(True, ("json", 10, 500, b'{"min": [1e309]}')),
    }
    for name, data in seeds.items():
        _write("dataset", f"{name}.bin", data)


if __name__ == "__main__":
    blueprints()
    meshes()
    datasets()
