"""Bad blueprints: one clear permanent error listing every problem, and no other output."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from bp_sdk.commit import load_record
from bp_sdk.markers import FailureMarker
from bp_sdk.storage import Storage

from tests.conftest import job_env, put_scene, script
from tests.ingest._support import Outcome, blueprint, dumps, files_under

MAX_PROBLEM_CHARS = 1000
Mutate = Callable[[dict[str, Any]], None]


# ------------------------------------------------------------------- case building
@dataclass(frozen=True)
class Case:
    """One bad blueprint and the problems it must produce: (JSON path, text) pairs, one each."""

    id: str
    data: dict[str, Any] | bytes
    expect: tuple[tuple[str, str], ...]
    extra: dict[str, bytes] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)


def edited(*edits: Mutate, **overrides: Any) -> dict[str, Any]:
    """The minimal blueprint with ``overrides`` and then each edit applied."""
    bp = blueprint(**overrides)
    for e in edits:
        e(bp)
    return bp


def literal(text: str, *edits: Mutate) -> bytes:
    """Blueprint bytes where the string ``"@@"`` (placed by an edit) becomes ``text`` verbatim."""
    raw = dumps(edited(*edits))
    assert raw.count(b'"@@"') == 1
    return raw.replace(b'"@@"', text.encode("latin-1"))


def setp(path: str, value: Any) -> Mutate:
    """An edit that sets ``objects.1.pose.position``-style ``path`` to ``value``."""

    def go(bp: dict[str, Any]) -> None:
        *head, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        node: Any = bp
        for p in head:
            node = node[p]
        node[last] = value

    return go


def delp(path: str) -> Mutate:
    """An edit that deletes ``path``."""

    def go(bp: dict[str, Any]) -> None:
        *head, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        node: Any = bp
        for p in head:
            node = node[p]
        del node[last]

    return go


def append(obj: dict[str, Any]) -> Mutate:
    """An edit that appends one object."""
    return lambda bp: bp["objects"].append(obj)


def _bigger_than(limit: int) -> bytes:
    bp = blueprint()
    i = 0
    while len(dumps(bp)) <= limit + 200:
        bp["objects"].append(
            {
                "id": f"block_{i}",
                "category": "toy_block",
                "size": [0.05, 0.05, 0.05],
                "pose": {"position": [0.3, -0.3 + 0.06 * i, 0.775]},
                "support": "table",
            }
        )
        i += 1
    return dumps(bp)


def _many_problems() -> dict[str, Any]:
    bp = blueprint()
    for i in range(5):
        bp["objects"].append(
            {
                "id": f"bad_{i}",
                "category": "cup",
                "size": [0.08, -0.08, 0.1],
                "pose": {"position": [0.1 * i, 0.2, 0.8]},
                "support": "table",
                "static": "yes",
            }
        )
    return bp


MUG = "$.objects[1]"
APPLE = "$.objects[2]"
NESTED = "[" * 10_000 + "]" * 10_000

CASES = [
    Case(
        "missing-top-level-fields",
        edited(delp("schema_version"), delp("name"), delp("units"), delp("up_axis")),
        (
            ("$.schema_version", "required key is missing"),
            ("$.name", "required key is missing"),
            ("$.units", "required key is missing"),
            ("$.up_axis", "required key is missing"),
        ),
    ),
    Case("missing-objects", edited(delp("objects")), (("$.objects", "required key is missing"),)),
    Case(
        "missing-object-fields",
        edited(
            delp("objects.1.size"),
            setp("objects.1.pose", {}),
            setp("objects.2", {"id": "apple"}),
            append(
                {"category": "cup", "size": [0.08, 0.08, 0.1], "pose": {"position": [0, 0, 0.8]}}
            ),
        ),
        (
            (f"{MUG}.size", "required key is missing"),
            (f"{MUG}.pose.position", "required key is missing"),
            (f"{APPLE}.category", "required key is missing"),
            (f"{APPLE}.size", "required key is missing"),
            (f"{APPLE}.pose", "required key is missing"),
            ("$.objects[3].id", "required key is missing"),
        ),
    ),
    Case(
        "nan-literal", literal("NaN", setp("objects.1.size.1", "@@")), ((f"~{MUG}.size[1]", "NaN"),)
    ),
    Case(
        "infinity-literal",
        literal("Infinity", setp("objects.1.pose.position.0", "@@")),
        ((f"~{MUG}.pose.position[0]", "Infinity"),),
    ),
    Case(
        "minus-infinity-literal",
        literal("-Infinity", setp("objects.2.size.2", "@@")),
        ((f"~{APPLE}.size[2]", "Infinity"),),
    ),
    Case(
        "1e999-overflows",
        literal("1e999", setp("objects.1.size.1", "@@")),
        ((f"~{MUG}.size[1]", "overflow"),),
    ),
    Case(
        "negative-size",
        edited(setp("objects.1.size", [0.09, -0.09, 0.1])),
        ((f"{MUG}.size[1]", "greater than 0"),),
    ),
    Case(
        "zero-size",
        edited(setp("objects.2.size", [0.08, 0.08, 0])),
        ((f"{APPLE}.size[2]", "greater than 0"),),
    ),
    Case(
        "duplicate-ids",
        edited(setp("objects.2.id", "mug")),
        ((f"{APPLE}.id", "duplicate id 'mug' (first used by $.objects[1])"),),
    ),
    Case(
        "id-with-slash",
        edited(setp("objects.2.id", "fruit/apple")),
        ((f"{APPLE}.id", "'fruit/apple'"),),
    ),
    Case("id-dotdot", edited(setp("objects.1.id", "..")), ((f"{MUG}.id", "'..'"),)),
    Case(
        "id-with-dotdot-segment",
        edited(setp("objects.2.id", "a/../b")),
        ((f"{APPLE}.id", "'a/../b'"),),
    ),
    Case(
        "support-with-dotdot",
        edited(setp("objects.1.support", "../table")),
        ((f"{MUG}.support", "'../table'"),),
    ),
    Case(
        "mesh-absolute",
        edited(setp("objects.1.mesh", "/meshes/mug.obj")),
        ((f"{MUG}.mesh", "absolute"),),
        extra={"meshes/mug.obj": b"o mug\n"},
    ),
    Case(
        "mesh-dotdot",
        edited(setp("objects.1.mesh", "../../other/input/mug.obj")),
        ((f"{MUG}.mesh", "'..'"),),
        extra={"meshes/mug.obj": b"o mug\n"},
    ),
    Case(
        "mesh-not-uploaded",
        edited(setp("objects.1.mesh", "meshes/mug.obj")),
        ((f"{MUG}.mesh", "mesh 'meshes/mug.obj' not found under input/"),),
    ),
    Case(
        "mesh-unsupported-type",
        edited(setp("objects.1.mesh", "meshes/mug.txt")),
        ((f"{MUG}.mesh", "unsupported mesh type"),),
        extra={"meshes/mug.txt": b"o mug\n"},
    ),
    Case(
        "size-as-string",
        edited(setp("objects.1.size", "0.09 0.09 0.1")),
        ((f"{MUG}.size", "valid list"),),
    ),
    Case(
        "static-as-string",
        edited(setp("objects.2.static", "true")),
        ((f"{APPLE}.static", "valid boolean"),),
    ),
    Case(
        "position-with-2-numbers",
        edited(setp("objects.1.pose.position", [0.1, 0.0])),
        ((f"{MUG}.pose.position", "at least 3 items"),),
    ),
    Case(
        "size-with-bool",
        edited(setp("objects.1.size", [True, 0.09, 0.1])),
        ((f"{MUG}.size[0]", "valid number"),),
    ),
    Case("unknown-units", edited(units="furlong"), (("$.units", "'furlong'"),)),
    Case("unknown-up-axis", edited(up_axis="x"), (("$.up_axis", "'x'"),)),
    Case("wrong-schema-version", edited(schema_version=1), (("$.schema_version", "got 1"),)),
    Case(
        "typo-postion",
        edited(setp("objects.1.pose", {"postion": [0.1, 0.0, 0.8]})),
        (
            (f"{MUG}.pose.postion", "unknown key 'postion'"),
            (f"{MUG}.pose.position", "required key is missing"),
        ),
    ),
    Case(
        "typo-top-level-key",
        edited(setp("descripton", "oops")),
        (("$.descripton", "unknown key 'descripton'"),),
    ),
    Case(
        "typo-object-key",
        edited(setp("objects.2.materal", "wood")),
        ((f"{APPLE}.materal", "unknown key 'materal'"),),
    ),
    Case(
        "support-missing-id",
        edited(setp("objects.1.support", "shelf")),
        ((f"{MUG}.support", "unknown object 'shelf'"),),
    ),
    Case(
        "support-cycle-of-2",
        edited(setp("objects.0.support", "mug")),
        (("$.objects[0].support", "support cycle: table -> mug -> table"),),
    ),
    Case(
        "support-cycle-of-3",
        edited(
            *(
                append(
                    {
                        "id": a,
                        "category": "box",
                        "size": [0.1, 0.1, 0.1],
                        "pose": {"position": [0, 0, 0.8]},
                        "support": b,
                    }
                )
                for a, b in (("a", "b"), ("b", "c"), ("c", "a"))
            )
        ),
        (("$.objects[3].support", "support cycle: a -> b -> c -> a"),),
    ),
    Case(
        "self-support",
        edited(setp("objects.1.support", "mug")),
        ((f"{MUG}.support", "cannot support itself"),),
    ),
    Case("empty-objects", edited(objects=[]), (("$.objects", "no objects"),)),
    Case("objects-is-a-map", edited(objects={}), (("$.objects", "expected an array of objects"),)),
    Case("objects-is-null", edited(objects=None), (("$.objects", "expected an array of objects"),)),
    Case(
        "object-item-not-a-map",
        edited(append(42)),
        (("$.objects[3]", "expected a JSON object, got int"),),
    ),
    Case(
        "top-level-array",
        json.dumps([blueprint()]).encode(),
        (("$", "expected a JSON object at the top level"),),
    ),
    Case(
        "deeply-nested-field",
        literal(NESTED, setp("objects.1.size", "@@")),
        ((f"~{MUG}.size", "nesting deeper than 16 levels"),),
    ),
    Case(
        "huge-file",
        _bigger_than(2048),
        (("$", "limit 2048"),),
        env={"INGEST_MAX_BLUEPRINT_BYTES": "2048"},
    ),
    Case(
        "invalid-utf8-in-string",
        literal('"cer\xff\xfeamic"', setp("objects.1.material", "@@")),
        ((f"~{MUG}.material", "UTF-8"),),
    ),
    Case("truncated", dumps(blueprint())[:-40], (("~$.objects[2]", "invalid JSON"),)),
    Case(
        "duplicate-top-level-key",
        dumps(blueprint()).replace(b'"up_axis": "z"', b'"up_axis": "z", "units": "cm"'),
        (("$.units", "duplicate"),),
    ),
    Case(
        "duplicate-object-key",
        dumps(blueprint()).replace(b'"id": "mug"', b'"id": "mug", "id": "cup"'),
        ((MUG, "duplicate key 'id'"),),
    ),
    Case(
        "zero-quaternion",
        edited(setp("objects.1.pose.orientation_wxyz", [0, 0, 0, 0])),
        ((f"{MUG}.pose.orientation_wxyz", "zeros"),),
    ),
    Case(
        "bad-robot-base",
        edited(robot_base={"position": [0, -0.6], "yaw_deg": "90"}),
        (("$.robot_base.position", "at least 3 items"), ("$.robot_base.yaw_deg", "valid number")),
    ),
    Case(
        "many-problems",
        _many_problems(),
        tuple(
            p
            for i in range(3, 8)
            for p in (
                (f"$.objects[{i}].size[1]", "greater than 0"),
                (f"$.objects[{i}].static", "valid boolean"),
            )
        ),
    ),
]


# ------------------------------------------------------------------- assertions
def split_problem(text: str) -> tuple[str, str]:
    """``"$.a[1]: msg (fix: hint)"`` → (``"$.a[1]"``, whole text)."""
    where, sep, _ = text.partition(": ")
    assert sep, f"problem without a location: {text!r}"
    return where, text


def at(where: str, path: str) -> bool:
    """``where`` is ``path``; for ``"~P"``, ``where`` is P or any JSON path enclosing P (``$`` included)."""
    if not path.startswith("~"):
        return where == path
    target = path[1:]
    return where == target or (target.startswith(where) and target[len(where)] in ".[")


def match_problems(marker: FailureMarker, expect: tuple[tuple[str, str], ...]) -> None:
    """Every expected (path, text) matches exactly one problem, and nothing else is reported."""
    left = [split_problem(p) for p in marker.problems]
    missing = []
    for path, text in expect:
        hit = next(
            (
                i
                for i, (where, whole) in enumerate(left)
                if at(where, path) and text.lower() in whole.lower()
            ),
            None,
        )
        if hit is None:
            missing.append(f"{path}: ...{text}...")
        else:
            left.pop(hit)
    report = "\n  ".join(marker.problems)
    assert not missing, f"missing problems {missing}; reported:\n  {report}"
    assert not left, f"unexpected extra problems {[w for w, _ in left]}; reported:\n  {report}"


def assert_rejected(
    out: Outcome, storage_root: Path, expect: tuple[tuple[str, str], ...]
) -> FailureMarker:
    """Exit 3, one permanent marker listing exactly ``expect``, and no other output anywhere."""
    assert out.code == 3, f"exit {out.code}; markers: {[m.message for m in out.markers()]}"
    marker = out.marker()
    keys = out.run_keys()
    assert keys == [out.unit.failure_path(marker.attempt_id)], keys
    assert load_record(out.storage, out.unit) is None
    on_disk = [f for f in files_under(storage_root) if "/input/" not in f]
    assert on_disk == [out.unit.failure_path(marker.attempt_id)], on_disk
    assert not any(f.endswith("scene_manifest.json") for f in files_under(storage_root))
    assert marker.permanent is True
    assert marker.exit_code == 3
    assert marker.stage == "ingest"
    assert marker.error_type == "InputError", f"{marker.error_type}: {marker.message}"
    assert marker.problems, marker.message
    for p in marker.problems:
        assert re.match(r"^\$[\w.\[\]]*: ", p), f"problem without a JSON path: {p!r}"
        assert "(fix: " in p, f"problem without a fix hint: {p!r}"
        assert len(p) <= MAX_PROBLEM_CHARS, f"problem text is {len(p)} characters"
    match_problems(marker, expect)
    return marker


# ------------------------------------------------------------------- tests
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_blueprint_is_rejected_with_every_problem(
    case: Case, run_ingest: Callable[..., Outcome], storage_root: Path
) -> None:
    """A bad blueprint exits 3 with one permanent marker naming each problem by JSON path, and writes nothing else."""
    out = run_ingest(case.data, extra=case.extra, **case.env)
    marker = assert_rejected(out, storage_root, case.expect)
    if case.id != "huge-file":
        n = len(case.expect)
        assert f"({n} problem{'s' if n != 1 else ''})" in marker.message, marker.message


def test_many_problems_are_reported_in_one_error(
    run_ingest: Callable[..., Outcome], storage_root: Path
) -> None:
    """Five objects with two errors each give one error whose headline counts all ten."""
    marker = assert_rejected(
        run_ingest(_many_problems()),
        storage_root,
        next(c.expect for c in CASES if c.id == "many-problems"),
    )
    assert marker.message == "blueprint 'scene1' is invalid (10 problems)"
    assert marker.next_step.startswith("Fix every listed problem")


def test_problem_list_is_capped_but_counted(run_ingest: Callable[..., Outcome]) -> None:
    """More than 1000 problems: the headline counts them all and the marker lists the first 1000."""
    bp = blueprint(
        objects=[
            {
                "id": f"o{i}",
                "category": "cup",
                "size": [0.08, 0.08, -1.0],
                "pose": {"position": [0, 0]},
            }
            for i in range(700)
        ]
    )
    out = run_ingest(bp)
    assert out.code == 3
    marker = out.marker()
    assert marker.message.endswith("(1400 problems)")
    assert len(marker.problems) == 1000
    assert marker.problems[0].startswith("$.objects[0].size[2]: ")


def test_invalid_support_object_gives_no_false_unknown_object(
    run_ingest: Callable[..., Outcome], storage_root: Path
) -> None:
    """An invalid table is reported once; the valid objects on it are not told the table does not exist."""
    bp = edited(setp("objects.0.size", [1.2, -0.8, 0.75]))
    assert_rejected(run_ingest(bp), storage_root, (("$.objects[0].size[1]", "greater than 0"),))


FATAL = {
    "invalid-utf8-in-name": (
        dumps(blueprint()).replace(b'"test table"', b'"test \xff table"'),
        "~$.name",
    ),
    "nesting-in-name": (dumps(blueprint()).replace(b'"test table"', NESTED.encode()), "~$.name"),
    "truncated-in-header": (dumps(blueprint())[:30], "~$.name"),
    "empty-file": (b"", "$"),
    "nan-in-header": (dumps(blueprint()).replace(b'"units": "m"', b'"units": NaN'), "~$.units"),
}


@pytest.mark.parametrize("name", sorted(FATAL))
def test_fatal_parse_error_is_the_only_problem(
    name: str, run_ingest: Callable[..., Outcome]
) -> None:
    """When parsing stops early, keys after the fault are not reported as missing: one problem, at the fault."""
    data, path = FATAL[name]
    out = run_ingest(data)
    assert out.code == 3, [m.message for m in out.markers()]
    problems = out.marker().problems
    assert len(problems) == 1 and at(split_problem(problems[0])[0], path), problems


def _offset_case(kind: str) -> tuple[bytes, int]:
    """A ~100 KB blueprint with one fault early on, and the fault's byte offset."""
    bp = blueprint()
    bp["objects"] += [
        {
            "id": f"b{i}",
            "category": "toy_block",
            "size": [0.05, 0.05, 0.05],
            "pose": {"position": [0, 0, 0.775]},
            "support": "table",
        }
        for i in range(1000)
    ]
    raw = dumps(bp)
    mark = b'"test table"'
    pos = raw.index(b'"category": "mug"')
    if kind == "nan":
        pos = raw.index(b"0.09", pos)
        return raw[:pos] + b"NaN" + raw[pos + 4 :], pos
    if kind == "invalid-utf8":
        pos = raw.index(mark) + 5
        return raw[:pos] + b"\xff" + raw[pos:], pos
    assert kind == "nesting"
    pos = raw.index(b"[", raw.index(b'"size"', pos))
    return raw[:pos] + b"[" * 20 + raw[pos:], pos + 13


@pytest.mark.parametrize("kind", ["nan", "invalid-utf8", "nesting"])
def test_parse_error_names_the_byte_offset_of_the_problem(
    kind: str, run_ingest: Callable[..., Outcome]
) -> None:
    """docs/BLUEPRINT.md: malformed input is refused with the byte offset of the problem (within 64 bytes)."""
    data, pos = _offset_case(kind)
    assert len(data) > 90_000
    out = run_ingest(data)
    assert out.code == 3
    text = " ".join(out.marker().problems)
    found = re.search(r"byte (\d+)", text)
    assert found, f"no byte offset in {text!r}"
    assert abs(int(found.group(1)) - pos) <= 64, (
        f"problem is at byte {pos}, reported {found.group(0)}"
    )


EXTREME: dict[str, Mutate] = {
    "huge-sizes": lambda bp: [o.update(size=[1e200, 1e200, 1e200]) for o in bp["objects"]],
    "tiny-sizes": lambda bp: [o.update(size=[1e-300, 1e-300, 1e-300]) for o in bp["objects"]],
    "sub-nanometre-unknown-object": append(
        {
            "id": "dust",
            "category": "dust_mote",
            "size": [1e-10, 1e-10, 1e-10],
            "pose": {"position": [0, 0, 0.75]},
            "support": "table",
        }
    ),
    "huge-quaternion": setp("objects.1.pose.orientation_wxyz", [1e200, 1e200, 0, 0]),
}


@pytest.mark.parametrize("name", list(EXTREME))
def test_extreme_finite_numbers_never_crash_as_retryable(
    name: str, run_ingest: Callable[..., Outcome], storage_root: Path
) -> None:
    """Finite numbers far outside real scenes either ingest or fail permanently as an input problem; never exit 1."""
    out = run_ingest(edited(EXTREME[name]))
    if out.code == 0:
        out.manifest()
        return
    assert not any(f.endswith("scene_manifest.json") for f in files_under(storage_root))
    marker = out.marker()
    assert (out.code, marker.error_type) == (3, "InputError"), f"exit {out.code}: {marker.message}"


def test_problem_text_stays_bounded_for_a_huge_key(run_ingest: Callable[..., Outcome]) -> None:
    """A 100,000-character unknown key is reported without copying it whole into the marker."""
    out = run_ingest(edited(setp("objects.1." + "k" * 100_000, 1)))
    assert out.code == 3
    marker = out.marker()
    assert marker.problems
    assert all(len(p) <= MAX_PROBLEM_CHARS for p in marker.problems), [
        len(p) for p in marker.problems
    ]
    assert len(marker.model_dump_json()) < 20_000


def test_rerun_of_a_rejected_blueprint_stays_rejected_and_a_fix_succeeds(
    file_storage: Storage, run_ingest: Callable[..., Outcome]
) -> None:
    """Running the same bad input again exits 3 without output; fixing the blueprint then commits under the same run."""
    bad = edited(setp("objects.1.support", "shelf"))
    first = run_ingest(bad)
    assert first.code == 3
    again = run_ingest(bad)
    assert again.code == 3
    assert load_record(file_storage, again.unit) is None
    assert not any(k.endswith("scene_manifest.json") for k in again.run_keys())
    fixed = run_ingest(blueprint())
    assert fixed.code == 0
    assert fixed.manifest().object_count == 3


# ------------------------------------------------------------------- the real console script
def run_script(storage: Storage, scene: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run ``bp-ingest`` as its own process on ``scene``."""
    return subprocess.run(
        [script("bp-ingest")],
        env=job_env(storage, scene),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def json_lines(stderr: str) -> list[dict[str, Any]]:
    """Every stderr line parsed as one JSON log entry."""
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert lines, "no log output"
    return [json.loads(ln) for ln in lines]


@pytest.mark.parametrize("case_id", ["many-problems", "nan-literal"])
def test_console_script_exits_3_and_logs_the_problems_as_json(
    case_id: str, file_storage: Storage, storage_root: Path
) -> None:
    """``bp-ingest`` on a bad blueprint exits 3, prints nothing on stdout and logs one JSON error line naming every problem."""
    case = next(c for c in CASES if c.id == case_id)
    put_scene(file_storage, "scene1", case.data)
    proc = run_script(file_storage, "scene1", timeout=60)
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert proc.stdout == ""
    entries = json_lines(proc.stderr)
    errors = [e for e in entries if e["severity"] == "ERROR"]
    assert len(errors) == 1, errors
    err = errors[0]
    assert err["exit_code"] == 3
    assert err["logging.googleapis.com/labels"]["scene"] == "scene1"
    assert "InputError" in err["message"] and "permanent" in err["message"]
    listed = [split_problem(ln[4:]) for ln in err["message"].splitlines() if ln.startswith("  - ")]
    assert len(listed) == len(case.expect), err["message"]
    for path, text in case.expect:
        assert any(at(where, path) and text.lower() in whole.lower() for where, whole in listed), (
            path,
            err["message"],
        )
    out = Outcome(proc.returncode, file_storage, "scene1", "r1")
    assert err["marker"] == out.unit.failure_path(out.marker().attempt_id)
    assert_rejected(out, storage_root, case.expect)


def test_console_script_refuses_64k_nesting_fast(file_storage: Storage) -> None:
    """``bp-ingest`` refuses ~65,000 nested arrays in a field (no hang, no RecursionError)."""
    nested = b"[" * 65_000 + b"]" * 65_000
    put_scene(
        file_storage,
        "scene1",
        dumps(blueprint()).replace(b'"test table"', b'"t", "description": ' + nested),
    )
    try:
        proc = run_script(file_storage, "scene1", timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("bp-ingest did not finish refusing a 130 KB deeply nested blueprint (hang guard: 120 s)")
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert "RecursionError" not in proc.stderr
    assert "nesting deeper than 16 levels" in proc.stderr
