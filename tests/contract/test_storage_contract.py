"""The storage contract, run identically on ``file://`` and on ``gs://`` (fake-gcs-server).

Prefix semantics (found on both backends, and pinned here): ``list(prefix)`` is a plain
string-prefix match on keys, not a folder match. ``list("a/b")`` returns ``a/b.txt``,
``a/b/c`` *and* ``a/bc``; ``list("a")`` also returns ``ab/x``, ``a-b/x`` and ``a0``.
Callers that mean a folder must end the prefix with ``/`` (``list("a/")`` never returns
``ab/x``). ``list_dirs`` always treats its argument as a folder. Results come in key
order (code-point order, so ``a-b`` < ``a.b`` < ``a/b`` < ``a0`` < ``ab``).

Not part of the shared contract: a key that is also the folder of other keys (``a/b``
and ``a/b/c``). ``gs://`` holds both; ``file://`` cannot (a file is not a directory), so
these tests never create such pairs.
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from bp_sdk.digest import sha256_stream
from bp_sdk.errors import BPError, NotFoundError, PathError, PreconditionFailed
from bp_sdk.storage import Storage
from bp_sdk.storage.base import TMP_PREFIX
from bp_sdk.storage.local import LocalStorage
from google.cloud.storage.blob import Blob

from tests.contract.io_audit import recording_io

MIB = 1 << 20
# larger than the client's 8 MiB single-request limit, so gs:// takes a resumable upload;
# not a multiple of the chunk size, so the last chunk is a short one
BIG = 9 * MIB + 12_345


class BoomError(RuntimeError):
    """Raised on purpose inside a write block."""


def _write_then_fail(storage: Storage, key: str, data: bytes) -> None:
    """Stream ``data`` into ``key`` and raise before the block ends."""
    with storage.open_write(key) as f:
        f.write(data)
        raise BoomError("stop mid-way")


def _payload(size: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(size)


def _keys(storage: Storage, prefix: str = "") -> list[str]:
    return [i.path for i in storage.list(prefix)]


@pytest.fixture
def gcs_uploads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Kinds of upload the google client makes in this test ('multipart' or 'resumable')."""
    kinds: list[str] = []
    for kind in ("multipart", "resumable"):
        original = getattr(Blob, f"_do_{kind}_upload")

        def spy(
            self: Blob, *args: object, _kind: str = kind, _orig: object = original, **kw: object
        ) -> object:
            kinds.append(_kind)
            return _orig(self, *args, **kw)  # type: ignore[operator]

        monkeypatch.setattr(Blob, f"_do_{kind}_upload", spy)
    return kinds


def _is_gs(storage: Storage) -> bool:
    return storage.uri.startswith("gs://")


def _tmp_leftovers(storage: Storage) -> list[str]:
    """Temporary files a file:// write left on disk (gs:// has none to leave)."""
    if isinstance(storage, LocalStorage):
        return sorted(p.name for p in storage.root.rglob(f"{TMP_PREFIX}*"))
    return []


# ---------------------------------------------------------------- bytes


def test_write_then_read_bytes_round_trips(storage: Storage, gcs_uploads: list[str]) -> None:
    """write_bytes then read_bytes returns exactly the bytes written (all 256 byte values)."""
    data = bytes(range(256)) * 3
    storage.write_bytes("x/y/data.bin", data)
    assert gcs_uploads == (["multipart"] if _is_gs(storage) else [])
    assert storage.read_bytes("x/y/data.bin") == data


def test_empty_object_round_trips(storage: Storage) -> None:
    """A zero-byte object exists, has size 0 and reads back as b''."""
    storage.write_bytes("empty", b"")
    assert storage.read_bytes("empty") == b""
    info = storage.stat("empty")
    assert info is not None
    assert info.size == 0
    assert storage.exists("empty")


def test_write_bytes_replaces_existing_object(storage: Storage) -> None:
    """A second write_bytes to the same key replaces the content whole."""
    storage.write_bytes("k", b"first version, longer")
    storage.write_bytes("k", b"second")
    assert storage.read_bytes("k") == b"second"
    assert _keys(storage) == ["k"]


def test_big_write_bytes_round_trips(storage: Storage, gcs_uploads: list[str]) -> None:
    """write_bytes of more than 8 MiB (a resumable upload on gs://) reads back identical."""
    data = _payload(BIG)
    storage.write_bytes("big/whole.bin", data)
    assert gcs_uploads == (["resumable"] if _is_gs(storage) else [])
    assert (
        hashlib.sha256(storage.read_bytes("big/whole.bin")).digest()
        == hashlib.sha256(data).digest()
    )


# ---------------------------------------------------------------- streams


def test_streaming_write_and_read_of_multi_mib_payload(
    storage: Storage, gcs_uploads: list[str]
) -> None:
    """open_write/open_read stream a >8 MiB payload in chunks; sha256 and size match."""
    data = _payload(BIG, seed=1)
    with storage.open_write("big/stream.bin") as f:
        for start in range(0, len(data), MIB):
            f.write(data[start : start + MIB])
    assert gcs_uploads == (["resumable"] if _is_gs(storage) else [])
    info = storage.stat("big/stream.bin")
    assert info is not None
    assert info.size == len(data)
    with storage.open_read("big/stream.bin") as f:
        digest, size = sha256_stream(f)
    assert (digest, size) == (hashlib.sha256(data).hexdigest(), len(data))


def test_open_read_streams_in_pieces(storage: Storage) -> None:
    """open_read returns a stream whose partial reads concatenate to the object."""
    data = _payload(3 * MIB + 17, seed=2)
    storage.write_bytes("piece.bin", data)
    parts = []
    with storage.open_read("piece.bin") as f:
        while chunk := f.read(1 << 16):
            assert len(chunk) <= 1 << 16
            parts.append(chunk)
    assert b"".join(parts) == data


def test_failed_open_write_leaves_no_object(storage: Storage) -> None:
    """An exception inside open_write (after >8 MiB) propagates and leaves no object at all."""
    data = _payload(BIG, seed=3)
    with pytest.raises(BoomError):
        _write_then_fail(storage, "half/written.bin", data)
    assert storage.stat("half/written.bin") is None
    assert not storage.exists("half/written.bin")
    assert _keys(storage) == []
    assert storage.list_dirs("") == []
    assert _tmp_leftovers(storage) == []
    assert list(storage.list("", include_temporary=True)) == []
    with pytest.raises(NotFoundError):
        storage.read_bytes("half/written.bin")


def test_failed_open_write_keeps_previous_content(storage: Storage) -> None:
    """A failed open_write over an existing object leaves the old content untouched."""
    storage.write_bytes("doc.txt", b"old content")
    with pytest.raises(BoomError):
        _write_then_fail(storage, "doc.txt", b"new content that must never be seen")
    assert storage.read_bytes("doc.txt") == b"old content"
    assert _tmp_leftovers(storage) == []


def test_open_write_object_invisible_until_block_ends(storage: Storage) -> None:
    """While an open_write block is running, the object does not exist yet."""
    with storage.open_write("late.bin") as f:
        f.write(b"partial")
        assert storage.stat("late.bin") is None
        assert _keys(storage) == []
        f.write(b" and the rest")
    assert storage.read_bytes("late.bin") == b"partial and the rest"


# ---------------------------------------------------------------- list / list_dirs

# No key is also a folder of other keys: the file:// backend cannot hold both 'a/b' and
# 'a/b/c' (a file cannot be a directory), and the pipeline's layout never needs it.
LAYOUT = ["a/b/c", "a/bc", "a/b.txt", "a/d/e/f", "ab/x", "a-b/x", "a.b", "a0", "z"]


@pytest.fixture
def populated(storage: Storage) -> Storage:
    """Storage holding LAYOUT (written in shuffled order) with distinct sizes."""
    keys = list(LAYOUT)
    random.Random(5).shuffle(keys)
    for key in keys:
        storage.write_bytes(key, key.encode() * 2)
    return storage


def test_list_everything_in_key_order(populated: Storage) -> None:
    """list('') returns every object once, sorted by key (code-point order), with sizes."""
    infos = list(populated.list(""))
    assert [i.path for i in infos] == sorted(LAYOUT)
    assert [i.path for i in infos] == [
        "a-b/x",
        "a.b",
        "a/b.txt",
        "a/b/c",
        "a/bc",
        "a/d/e/f",
        "a0",
        "ab/x",
        "z",
    ]
    assert all(i.size == 2 * len(i.path) for i in infos)


def test_list_default_prefix_is_everything(populated: Storage) -> None:
    """list() without a prefix equals list('')."""
    assert _keys(populated) == _keys(populated, "")


def test_list_prefix_is_a_string_prefix(populated: Storage) -> None:
    """A prefix without a trailing '/' matches by string: 'a/b' also returns 'a/bc', 'a/b.txt'."""
    assert _keys(populated, "a/b") == ["a/b.txt", "a/b/c", "a/bc"]
    assert _keys(populated, "a") == [
        "a-b/x",
        "a.b",
        "a/b.txt",
        "a/b/c",
        "a/bc",
        "a/d/e/f",
        "a0",
        "ab/x",
    ]
    assert _keys(populated, "a/b.txt") == ["a/b.txt"]


def test_list_folder_prefix_excludes_lookalike_siblings(populated: Storage) -> None:
    """A prefix ending in '/' is a folder: 'a/' never returns 'ab/x', 'a-b/x' or 'a0'."""
    assert _keys(populated, "a/") == ["a/b.txt", "a/b/c", "a/bc", "a/d/e/f"]
    assert _keys(populated, "a/b/") == ["a/b/c"]
    assert _keys(populated, "ab/") == ["ab/x"]


def test_list_missing_prefix_is_empty(populated: Storage) -> None:
    """A prefix that matches nothing yields nothing (no error), also below a file key."""
    assert _keys(populated, "nothing/") == []
    assert _keys(populated, "zz") == []
    assert _keys(populated, "z/") == []
    assert _keys(populated, "a/b.txt/") == []


def test_list_dirs_gives_immediate_child_folders(populated: Storage) -> None:
    """list_dirs names the direct sub-folders only (not files, not grandchildren), sorted."""
    assert populated.list_dirs("") == ["a", "a-b", "ab"]
    assert populated.list_dirs("a/") == ["b", "d"]
    assert populated.list_dirs("a") == ["b", "d"]  # a folder, even without the '/'
    assert populated.list_dirs("a/d/") == ["e"]
    assert populated.list_dirs("a/b/") == []  # 'a/b/c' is a file, not a folder
    assert populated.list_dirs("nothing/") == []


def test_delete_prunes_emptied_folders(storage: Storage) -> None:
    """After the last object of a folder is deleted, the folder is gone from list_dirs."""
    storage.write_bytes("d/e/f", b"1")
    storage.write_bytes("keep/x", b"2")
    assert storage.list_dirs("") == ["d", "keep"]
    storage.delete("d/e/f")
    assert storage.list_dirs("") == ["keep"]
    assert storage.list_dirs("d/") == []
    assert _keys(storage) == ["keep/x"]


def test_storages_side_by_side_do_not_see_each_other(
    storage: Storage, open_same: Callable[[str], Storage]
) -> None:
    """A root whose name extends this one's ('<root>-sibling') shares no keys with it."""
    sibling = open_same(storage.uri + "-sibling")
    storage.write_bytes("mine", b"1")
    sibling.write_bytes("theirs", b"2")
    sibling.write_bytes("mine", b"other")
    assert _keys(storage) == ["mine"]
    assert _keys(sibling) == ["mine", "theirs"]
    assert storage.read_bytes("mine") == b"1"
    sibling.delete("mine")
    assert storage.read_bytes("mine") == b"1"


def test_object_info_path_is_relative_to_root(storage: Storage) -> None:
    """list and stat report keys relative to the storage root (no bucket or prefix)."""
    storage.write_bytes("p/q.txt", b"abc")
    info = storage.stat("p/q.txt")
    assert info is not None
    assert info.path == "p/q.txt"
    assert [i.path for i in storage.list("p/")] == ["p/q.txt"]


# ---------------------------------------------------------------- stat / exists / delete


def test_stat_reports_size_and_aware_update_time(storage: Storage) -> None:
    """stat gives the size and a timezone-aware update time close to now."""
    before = datetime.now(tz=UTC)
    storage.write_bytes("s/t", b"12345")
    info = storage.stat("s/t")
    assert info is not None
    assert info.size == 5
    assert info.updated.tzinfo is not None
    assert abs(info.updated - before) < timedelta(minutes=5)
    listed = next(iter(storage.list("s/")))
    assert (listed.path, listed.size) == ("s/t", 5)


def test_stat_and_exists_on_missing_keys(storage: Storage) -> None:
    """stat is None and exists is False for a missing key, a folder key, and a key below a file."""
    storage.write_bytes("folder/file", b"x")
    for key in ["missing", "folder", "folder/file/below", "no/such/deep/key"]:
        assert storage.stat(key) is None, key
        assert storage.exists(key) is False, key
    assert storage.exists("folder/file") is True


def test_delete_removes_only_that_object(storage: Storage) -> None:
    """delete removes the object; look-alike neighbours ('a/bc', 'a/b-c', 'a/b.x') survive."""
    for key in ["a/b", "a/bc", "a/b-c", "a/b.x"]:
        storage.write_bytes(key, b"x")
    storage.delete("a/b")
    assert not storage.exists("a/b")
    assert _keys(storage) == ["a/b-c", "a/b.x", "a/bc"]


def test_delete_missing_is_ok(storage: Storage) -> None:
    """delete of a key that never existed, or was already deleted, does not raise."""
    storage.delete("never/was")
    storage.write_bytes("once", b"x")
    storage.delete("once")
    storage.delete("once")
    assert _keys(storage) == []


def test_delete_of_a_folder_or_below_a_file_is_a_no_op(storage: Storage) -> None:
    """delete of a key that is only a folder of other keys, or lies below a file, is a no-op."""
    storage.write_bytes("dir/child", b"c")
    storage.write_bytes("leaf", b"l")
    storage.delete("dir")  # no object 'dir' exists: nothing to do
    storage.delete("leaf/below")  # no object 'leaf/below' exists: nothing to do
    assert _keys(storage) == ["dir/child", "leaf"]


def test_delete_accepts_reserved_temp_names(storage: Storage) -> None:
    """delete takes a key with the reserved temp prefix (cleanup removes write leftovers) as a no-op."""
    storage.write_bytes("a/real", b"x")
    storage.delete(f"a/{TMP_PREFIX}leftover")
    storage.delete(f"{TMP_PREFIX}leftover")
    assert _keys(storage) == ["a/real"]


# ---------------------------------------------------------------- create_if_absent


def test_create_if_absent_creates(storage: Storage) -> None:
    """create_if_absent on a free key writes the object."""
    storage.create_if_absent("rec/_SUCCESS.json", b'{"a": 1}')
    assert storage.read_bytes("rec/_SUCCESS.json") == b'{"a": 1}'


def test_create_if_absent_conflict_keeps_original(storage: Storage, gcs_uploads: list[str]) -> None:
    """A second create_if_absent raises PreconditionFailed and leaves the first content."""
    storage.create_if_absent("rec", b"original")
    with pytest.raises(PreconditionFailed):
        storage.create_if_absent("rec", b"intruder, with other bytes")
    # the emulator honours if_generation_match only on single-request (multipart) uploads
    assert gcs_uploads == (["multipart", "multipart"] if _is_gs(storage) else [])
    assert storage.read_bytes("rec") == b"original"
    assert _keys(storage) == ["rec"]
    assert _tmp_leftovers(storage) == []


def test_create_if_absent_conflicts_with_plain_write(storage: Storage) -> None:
    """create_if_absent also refuses a key that write_bytes created; identical bytes too."""
    storage.write_bytes("rec", b"same")
    with pytest.raises(PreconditionFailed):
        storage.create_if_absent("rec", b"same")
    assert storage.read_bytes("rec") == b"same"


def test_create_if_absent_after_delete_succeeds(storage: Storage) -> None:
    """Once the object is deleted, create_if_absent may create it again."""
    storage.create_if_absent("rec", b"one")
    storage.delete("rec")
    storage.create_if_absent("rec", b"two")
    assert storage.read_bytes("rec") == b"two"


def test_create_if_absent_has_exactly_one_winner(
    storage: Storage, open_same: Callable[[str], Storage]
) -> None:
    """Of 8 concurrent create_if_absent calls on one key, exactly one wins; its bytes stay."""
    writers = [open_same(storage.uri) for _ in range(8)]
    barrier = threading.Barrier(len(writers))

    def attempt(i: int) -> bool:
        barrier.wait(timeout=30)
        try:
            writers[i].create_if_absent("race/_SUCCESS.json", f"writer {i}".encode())
        except PreconditionFailed:
            return False
        return True

    with ThreadPoolExecutor(len(writers)) as pool:
        won = list(pool.map(attempt, range(len(writers)), timeout=120))
    assert won.count(True) == 1
    assert storage.read_bytes("race/_SUCCESS.json") == f"writer {won.index(True)}".encode()
    assert _tmp_leftovers(storage) == []


# ---------------------------------------------------------------- missing objects


def test_missing_reads_raise_not_found(storage: Storage) -> None:
    """read_bytes and open_read of a missing key raise NotFoundError (an SDK error)."""
    storage.write_bytes("folder/file", b"x")
    for key in ["missing", "folder", "no/such/key"]:
        with pytest.raises(NotFoundError):
            storage.read_bytes(key)
        with pytest.raises(NotFoundError), storage.open_read(key):
            pytest.fail("open_read of a missing key must raise on entry")


def test_read_after_delete_raises_not_found(storage: Storage) -> None:
    """A deleted object reads as NotFoundError."""
    storage.write_bytes("gone", b"x")
    storage.delete("gone")
    with pytest.raises(NotFoundError):
        storage.read_bytes("gone")


# ---------------------------------------------------------------- path confinement

BAD_PATHS = {
    "dotdot": "../escape",
    "dotdot-inner": "a/../../b",
    "dotdot-alone": "..",
    "dot": "./a",
    "absolute": "/etc/passwd",
    "drive": "C:/Windows",
    "backslash": "a\\b",
    "backslash-dotdot": "..\\..\\x",
    "nul": "a\x00b",
    "empty": "",
    "empty-segment": "a//b",
    "trailing-slash": "a/",
    "space": "a b",
    "non-ascii": "caf\u00e9",
    "colon": "a:b",
    "star": "a*",
    "percent": "%2e%2e/x",
    "newline": "a\nb",
    "trailing-newline": "a\n",
    "segment-trailing-newline": "x/a\n/b",
    "tilde": "~/x",
    "reserved-temp": f"{TMP_PREFIX}abc",
    "reserved-temp-inner": f"a/{TMP_PREFIX}1/b",
    "segment-too-long": "a/" + "b" * 256,
    "path-too-long": "/".join(["abcdefghi"] * 110),
}
# list/list_dirs take a prefix: '' (everything) and a trailing '/' are allowed there
_PREFIX_OK = {"", "a/"}


def _operations(storage: Storage, path: str) -> list[tuple[str, Callable[[], object]]]:
    ops: list[tuple[str, Callable[[], object]]] = [
        ("read_bytes", lambda: storage.read_bytes(path)),
        ("open_read", lambda: storage.open_read(path).__enter__()),
        ("write_bytes", lambda: storage.write_bytes(path, b"x")),
        ("open_write", lambda: storage.open_write(path).__enter__()),
        ("create_if_absent", lambda: storage.create_if_absent(path, b"x")),
        ("stat", lambda: storage.stat(path)),
        ("exists", lambda: storage.exists(path)),
    ]
    if TMP_PREFIX not in path:  # delete may remove leftovers of interrupted writes (cleanup)
        ops.append(("delete", lambda: storage.delete(path)))
    if path not in _PREFIX_OK:
        ops += [
            ("list", lambda: list(storage.list(path))),
            ("list_dirs", lambda: storage.list_dirs(path)),
        ]
    return ops


def _tree(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


@pytest.mark.parametrize("path", list(BAD_PATHS.values()), ids=list(BAD_PATHS))
def test_unsafe_paths_are_refused_before_any_io(
    storage: Storage, open_same: Callable[[str], Storage], tmp_path: Path, path: str
) -> None:
    """Every operation refuses an unsafe key with PathError, with no file or network I/O."""
    fresh = open_same(
        storage.uri
    )  # a new client with no pooled connection: any request must connect
    before = _tree(tmp_path)
    for name, op in _operations(fresh, path):
        with recording_io() as events, pytest.raises(PathError) as info:
            op()
        assert events == [], f"{name}({path!r}) did I/O before refusing: {events}"
        assert "refused storage path" in str(info.value), name
        assert isinstance(info.value, BPError)
        assert info.value.exit_code == 3
    assert _tree(tmp_path) == before
    assert _keys(storage) == []


@pytest.mark.parametrize("path", ["a", "A-Z_0.9", "...", ".hidden", "x/y-z/_w.json", "a" * 255])
def test_safe_odd_looking_paths_work(storage: Storage, path: str) -> None:
    """Allowed characters ([A-Za-z0-9._-], including '...' and dot-files) round-trip."""
    storage.write_bytes(path, path.encode())
    assert storage.read_bytes(path) == path.encode()
    assert _keys(storage) == [path]


def test_io_recorder_sees_real_io(storage: Storage, open_same: Callable[[str], Storage]) -> None:
    """Sanity check of the confinement test: a valid operation on a fresh handle does record I/O."""
    fresh = open_same(storage.uri)
    with recording_io() as events, pytest.raises(NotFoundError):
        fresh.read_bytes("some/key")
    assert events, "the audit hook recorded nothing for a real read"


# ------------------------------------------------------------------ compare-and-swap (leases)
def test_replace_if_generation_zero_creates_only_when_absent(storage: Storage) -> None:
    """Generation 0 means "only if absent": the first write wins, the second is refused."""
    gen = storage.replace_if_generation("leases/a.json", b"one", 0)
    assert gen and storage.read_bytes("leases/a.json") == b"one"
    with pytest.raises(PreconditionFailed):
        storage.replace_if_generation("leases/a.json", b"two", 0)
    assert storage.read_bytes("leases/a.json") == b"one"


def test_replace_if_generation_swaps_only_the_expected_generation(storage: Storage) -> None:
    """A write naming the current generation replaces it; a stale generation is refused."""
    first = storage.replace_if_generation("leases/b.json", b"one", 0)
    info = storage.stat("leases/b.json")
    assert info is not None and info.generation == first
    second = storage.replace_if_generation("leases/b.json", b"two", first)
    assert second != first and storage.read_bytes("leases/b.json") == b"two"
    with pytest.raises(PreconditionFailed):
        storage.replace_if_generation("leases/b.json", b"three", first)
    assert storage.read_bytes("leases/b.json") == b"two"


def test_delete_if_generation(storage: Storage) -> None:
    """Delete only the expected generation; a missing object fails the precondition too."""
    gen = storage.replace_if_generation("leases/c.json", b"x", 0)
    with pytest.raises(PreconditionFailed):
        storage.delete_if_generation("leases/c.json", gen + 1)
    assert storage.exists("leases/c.json")
    storage.delete_if_generation("leases/c.json", gen)
    assert not storage.exists("leases/c.json")
    with pytest.raises(PreconditionFailed):
        storage.delete_if_generation("leases/c.json", gen)


def test_compare_and_swap_has_exactly_one_winner(storage: Storage) -> None:
    """Eight writers racing to replace the same generation: exactly one succeeds."""
    from concurrent.futures import ThreadPoolExecutor

    gen = storage.replace_if_generation("leases/d.json", b"start", 0)

    def attempt(k: int) -> bool:
        try:
            storage.replace_if_generation("leases/d.json", f"w{k}".encode(), gen)
        except PreconditionFailed:
            return False
        return True

    with ThreadPoolExecutor(8) as pool:
        wins = list(pool.map(attempt, range(8)))
    assert sum(wins) == 1
    assert storage.read_bytes("leases/d.json") == f"w{wins.index(True)}".encode()
