"""Special files, links and sizes at the edges: a named pipe, socket or device in a scene
folder, a hard link to a file outside it, a pipe in a ``file://`` store or a dataset folder.
Every case fails promptly, naming the file; nothing is uploaded; nothing hangs (each `bp`
runs in a subprocess with a timeout, each in-process read under pytest-timeout)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from bp_cli.scenes import Limits, local_files, upload_scene, upload_scenes
from bp_sdk.errors import InputError, NotFoundError, PathError
from bp_sdk.storage import open_storage
from bp_sdk.storage.local import FILE_MODE

from tests.conftest import EXAMPLES, script

SCENE = EXAMPLES / "kitchen_counter"
INPUT = "scenes/kitchen_counter/input/"
PROMPT_S = 60  # far above what a refusal takes; a regression fails here instead of hanging


def _bp(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "300"}
    return subprocess.run(
        [script("bp"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=PROMPT_S,
        check=False,
    )


def _scene(tmp_path: Path) -> Path:
    folder = tmp_path / "scenes" / "kitchen_counter"
    shutil.copytree(SCENE, folder)
    return folder


def _store(tmp_path: Path) -> Path:
    """A store already holding the scene's input (so 'unchanged' means something)."""
    root = tmp_path / "store"
    upload_scene(open_storage(root.as_uri()), SCENE, "kitchen_counter")
    return root


def _inputs(root: Path) -> dict[str, bytes]:
    store = open_storage(root.as_uri())
    return {i.path: store.read_bytes(i.path) for i in store.list(INPUT, include_temporary=True)}


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _socket(path: Path) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(str(path))
        except OSError as err:  # AF_UNIX paths are limited to ~107 bytes
            pytest.skip(f"cannot bind a unix socket here: {err}")


def _device(path: Path) -> None:
    try:
        os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 3))  # what /dev/null is
    except PermissionError:
        pytest.skip("mknod needs CAP_MKNOD")


SPECIAL: dict[str, tuple[Callable[[Path], None], str]] = {
    "fifo": (_fifo, "named pipe (FIFO)"),
    "socket": (_socket, "socket"),
    "device": (_device, "character device"),
}


def _refused(out: subprocess.CompletedProcess[str], tmp_path: Path, *names: str) -> None:
    assert out.returncode == 3, out.stderr
    assert "Traceback" not in out.stderr
    assert "error: scene folder 'kitchen_counter' has files that cannot be uploaded" in out.stderr
    for name in names:
        assert f"  - {name}: " in out.stderr, out.stderr
    assert str(tmp_path) not in out.stderr


@pytest.mark.parametrize("kind", sorted(SPECIAL))
def test_special_mesh_is_refused_before_any_upload(kind: str, tmp_path: Path) -> None:
    """A pipe, socket or device as a mesh: `bp stage` exits 3 at once naming it; input unchanged."""
    make, what = SPECIAL[kind]
    folder, root = _scene(tmp_path), _store(tmp_path)
    before = _inputs(root)
    (folder / "meshes" / "mug.obj").unlink()
    make(folder / "meshes" / "mug.obj")
    out = _bp("stage", "ingest", "--scene", str(folder), "--storage", root.as_uri(), cwd=tmp_path)
    _refused(out, tmp_path, "meshes/mug.obj")
    assert f"meshes/mug.obj: {what}, not a regular file" in out.stderr
    assert _inputs(root) == before
    assert not (root / "scenes" / "kitchen_counter" / "runs").exists()


def test_fifo_blueprint_is_refused_by_bp_run(tmp_path: Path) -> None:
    """scene.json as a pipe: `bp run <folder>` exits 3 at once naming it; nothing uploaded."""
    folder = _scene(tmp_path)
    (folder / "scene.json").unlink()
    os.mkfifo(folder / "scene.json")
    root = tmp_path / "store"
    out = _bp("run", str(folder), "--storage", root.as_uri(), cwd=tmp_path)
    _refused(out, tmp_path, "scene.json")
    assert "scene.json: named pipe (FIFO), not a regular file" in out.stderr
    assert not (root / "scenes").exists()


def test_every_problem_of_the_folder_at_once(tmp_path: Path) -> None:
    """A pipe, a socket, an outside hard link and an outside symlink: one error lists all four."""
    folder, root = _scene(tmp_path), _store(tmp_path)
    before = _inputs(root)
    os.mkfifo(folder / "meshes" / "pipe.obj")
    _socket(folder / "s.sock")
    (tmp_path / "outside.obj").write_bytes((SCENE / "meshes" / "mug.obj").read_bytes())
    os.link(tmp_path / "outside.obj", folder / "meshes" / "hard.obj")
    (folder / "meshes" / "soft.obj").symlink_to(tmp_path / "outside.obj")
    out = _bp("stage", "ingest", "--scene", str(folder), "--storage", root.as_uri(), cwd=tmp_path)
    _refused(out, tmp_path, "meshes/pipe.obj", "s.sock", "meshes/hard.obj", "meshes/soft.obj")
    assert (
        "meshes/hard.obj: hard link to a file outside the scene folder (2 names, 1 of them inside it) (fix: copy the file in instead)"
        in out.stderr
    )
    assert "meshes/soft.obj: symbolic link pointing outside the scene folder" in out.stderr
    assert _inputs(root) == before


def test_hard_link_from_outside_is_refused(tmp_path: Path) -> None:
    """The mesh is a hard link whose other name is outside the folder: refused, copy it in."""
    folder, root = _scene(tmp_path), _store(tmp_path)
    before = _inputs(root)
    mesh = folder / "meshes" / "mug.obj"
    os.link(mesh, tmp_path / "elsewhere.obj")  # the same file, now also named outside
    out = _bp("stage", "ingest", "--scene", str(folder), "--storage", root.as_uri(), cwd=tmp_path)
    _refused(out, tmp_path, "meshes/mug.obj")
    assert "hard link to a file outside the scene folder" in out.stderr
    assert "copy the file in instead" in out.stderr
    assert _inputs(root) == before


def test_hard_links_inside_the_folder_are_uploaded(tmp_path: Path) -> None:
    """Two names of one file, both inside the folder: uploaded as two objects, ingest runs."""
    folder = _scene(tmp_path)
    os.link(folder / "meshes" / "mug.obj", folder / "meshes" / "mug_copy.obj")
    root = tmp_path / "store"
    out = _bp("stage", "ingest", "--scene", str(folder), "--storage", root.as_uri(), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    stored = _inputs(root)
    mesh = (SCENE / "meshes" / "mug.obj").read_bytes()
    assert stored[INPUT + "meshes/mug.obj"] == stored[INPUT + "meshes/mug_copy.obj"] == mesh
    assert (root / INPUT / "meshes" / "mug_copy.obj").stat().st_nlink == 1  # a copy, not a link


def test_private_input_is_stored_with_the_documented_mode(tmp_path: Path) -> None:
    """A 0600 file of the scene folder is stored 0644 (FILE_MODE), its content unchanged."""
    folder = _scene(tmp_path)
    for name in ("scene.json", "meshes/mug.obj"):
        (folder / name).chmod(0o600)
    root = tmp_path / "store"
    out = _bp("stage", "ingest", "--scene", str(folder), "--storage", root.as_uri(), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert FILE_MODE == 0o644
    for name in ("scene.json", "meshes/mug.obj"):
        stored = root / INPUT / name
        assert stat.S_IMODE(stored.stat().st_mode) == FILE_MODE
        assert stored.read_bytes() == (SCENE / name).read_bytes()


def test_batch_checks_every_scene_before_uploading_any(tmp_path: Path) -> None:
    """`bp run --batch`: a pipe in one scene stops the batch before any scene is uploaded."""
    batch = tmp_path / "batch"
    shutil.copytree(SCENE, batch / "aaa_good")
    shutil.copytree(SCENE, batch / "zzz_bad")
    (batch / "zzz_bad" / "scene.json").unlink()
    os.mkfifo(batch / "zzz_bad" / "scene.json")
    root = tmp_path / "store"
    out = _bp("run", "--batch", str(batch), "--storage", root.as_uri(), cwd=tmp_path)
    assert out.returncode == 3, out.stderr
    assert "  - zzz_bad/scene.json: named pipe (FIFO), not a regular file" in out.stderr
    assert not (root / "scenes").exists()


def test_batch_of_clean_folders_is_uploaded(tmp_path: Path) -> None:
    """upload_scenes on clean folders: every scene's input stored, ids in folder order."""
    folders = [tmp_path / "b" / "one", tmp_path / "b" / "two"]
    for folder in folders:
        shutil.copytree(SCENE, folder)
    store = open_storage((tmp_path / "store").as_uri())
    assert upload_scenes(store, folders) == ["one", "two"]
    for name in ("one", "two"):
        keys = [i.path for i in store.list(f"scenes/{name}/input/")]
        assert keys == [f"scenes/{name}/input/meshes/mug.obj", f"scenes/{name}/input/scene.json"]


def test_size_bounds_are_checked_before_any_read(tmp_path: Path) -> None:
    """A file over the per-file bound and a folder over the total: both named, one error."""
    folder = _scene(tmp_path)
    mesh = (folder / "meshes" / "mug.obj").stat().st_size
    limits = Limits(file_bytes=mesh - 1, total_bytes=mesh)
    with pytest.raises(InputError) as err:
        local_files(folder, limits)
    text = err.value.render()
    assert f"meshes/mug.obj: {mesh:,} bytes, more than the {mesh - 1:,} a file may have" in text
    assert f"bytes in all, more than the {mesh:,} a scene folder may have" in text
    assert err.value.problems[-1].where == "(all files)"


# ---------------------------------------------------------------- file:// storage


@pytest.mark.timeout(PROMPT_S)
@pytest.mark.parametrize("kind", sorted(SPECIAL))
def test_local_storage_refuses_to_read_a_special_file(kind: str, tmp_path: Path) -> None:
    """open_read/read_bytes of a pipe, socket or device key: PathError naming it, never a block."""
    make, what = SPECIAL[kind]
    store = open_storage((tmp_path / "s").as_uri())
    store.write_bytes("a/real.json", b"{}")
    make(tmp_path / "s" / "a" / "odd")
    refused = re.escape(f"refused storage object 'a/odd': a {what}, not a regular file")
    with pytest.raises(PathError, match=refused):
        store.read_bytes("a/odd")
    with pytest.raises(PathError), store.open_read("a/odd"):
        pytest.fail("open_read of a special file must raise on entry")
    assert [i.path for i in store.list("a/")] == ["a/odd", "a/real.json"]  # listed, not read
    assert store.stat("a/odd") is None
    with pytest.raises(NotFoundError):
        store.read_bytes("a")  # a folder still reads as not found


def test_pipe_in_the_store_fails_the_stage_promptly(tmp_path: Path) -> None:
    """scene.json in the store replaced by a pipe: `bp stage` and bp-ingest exit 3 naming the key."""
    root = _store(tmp_path)
    blueprint = root / INPUT / "scene.json"
    blueprint.unlink()
    os.mkfifo(blueprint)
    out = _bp(
        "stage", "ingest", "--scene", "kitchen_counter", "--storage", root.as_uri(), cwd=tmp_path
    )
    assert out.returncode == 3, out.stderr
    assert (
        "error: refused storage object 'scenes/kitchen_counter/input/scene.json': a named pipe (FIFO), not a regular file"
        in out.stderr
    )
    assert "Traceback" not in out.stderr
    env = {
        **os.environ,
        "STORAGE_URI": root.as_uri(),
        "SCENE_ID": "kitchen_counter",
        "RUN_ID": "r1",
        "LOG_FORMAT": "json",
    }
    job = subprocess.run(
        [script("bp-ingest")],
        env=env,
        capture_output=True,
        text=True,
        timeout=PROMPT_S,
        check=False,
    )
    assert job.returncode == 3, job.stderr
    marker = next((root / "scenes" / "kitchen_counter" / "runs" / "r1").rglob("_FAILURE.json"))
    assert "a named pipe (FIFO), not a regular file" in marker.read_text()
    assert not list(root.rglob("_SUCCESS.json"))


# ---------------------------------------------------------------- bp verify


def _dataset(tmp_path: Path) -> Path:
    """A small dataset folder: one real file and one pipe listed in SHA256SUMS, a stray pipe."""
    root = tmp_path / "ds"
    (root / "meta").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "data" / "a.bin").write_bytes(b"a\n")
    os.mkfifo(root / "data" / "listed.bin")
    os.mkfifo(root / "data" / "stray.bin")
    real, empty = hashlib.sha256(b"a\n").hexdigest(), hashlib.sha256(b"").hexdigest()
    sums = f"{real}  data/a.bin\n{empty}  data/listed.bin\n"
    (root / "meta" / "SHA256SUMS").write_text(sums)
    os.mkfifo(root / "meta" / "info.json")
    return root


@pytest.mark.parametrize("mode", [["--checksums-only"], []])
def test_bp_verify_reports_pipes_in_a_dataset_folder(mode: list[str], tmp_path: Path) -> None:
    """`bp verify` on a folder holding pipes: each reported by name, exit 1, no hang."""
    root = _dataset(tmp_path)
    out = _bp("verify", *mode, "--json", str(root), cwd=tmp_path)
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr
    assert (
        "data/listed.bin: could not be read (refused storage object 'data/listed.bin': a named pipe (FIFO), not a regular file)"
        in out.stdout
    )
    assert "data/stray.bin: present but not listed in meta/SHA256SUMS" in out.stdout
    assert "meta/info.json: present but not listed in meta/SHA256SUMS" in out.stdout
    if not mode:
        assert (
            "meta/info.json: cannot be read (refused storage object 'meta/info.json'" in out.stdout
        )
