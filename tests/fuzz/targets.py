"""The fuzz targets: each takes bytes, runs real code on them, and raises :class:`Finding`
on a crash or a broken guarantee. Documented outcomes are quiet.

* ``blueprint``: the bytes are ``scene.json``; the real ingest stage runs on them
  (``run_stage``, in-process, file:// storage). Documented: exit 0 with a commit, or exit
  3 with an ``InputError`` marker and no commit. A crash is any other exit (an unexpected
  exception becomes exit 1); a commit from bad input is a commit of bytes that a strict,
  independent JSON reader refuses, or whose manifest does not hold every object.
* ``mesh``: the bytes are a mesh file (format sniffed as a loader would: glTF/GLB magic,
  ``ply``, binary/ASCII STL, else OBJ); simready's loader parses it and fits it to a box.
  Documented: :class:`~bp_simready.meshes.MeshProblem`; anything it returns must be a
  usable mesh (finite vertices, faces in range, not flat).
* ``dataset``: the bytes are a mutation program (:mod:`tests.fuzz.mutate`) applied to a
  valid exported dataset, then ``bp verify``'s ``verify_dataset`` runs on it. Documented:
  a report (never an exception); a dataset whose bytes changed without SHA256SUMS being
  rewritten must not verify.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tests.fuzz.mutate import apply_program, content_changed

MAX_FACES = 20_000
MESH = b"v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 1 3 2\nf 1 2 4\nf 1 4 3\nf 2 3 4\n"


class Finding(Exception):
    """A crash, a hang or a broken guarantee, with what happened."""


def strict_json(data: bytes) -> Any:
    """An independent, strict reading of a blueprint: UTF-8 (a BOM allowed), no NaN or
    Infinity, no duplicate keys, finite numbers. ValueError (or RecursionError) otherwise."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in items]
        if len(set(keys)) != len(keys):
            raise ValueError("duplicate key")
        return dict(items)

    def constant(name: str) -> Any:
        raise ValueError(name)

    def number(text: str) -> float:
        value = float(text)
        if not np.isfinite(value):
            raise ValueError("not finite")
        return value

    text = data.decode("utf-8").removeprefix("\ufeff")
    return json.loads(text, parse_constant=constant, object_pairs_hook=pairs, parse_float=number)


class BlueprintTarget:
    """scene.json → the real ingest stage; every outcome checked."""

    name = "blueprint"

    def __init__(self, work: Path) -> None:
        from bp_sdk.storage import open_storage

        self.root = work / "blueprint-store"
        self.storage = open_storage(self.root.as_uri())
        self.storage.write_bytes("scenes/fz/input/meshes/m.obj", MESH)
        self.devnull = Path(os.devnull).open("w")  # noqa: SIM115 - lives as long as the target
        self.count = 0

    def close(self) -> None:
        """Release the sink the jobs' logs go to."""
        self.devnull.close()

    def __call__(self, data: bytes) -> None:
        from bp_ingest.stage import IngestStage
        from bp_sdk.runner import run_stage

        self.count += 1
        run = f"r{self.count}"
        self.storage.write_bytes("scenes/fz/input/scene.json", data)
        env = {"STORAGE_URI": self.storage.uri, "SCENE_ID": "fz", "RUN_ID": run,
               "CLOUD_RUN_EXECUTION": "fz", "LOG_LEVEL": "ERROR"}
        try:
            with contextlib.redirect_stderr(self.devnull):
                code = run_stage(IngestStage(), env)
            self._check(code, data, run)
        finally:
            shutil.rmtree(self.root / "scenes/fz/runs", ignore_errors=True)

    def _check(self, code: int, data: bytes, run: str) -> None:
        from bp_contracts.scene_manifest import SceneManifest
        from bp_sdk.commit import read_committed
        from bp_sdk.layout import Unit
        from bp_sdk.markers import list_markers

        units = read_committed(self.storage, "fz", run, "ingest")
        markers = list_markers(self.storage, Unit("fz", run, "ingest"))
        if code not in (0, 3):
            m = markers[-1] if markers else None
            detail = f"{m.error_type}: {m.message}\n{m.traceback}" if m else "no marker"
            raise Finding(f"ingest exited {code} (crash): {detail}")
        if code == 3:
            if units is not None:
                raise Finding("exit 3 but a commit record exists")
            if not markers or markers[-1].error_type != "InputError":
                raise Finding(f"exit 3 without an InputError marker: {markers}")
            return
        if units is None:
            raise Finding("exit 0 without a commit record")
        try:
            doc = strict_json(data)
        except (ValueError, RecursionError, UnicodeDecodeError) as exc:
            raise Finding(f"committed a blueprint a strict JSON reader refuses: {exc}") from None
        manifest = units[0].read_model("scene_manifest.json", SceneManifest)
        objects = doc.get("objects") if isinstance(doc, dict) else None
        ids = [o.get("id") for o in objects] if isinstance(objects, list) else None
        if ids is None or [o.id for o in manifest.objects] != ids:
            raise Finding("the committed manifest does not hold exactly the blueprint's objects")
        for name in units[0].record.files:
            units[0].read_bytes(name)


def sniff(data: bytes) -> str:
    """The mesh format a loader would take these bytes for."""
    head = data[:512].lstrip()
    if data[:4] == b"glTF":
        return "glb"
    if head.startswith(b"{"):
        return "gltf"
    if data[:3] == b"ply":
        return "ply"
    if len(data) >= 84 and 84 + 50 * int.from_bytes(data[80:84], "little") == len(data):
        return "stl"
    if head[:5].lower() == b"solid":
        return "stl"
    return "obj"


def mesh_target(data: bytes) -> None:
    """Parse with simready's loader; what it returns must be usable, and fit to a box."""
    from bp_simready.meshes import MeshProblem, SourceMesh, fit, parse

    path = f"mesh.{sniff(data)}"
    try:
        loaded = parse(path, data, MAX_FACES)
    except MeshProblem:
        return
    v, f = loaded.vertices, loaded.faces
    if v.ndim != 2 or v.shape[1] != 3 or f.ndim != 2 or f.shape[1] != 3 or len(f) == 0:
        raise Finding(f"parse returned arrays of shapes {v.shape}, {f.shape}")
    if not np.isfinite(v).all():
        raise Finding("parse returned non-finite vertices")
    if f.min() < 0 or f.max() >= len(v):
        raise Finding("parse returned faces that index missing vertices")
    extents = v.max(axis=0) - v.min(axis=0)
    if not (extents > 0).all():
        raise Finding(f"parse returned a flat mesh {extents}")
    lo, hi = v.min(axis=0), v.max(axis=0)
    centred = v - (lo + hi) / 2.0
    source = SourceMesh(path, "0" * 64, centred, f, extents, loaded.watertight,
                        loaded.holes_closed, [(centred, f)], 0.0)
    try:
        fitted = fit(source, (0.1, 0.08, 0.12), 800.0, 1.0)
    except MeshProblem:
        return
    props = fitted.props
    if not (np.isfinite(props.mass) and props.mass > 0 and np.isfinite(props.tensor).all()):
        raise Finding(f"fit gave unusable mass properties: mass {props.mass}")


class DatasetTarget:
    """A mutation program applied to a valid dataset, then verify_dataset."""

    name = "dataset"

    def __init__(self, work: Path, base: Path) -> None:
        self.base = {p.relative_to(base).as_posix(): p.read_bytes()
                     for p in sorted(base.rglob("*")) if p.is_file()}
        self.folder = work / "dataset"

    def __call__(self, data: bytes) -> None:
        from bp_dataset.root import open_target
        from bp_dataset.verify import verify_dataset

        files, resigned = apply_program(self.base, data)
        shutil.rmtree(self.folder, ignore_errors=True)
        for rel, content in files.items():
            path = self.folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        self.folder.mkdir(exist_ok=True)
        root = open_target(str(self.folder))
        try:
            report = verify_dataset(root, workers=2)
        except Exception as exc:
            raise Finding(f"verify_dataset raised {type(exc).__name__}: {exc}") from exc
        finally:
            root.close()
        report.to_json()
        if content_changed(files, self.base) and not resigned and report.passed:
            raise Finding("a dataset whose files changed (SHA256SUMS not rewritten) verified")


def selftest(data: bytes) -> None:
    """A target with planted faults, to show that the engine reports each kind: a crash
    (``FUZZ…`` mutated to ``BOOM``), a hang, a hang in native code, a fatal signal."""
    import signal
    import time

    if data[:4] == b"BOOM":
        raise Finding("planted crash")
    if data[:4] == b"HANG":
        while True:
            pass
    if data[:6] == b"NATIVE":
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGALRM])  # as if stuck in C
        time.sleep(60)
    if data[:4] == b"SEGV":
        os.kill(os.getpid(), signal.SIGSEGV)


Target = Callable[[bytes], None]
