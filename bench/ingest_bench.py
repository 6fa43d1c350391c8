"""Ingest benchmark: the real ``bp-ingest`` against a plain ``json.load`` of the same blueprint.

Usage::

    uv run python bench/ingest_bench.py                       # 20k and 100k objects, 3 repeats
    uv run python bench/ingest_bench.py --objects 100000 --repeat 5
    uv run python bench/ingest_bench.py --objects 20000,100000,300000 --profile

For every size it generates a realistic blueprint (categories from the catalog, sizes near
their priors, support chains floor -> table -> tray -> mug, valid ids, a few shared meshes),
writes it to a temporary ``file://`` storage at ``scenes/<id>/input/scene.json`` and runs,
each in its own fresh process and each repeat interleaved with the others:

* ``bare``     ``python -c pass``: interpreter start-up,
* ``import``   ``python -c "import bp_ingest.stage"``: the fixed import cost of ingest,
* ``json.load`` ``python -c`` that ``json.load``-s the blueprint and nothing else,
* ``ingest``   the real ``bp-ingest`` console script (fresh ``RUN_ID`` per repeat).

Peak RSS is the child's own ``ru_maxrss`` from ``os.wait4``. On Linux a child's ``ru_maxrss``
also counts the memory of the process it was forked from (the kernel keeps the old address
space's high-water mark across ``exec``), so children are not started from this (large)
process but from a tiny launcher (``python -I -S``) that forks, execs the target, enforces the
timeout and reports the child's rusage; the launcher's own floor is printed (``/bin/true``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

SCENE_ID = "bench_scene"
MESHES = ("mug", "bowl", "plate", "bottle", "can", "jar", "book", "laptop")

# The launcher runs as ``python -I -S -c _LAUNCHER report timeout stdout stderr argv...``.
# It imports only built-in modules before forking so the forked child (whose memory the
# kernel carries into the target's ru_maxrss) stays at a few MiB.
_LAUNCHER = r"""
import os, signal, sys, time
report, timeout, out, err = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
argv = sys.argv[5:]
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        os.dup2(os.open(out, flags, 0o600), 1)
        os.dup2(os.open(err, flags, 0o600), 2)
        os.execv(argv[0], argv)
    except BaseException as exc:
        os.write(2, ("launcher: cannot exec %r: %s\n" % (argv[0], exc)).encode())
    os._exit(127)
state = {"done": False, "timed_out": False}
def _alarm(signum, frame):
    if not state["done"]:
        state["timed_out"] = True
        os.kill(pid, signal.SIGKILL)
signal.signal(signal.SIGALRM, _alarm)
signal.setitimer(signal.ITIMER_REAL, timeout)
_, status, ru = os.wait4(pid, 0)
wall = time.perf_counter() - t0
state["done"] = True
signal.setitimer(signal.ITIMER_REAL, 0)
import json
with open(report, "w") as f:
    json.dump({"wall_s": wall, "maxrss": ru.ru_maxrss, "user_s": ru.ru_utime, "sys_s": ru.ru_stime,
               "exit": os.waitstatus_to_exitcode(status), "timed_out": state["timed_out"]}, f)
"""


# ---------------------------------------------------------------------------- blueprint


def load_priors() -> dict[str, dict]:
    """The category catalog shipped with bp_contracts (without importing its modules)."""
    raw = (
        resources.files("bp_contracts").joinpath("data/categories.json").read_text(encoding="utf-8")
    )
    return json.loads(raw)["categories"]


# What goes where: (floor support, weight, things on it, trays on it)
KITCHEN = (
    "mug",
    "cup",
    "bowl",
    "plate",
    "bottle",
    "can",
    "jar",
    "box",
    "cereal_box",
    "apple",
    "orange",
    "banana",
    "sponge",
    "spray_bottle",
    "kettle",
)
OFFICE = (
    "mug",
    "book",
    "marker",
    "stapler",
    "phone",
    "laptop",
    "tissue_box",
    "plant_pot",
    "box",
    "bottle",
    "cup",
)
LIVING = (
    "remote",
    "book",
    "mug",
    "vase",
    "plant_pot",
    "tissue_box",
    "phone",
    "bowl",
    "basket",
    "toy_block",
    "apple",
)
SHELVED = (
    "book",
    "jar",
    "box",
    "plant_pot",
    "vase",
    "basket",
    "storage_bin",
    "cereal_box",
    "toy_block",
    "can",
)
ON_TRAY = ("mug", "cup", "bowl", "apple", "orange", "banana", "bottle", "can", "jar", "sponge")
ON_BOARD = ("apple", "orange", "banana", "bowl", "jar")
FIXTURES = ("sink", "stove", "microwave", "toaster")
FLOOR_SUPPORTS = (  # category, weight, items, fixtures?
    ("countertop", 3, KITCHEN, True),
    ("kitchen_island", 1, KITCHEN, True),
    ("table", 4, KITCHEN + OFFICE, False),
    ("desk", 3, OFFICE, False),
    ("coffee_table", 2, LIVING, False),
    ("shelf", 2, SHELVED, False),
    ("cabinet", 2, LIVING, False),
    ("drawer_unit", 1, OFFICE, False),
)
MATERIALS = ("wood", "metal", "plastic", "ceramic", "glass", "stone")


@dataclass
class Generator:
    """Streams a blueprint of exactly ``total`` objects to a file, one object per line."""

    priors: dict[str, dict]
    total: int
    seed: int = 1234
    rng: random.Random = field(init=False)
    count: int = 0
    lines: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def _size(self, category: str) -> list[float]:
        prior = self.priors[category]["typical_size_m"]
        return [round(c * self.rng.uniform(0.85, 1.15), 4) for c in prior]

    def _yaw(self) -> list[float]:
        half = math.radians(self.rng.uniform(-180.0, 180.0)) / 2
        return [round(math.cos(half), 6), 0.0, 0.0, round(math.sin(half), 6)]

    def _emit(
        self,
        out,
        category: str,
        size: list[float],
        position: list[float],
        support: str,
        *,
        yaw: bool,
    ) -> str | None:
        if self.count >= self.total:
            return None
        oid = f"{category}_{self.count:07d}"
        obj: dict = {
            "id": oid,
            "category": category,
            "size": size,
            "pose": {"position": [round(c, 4) for c in position]},
        }
        if yaw:
            obj["pose"]["orientation_wxyz"] = self._yaw()
        if support != "floor" or self.rng.random() < 0.5:  # "floor" is the default; often omitted
            obj["support"] = support
        r = self.rng.random()
        if r < 0.04 and category in MESHES:
            obj["mesh"] = f"meshes/{category}.obj"
        elif r < 0.12:
            obj["material"] = self.rng.choice(MATERIALS)
        elif r < 0.15:
            obj["static"] = self.rng.random() < 0.5
        out.write((",\n" if self.count else "") + "    " + json.dumps(obj))
        self.count += 1
        return oid

    def _items_on(
        self,
        out,
        support: str,
        centre: tuple[float, float],
        footprint: tuple[float, float],
        top: float,
        choices: tuple[str, ...],
        n: int,
    ) -> None:
        for _ in range(n):
            cat = self.rng.choice(choices)
            size = self._size(cat)
            x = centre[0] + self.rng.uniform(-0.4, 0.4) * footprint[0]
            y = centre[1] + self.rng.uniform(-0.4, 0.4) * footprint[1]
            self._emit(out, cat, size, [x, y, top + size[2] / 2], support, yaw=True)

    def _group(self, out, cell: int) -> None:
        """One floor support with everything on it (chains up to floor -> support -> tray -> item)."""
        rng = self.rng
        cat, items, fixtures = rng.choices(
            [(c, i, f) for c, _, i, f in FLOOR_SUPPORTS],
            weights=[w for _, w, _, _ in FLOOR_SUPPORTS],
        )[0]
        side = 64
        cx, cy = (cell % side) * 3.0, (cell // side) * 3.0
        size = self._size(cat)
        base = self._emit(out, cat, size, [cx, cy, size[2] / 2], "floor", yaw=rng.random() < 0.3)
        if base is None:
            return
        foot = (size[0], size[1])
        top = size[2]
        if cat == "shelf":
            for level in range(rng.randint(2, 4)):
                bsize = self._size("shelf_board")
                bsize[0], bsize[1] = round(size[0] * 0.95, 4), round(size[1] * 0.95, 4)
                z = 0.35 + 0.4 * level
                board = self._emit(
                    out, "shelf_board", bsize, [cx, cy, z + bsize[2] / 2], base, yaw=False
                )
                if board is None:
                    return
                self._items_on(out, board, (cx, cy), foot, z + bsize[2], items, rng.randint(3, 8))
            return
        if fixtures:
            for fx in rng.sample(FIXTURES, rng.randint(1, 2)):
                fsize = self._size(fx)
                self._emit(
                    out,
                    fx,
                    fsize,
                    [cx + rng.uniform(-0.5, 0.5), cy, top + fsize[2] / 2],
                    base,
                    yaw=False,
                )
        self._items_on(out, base, (cx, cy), foot, top, items, rng.randint(3, 10))
        for _ in range(rng.choice((0, 0, 1, 1, 2))):
            tcat = rng.choice(("tray", "cutting_board"))
            tsize = self._size(tcat)
            tx, ty = cx + rng.uniform(-0.3, 0.3) * foot[0], cy + rng.uniform(-0.3, 0.3) * foot[1]
            tray = self._emit(out, tcat, tsize, [tx, ty, top + tsize[2] / 2], base, yaw=True)
            if tray is None:
                return
            on = ON_TRAY if tcat == "tray" else ON_BOARD
            self._items_on(
                out, tray, (tx, ty), (tsize[0], tsize[1]), top + tsize[2], on, rng.randint(2, 5)
            )

    def write(self, path: Path) -> None:
        """Write the whole blueprint to ``path``."""
        header = {
            "schema_version": "1",
            "name": f"Benchmark showroom with {self.total} objects",
            "units": "m",
            "up_axis": "z",
            "description": "Generated by bench/ingest_bench.py: kitchens, desks, shelves and living-room tables in a grid.",
            "license": "CC0-1.0",
            "robot_base": {"position": [0.0, -1.2, 0.0], "yaw_deg": 90.0},
        }
        with path.open("w", encoding="utf-8") as out:
            out.write(json.dumps(header, indent=2)[:-2] + ',\n  "objects": [\n')
            cell = 0
            while self.count < self.total:
                self._group(out, cell)
                cell += 1
            out.write("\n  ]\n}\n")


def make_storage(root: Path, total: int, priors: dict[str, dict]) -> Path:
    """Storage root with the blueprint and its meshes; returns the blueprint's path."""
    inp = root / "scenes" / SCENE_ID / "input"
    (inp / "meshes").mkdir(parents=True)
    for name in MESHES:  # tiny but real OBJ files (ingest hashes every input file)
        (inp / "meshes" / f"{name}.obj").write_text(
            f"# {name}\nv 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 1 2 3\nf 1 2 4\nf 1 3 4\nf 2 3 4\n",
            encoding="utf-8",
        )
    path = inp / "scene.json"
    Generator(priors, total).write(path)
    return path


# ---------------------------------------------------------------------------- measuring


@dataclass
class Sample:
    """One child process run."""

    wall_s: float
    rss_mib: float
    cpu_s: float


class ChildError(RuntimeError):
    """A measured child exited non-zero or timed out."""


def measure(
    argv: list[str], env: dict[str, str], work: Path, timeout: float
) -> tuple[Sample, str, str]:
    """Run ``argv`` in a fresh process (through the launcher); return its sample, stdout, stderr."""
    report, out, err = work / "report.json", work / "stdout.txt", work / "stderr.txt"
    report.unlink(missing_ok=True)
    proc = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            "-c",
            _LAUNCHER,
            str(report),
            str(timeout),
            str(out),
            str(err),
            *argv,
        ],
        env=env,
        timeout=timeout + 30,
        check=False,
        capture_output=True,
        text=True,
    )
    stdout = out.read_text(encoding="utf-8", errors="replace") if out.exists() else ""
    stderr = err.read_text(encoding="utf-8", errors="replace") if err.exists() else ""
    if proc.returncode != 0 or not report.exists():
        raise ChildError(f"launcher failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
    r = json.loads(report.read_text(encoding="utf-8"))
    if r["timed_out"] or r["exit"] != 0:
        why = f"timed out after {timeout:g}s" if r["timed_out"] else f"exit {r['exit']}"
        raise ChildError(
            f"{' '.join(argv)[:200]} {why}\n--- stdout ---\n{stdout[-4000:]}\n"
            f"--- stderr ---\n{stderr[-8000:]}"
        )
    rss = r["maxrss"] / (1 << 20) if sys.platform == "darwin" else r["maxrss"] / 1024
    return Sample(r["wall_s"], rss, r["user_s"] + r["sys_s"]), stdout, stderr


def check_commit(root: Path, run_id: str, total: int) -> None:
    """The run committed, with every object and no calibration surprises."""
    record_path = root / "scenes" / SCENE_ID / "runs" / run_id / "ingest" / "_SUCCESS.json"
    if not record_path.exists():
        raise ChildError(f"ingest exited 0 but wrote no commit record at {record_path}")
    record = json.loads(record_path.read_text(encoding="utf-8"))
    summary = record.get("summary", {})
    if "scene_manifest.json" not in record.get("files", {}):
        raise ChildError("commit record lists no scene_manifest.json")
    if (
        summary.get("objects") != total
        or summary.get("unknown_categories")
        or summary.get("scale_changes")
    ):
        raise ChildError(f"unexpected ingest summary for {total} objects: {summary}")


KINDS = ("bare", "import", "json.load", "ingest")


def bench_size(
    total: int, repeat: int, timeout: float, priors: dict[str, dict], keep: bool
) -> tuple[dict[str, list[Sample]], int]:
    """Generate one blueprint and measure every kind ``repeat`` times (interleaved)."""
    tmp = Path(tempfile.mkdtemp(prefix=f"bp-ingest-bench-{total}-"))
    try:
        root = tmp / "storage"
        t0 = time.perf_counter()
        blueprint = make_storage(root, total, priors)
        nbytes = blueprint.stat().st_size
        print(
            f"  generated {total} objects, {nbytes / (1 << 20):.1f} MiB in {time.perf_counter() - t0:.1f}s"
        )
        work = tmp / "work"
        (tmp / "spool").mkdir()
        work.mkdir()
        py = sys.executable
        ingest = str(Path(sys.executable).parent / "bp-ingest")
        base_env = {k: v for k, v in os.environ.items() if not k.startswith(("BP_", "INGEST_"))}
        base_env["TMPDIR"] = str(tmp / "spool")
        argvs = {
            "bare": [py, "-c", "pass"],
            "import": [py, "-c", "import bp_ingest.stage"],
            "json.load": [
                py,
                "-c",
                "import json, sys\nwith open(sys.argv[1], 'rb') as f:\n    json.load(f)",
                str(blueprint),
            ],
            "ingest": [ingest],
        }
        samples: dict[str, list[Sample]] = {k: [] for k in KINDS}
        for r in range(repeat):
            for kind in KINDS:
                env = dict(base_env)
                if kind == "ingest":
                    run_id = f"bench-{total}-r{r}"
                    env.update(
                        STORAGE_URI=root.as_uri(),
                        SCENE_ID=SCENE_ID,
                        RUN_ID=run_id,
                        LOG_FORMAT="json",
                        PIPELINE_ENV="development",
                    )
                sample, _, _ = measure(argvs[kind], env, work, timeout)
                if kind == "ingest":
                    check_commit(root, run_id, total)
                samples[kind].append(sample)
        return samples, nbytes
    finally:
        if keep:
            print(f"  kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def profile_ingest(total: int, timeout: float, priors: dict[str, dict], top: int) -> None:
    """cProfile one ingest run and print the top functions by own time."""
    with tempfile.TemporaryDirectory(prefix="bp-ingest-prof-") as tmp_s:
        tmp = Path(tmp_s)
        root = tmp / "storage"
        make_storage(root, total, priors)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BP_", "INGEST_"))}
        env.update(
            STORAGE_URI=root.as_uri(),
            SCENE_ID=SCENE_ID,
            RUN_ID="bench-profile",
            LOG_FORMAT="json",
            TMPDIR=tmp_s,
        )
        stats = tmp / "ingest.prof"
        ingest = str(Path(sys.executable).parent / "bp-ingest")
        proc = subprocess.run(
            [sys.executable, "-m", "cProfile", "-o", str(stats), ingest],
            env=env,
            timeout=timeout,
            check=False,
            capture_output=True,
            text=True,
        )
        if not stats.exists():
            raise ChildError(
                f"profiled ingest failed (exit {proc.returncode}):\n{proc.stderr[-8000:]}"
            )
        check_commit(root, "bench-profile", total)
        import pstats  # noqa: PLC0415 - only for --profile

        print(f"\ncProfile of bp-ingest with {total} objects (top {top} by own time):")
        pstats.Stats(str(stats)).strip_dirs().sort_stats("tottime").print_stats(top)


# ---------------------------------------------------------------------------- report


def launcher_floor(timeout: float) -> float | None:
    """ru_maxrss of /bin/true through the launcher: the lowest RSS it can report."""
    true = shutil.which("true")
    if true is None:
        return None
    with tempfile.TemporaryDirectory(prefix="bp-ingest-bench-") as tmp:
        sample, _, _ = measure([true], dict(os.environ), Path(tmp), timeout)
    return sample.rss_mib


def parse_sizes(values: list[str]) -> list[int]:
    """``--objects 20000 100000`` or ``--objects 20000,100000``."""
    out = []
    for v in values:
        out.extend(int(p.replace("_", "")) for p in v.split(",") if p.strip())
    if not out or min(out) < 1:
        raise SystemExit("--objects needs positive counts")
    return out


def main() -> int:
    """Entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--objects",
        nargs="+",
        default=["20000", "100000"],
        help="blueprint sizes (objects); several sizes show how memory grows (default 20000 100000)",
    )
    ap.add_argument(
        "--repeat", type=int, default=3, help="runs of each child per size (median wall time)"
    )
    ap.add_argument(
        "--timeout", type=float, default=900.0, help="seconds allowed for each child process"
    )
    ap.add_argument(
        "--profile", action="store_true", help="also cProfile one ingest run at the largest size"
    )
    ap.add_argument("--top", type=int, default=25, help="functions shown by --profile")
    ap.add_argument("--keep", action="store_true", help="keep the temporary storage folders")
    args = ap.parse_args()
    sizes = parse_sizes(args.objects)
    ingest = Path(sys.executable).parent / "bp-ingest"
    if not ingest.exists():
        print(
            f"no bp-ingest console script at {ingest}; run with `uv run python bench/ingest_bench.py`"
        )
        return 2
    priors = load_priors()
    floor = launcher_floor(args.timeout)
    shown = f"{floor:.1f} MiB" if floor is not None else "n/a"
    print(
        f"python {sys.version.split()[0]} on {sys.platform}; repeats: {args.repeat}; "
        f"lowest RSS the launcher can report (/bin/true): {shown}"
    )

    results: dict[int, tuple[dict[str, list[Sample]], int]] = {}
    for total in sizes:
        print(f"\n== {total} objects")
        try:
            results[total] = bench_size(total, args.repeat, args.timeout, priors, args.keep)
        except (ChildError, subprocess.TimeoutExpired) as exc:
            print(f"FAILED: {exc}", file=sys.stderr)
            return 1

    print(
        f"\n{'objects':>8} {'file MiB':>8} {'what':<10} {'wall s':>8} {'cpu s':>8} {'peak RSS MiB':>12}"
    )
    for total, (samples, nbytes) in results.items():
        for kind in KINDS:
            s = samples[kind]
            print(
                f"{total:>8} {nbytes / (1 << 20):>8.1f} {kind:<10} {statistics.median(x.wall_s for x in s):>8.3f} "
                f"{statistics.median(x.cpu_s for x in s):>8.3f} {max(x.rss_mib for x in s):>12.1f}"
            )
    print("\n(wall and cpu: median of the repeats; peak RSS: the largest of the repeats)")

    print(
        f"\n{'objects':>8} {'time ours/json.load':>20} {'RSS ours/json.load':>19} "
        f"{'net time':>9} {'net RSS':>8} {'us/object':>10}"
    )
    for total, (samples, _) in results.items():
        med = {k: statistics.median(x.wall_s for x in samples[k]) for k in KINDS}
        rss = {k: max(x.rss_mib for x in samples[k]) for k in KINDS}
        net_t = (med["ingest"] - med["import"]) / max(med["json.load"] - med["bare"], 1e-9)
        net_m = (rss["ingest"] - rss["import"]) / max(rss["json.load"] - rss["bare"], 1e-9)
        per = (med["ingest"] - med["import"]) / total * 1e6
        print(
            f"{total:>8} {med['ingest'] / med['json.load']:>19.1f}x {rss['ingest'] / rss['json.load']:>18.2f}x "
            f"{net_t:>8.1f}x {net_m:>7.2f}x {per:>10.1f}"
        )
    print("(net: minus the fixed start-up cost, i.e. (ingest - import) / (json.load - bare))")

    if len(results) > 1:
        lo, hi = min(results), max(results)
        rl, rh = results[lo][0], results[hi][0]
        print(f"\npeak RSS growth from {lo} to {hi} objects (+{hi - lo}):")
        for kind in ("json.load", "ingest"):
            d = max(x.rss_mib for x in rh[kind]) - max(x.rss_mib for x in rl[kind])
            print(f"  {kind:<10} +{d:7.1f} MiB  ({d * 1024 * 1024 / (hi - lo):7.0f} bytes/object)")

    if args.profile:
        try:
            profile_ingest(max(sizes), args.timeout, priors, args.top)
        except (ChildError, subprocess.TimeoutExpired) as exc:
            print(f"FAILED: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
