"""Mutations: libFuzzer-style byte mutators (with a dictionary per target) for the coverage
loop, and the dataset mutation programs.

A dataset program is bytes: a flag byte (bit 0: rewrite ``meta/SHA256SUMS`` afterwards, as
a careless re-packager would, so that only the content checks can notice), then up to
eight operations of five bytes and a payload each::

    op  file  pos(2, big-endian)  len  payload[len]

``op`` picks flip / truncate / insert / overwrite / delete / add / replace / json, ``file``
picks one of the dataset's files (in name order), ``pos`` a position (scaled to the file).
"""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

OPS = ("flip", "truncate", "insert", "overwrite", "delete", "add", "replace", "json")
MAX_OPS = 8
SUMS = "meta/SHA256SUMS"
_NAME_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789._-/ é"

INTERESTING = [0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, 2**63 - 1]
DICTIONARIES: dict[str, list[bytes]] = {
    "selftest": [b"BOOM", b"HANG", b"NATIVE", b"SEGV"],
    "blueprint": [
        b'"objects"', b'"id"', b'"category"', b'"size"', b'"pose"', b'"position"',
        b'"orientation_wxyz"', b'"support"', b'"mesh"', b'"units"', b'"up_axis"', b'"name"',
        b'"schema_version"', b'"robot_base"', b'"yaw_deg"', b'"floor"', b'"meshes/m.obj"',
        b"{", b"}", b"[", b"]", b",", b":", b"null", b"true", b"1e309", b"-0", b"NaN",
        b"Infinity", b"1e-320", b"99999999999999999999", b'"\\u0000"', b'"\\ud800"', b"\xef\xbb\xbf",
        b'[[[[[[[[[[[[[[[[[[', b'"cm"', b'"y"', b'"table"', b'"mug"',
    ],
    "mesh": [
        b"v ", b"vn ", b"vt ", b"f ", b"o ", b"g ", b"usemtl ", b"mtllib x.mtl\n", b"f 1 2 3\n",
        b"f -1 -2 -3\n", b"f 1/1/1 2/2/2 3/3/3\n", b"v nan 0 0\n", b"v 1e308 0 0\n",
        b"ply\n", b"format ascii 1.0\n", b"format binary_little_endian 1.0\n",
        b"element vertex 3\n", b"element face 1\n", b"element vertex 4294967295\n",
        b"property float x\n", b"property list uchar int vertex_indices\n", b"end_header\n",
        b"solid ", b"facet normal 0 0 1\n", b"outer loop\n", b"vertex 0 0 0\n", b"endloop\n",
        b"endfacet\n", b"endsolid\n", b"glTF", b'"accessors"', b'"bufferViews"', b'"buffers"',
        b'"componentType": 5126', b'"count": 1000000000', b'"byteOffset": -1',
        b'"uri": "data:application/octet-stream;base64,', b'"mode": 4', b'"indices"',
    ],
}


def mutate(data: bytes, rng: random.Random, dictionary: list[bytes], other: bytes,
           max_len: int) -> bytes:
    """One to four stacked byte-level mutations of ``data`` (``other``: for splicing)."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        _one(buf, rng, dictionary, other)
    return bytes(buf[:max_len])


def _one(buf: bytearray, rng: random.Random, dictionary: list[bytes], other: bytes) -> None:
    n = len(buf)
    kind = rng.randrange(9)
    at = rng.randrange(n + 1)
    if kind == 0 and n:  # flip a bit
        i = rng.randrange(n)
        buf[i] ^= 1 << rng.randrange(8)
    elif kind == 1 and n:  # set a byte
        buf[rng.randrange(n)] = rng.randrange(256)
    elif kind == 2:  # insert random bytes
        buf[at:at] = rng.randbytes(rng.randint(1, 8))
    elif kind == 3 and n:  # erase a range
        end = min(n, at + rng.randint(1, 32))
        del buf[at:end]
    elif kind == 4 and n:  # duplicate a range
        start = rng.randrange(n)
        piece = buf[start : start + rng.randint(1, 64)]
        buf[at:at] = piece
    elif kind == 5 and dictionary:  # insert a dictionary token
        buf[at:at] = rng.choice(dictionary)
    elif kind == 6 and dictionary and n:  # overwrite with a token
        token = rng.choice(dictionary)
        buf[at : at + len(token)] = token
    elif kind == 7 and other:  # splice with another input
        cut = rng.randrange(len(other) + 1)
        buf[at:] = other[cut:]
    else:  # an interesting number as text
        digits = [i for i, c in enumerate(buf) if 48 <= c <= 57]
        text = str(rng.choice(INTERESTING) * rng.choice([1, -1])).encode()
        if digits:
            i = rng.choice(digits)
            buf[i : i + 1] = text
        else:
            buf[at:at] = text


def apply_program(base: dict[str, bytes], program: bytes) -> tuple[dict[str, bytes], bool]:
    """The dataset's files after ``program``, and whether SHA256SUMS was rewritten."""
    files = dict(base)
    if not program:
        return files, False
    resign = bool(program[0] & 1)
    i = 1
    for _ in range(MAX_OPS):
        if i + 5 > len(program):
            break
        op, index, pos, size = program[i], program[i + 1], program[i + 2 : i + 4], program[i + 4]
        payload = program[i + 5 : i + 5 + size]
        i += 5 + size
        _apply(files, OPS[op % len(OPS)], index, int.from_bytes(pos, "big"), payload)
    if resign:
        files[SUMS] = _sums(files)
    return files, resign


def _apply(files: dict[str, bytes], op: str, index: int, pos: int, payload: bytes) -> None:
    if op == "add":
        name = _name(payload) or ".bp-tmp-fuzz"
        if not any(n == name or n.startswith(name + "/") or name.startswith(n + "/") for n in files):
            files[name] = payload
        return
    if not files:
        return
    rel = sorted(files)[index % len(files)]
    data = bytearray(files[rel])
    at = pos * len(data) // 65536
    if op == "flip" and data:
        data[min(at, len(data) - 1)] ^= (payload[0] if payload else 1) | 1
    elif op == "truncate":
        del data[at:]
    elif op == "insert":
        data[at:at] = payload or b"\x00"
    elif op == "overwrite":
        data[at : at + len(payload)] = payload
    elif op == "delete":
        del files[rel]
        return
    elif op == "replace":
        data = bytearray(payload)
    elif op == "json":
        data = bytearray(_json_edit(bytes(data), pos, payload))
    files[rel] = bytes(data)


def _name(payload: bytes) -> str:
    chars = [chr(b) if chr(b) in _NAME_CHARS else _NAME_CHARS[b % len(_NAME_CHARS)] for b in payload[:24]]
    text = "".join(chars).strip("/")
    return "/".join(p for p in text.split("/") if p)


def _json_edit(data: bytes, pos: int, payload: bytes) -> bytes:
    """Set one node of a JSON document (picked by ``pos``) to the payload's JSON value
    (or its text); bytes unchanged when the file is not JSON."""
    try:
        doc = json.loads(data)
    except ValueError:
        return data
    nodes: list[tuple[Any, Any]] = []
    _walk(doc, nodes)
    if not nodes:
        return data
    parent, key = nodes[pos % len(nodes)]
    try:
        value: Any = json.loads(payload)
    except ValueError:
        value = payload.decode("utf-8", "replace")
    parent[key] = value
    return json.dumps(doc).encode()


def _walk(node: Any, out: list[tuple[Any, Any]], depth: int = 0) -> None:
    if depth > 8:
        return
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, child in items:
        out.append((node, key))
        _walk(child, out, depth + 1)


def content_changed(files: dict[str, bytes], base: dict[str, bytes]) -> bool:
    """True when a dataset file other than the listing changed, appeared or went, or the
    listing itself went (a listing rewritten in another form but still matching every file
    is the same dataset)."""
    def without(f: dict[str, bytes]) -> dict[str, bytes]:
        return {k: v for k, v in f.items() if k != SUMS}

    return SUMS not in files or without(files) != without(base)


def _sums(files: dict[str, bytes]) -> bytes:
    listed = {p: hashlib.sha256(d).hexdigest() for p, d in files.items()
              if p != SUMS and not p.startswith("_")}
    return "".join(f"{listed[p]}  {p}\n" for p in sorted(listed)).encode()


def program(resign: bool, *ops: tuple[str, int, int, bytes]) -> bytes:
    """Encode a program (for seeds and tests): ``(op, file index, pos, payload)`` each."""
    out = bytearray([1 if resign else 0])
    for op, index, pos, payload in ops:
        out += bytes([OPS.index(op), index % 256]) + pos.to_bytes(2, "big")
        out += bytes([len(payload[:255])]) + payload[:255]
    return bytes(out)
