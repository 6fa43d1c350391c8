"""Coverage-guided fuzzing of the targets in :mod:`tests.fuzz.targets`.

    python -m tests.fuzz.engine {blueprint,mesh,dataset,all} --seconds N --out DIR

With atheris installed (``--engine atheris``, the default when it imports) each target
runs under libFuzzer with atheris' instrumentation. Without it, this module's own loop
does the same job: a corpus seeded from ``tests/fuzz/corpus/<target>/``, libFuzzer-style
mutations with a per-target dictionary (:mod:`tests.fuzz.mutate`), and line-edge coverage
of the code under test (``sys.settrace``) deciding which inputs join the corpus.

Either way the target runs in a child process under a memory limit, each input under a
time limit: a raised :class:`~tests.fuzz.targets.Finding` or any other exception is a
crash, an input still running after its time limit is a hang (the parent kills the child
and records it), a child killed by a signal is a crash. Findings are written to
``DIR/findings/`` (the input, and what happened); the exit status is 1 if there are any.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import random
import re
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from tests.fuzz.mutate import DICTIONARIES, mutate

HERE = Path(__file__).resolve().parent
TARGETS = ("blueprint", "mesh", "dataset")
TRACED = {
    "blueprint": ("bp_ingest", "bp_sdk"),
    "mesh": ("bp_simready", "trimesh"),
    "dataset": ("bp_dataset",),
    "selftest": ("fuzz",),
}
MAX_LEN = {"blueprint": 16384, "mesh": 16384, "dataset": 600, "selftest": 64}
TIMEOUT_S = {"blueprint": 10.0, "mesh": 10.0, "dataset": 30.0, "selftest": 1.0}
INSTRUMENTED = {
    "blueprint": ["bp_ingest.reader", "bp_ingest.blueprint", "bp_ingest.stage", "bp_sdk.runner"],
    "mesh": ["trimesh", "bp_simready.holes", "bp_simready.meshes"],
    "dataset": ["bp_dataset.checksum_check", "bp_dataset.tables", "bp_dataset.data_scan",
                "bp_dataset.decode", "bp_dataset.verify"],
}
MEMORY_LIMIT = 6 << 30
HANG_GRACE_S = {"blueprint": 10.0, "mesh": 10.0, "dataset": 10.0, "selftest": 2.0}


class Hang(BaseException):
    """An input ran past its time limit."""


def _guard(path: Path) -> Path:
    """Everything the fuzzer writes lies inside the machine's temp dir."""
    resolved = path.resolve()
    if not resolved.is_relative_to(Path(tempfile.gettempdir()).resolve()):
        raise SystemExit(f"--out must be inside {tempfile.gettempdir()}: {resolved}")
    return resolved


def load_target(name: str, work: Path) -> Callable[[bytes], None]:
    """The target function (the dataset target builds or reuses its base dataset)."""
    from tests.fuzz import targets

    if name == "selftest":
        return targets.selftest
    if name == "blueprint":
        return targets.BlueprintTarget(work)
    if name == "mesh":
        return targets.mesh_target
    from tests.fuzz.base import base_dataset

    return targets.DatasetTarget(work, base_dataset())


def seeds(name: str) -> list[bytes]:
    """The committed seed corpus of a target."""
    if name == "selftest":
        return [b"FUZZ", b"HANX", b"NATIVX", b"SEGX"]
    folder = HERE / "corpus" / name
    return [p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()]


class Coverage:
    """Line edges (previous line → line) in the files of the traced packages."""

    def __init__(self, packages: tuple[str, ...]) -> None:
        self.marks = tuple(f"/{p}/" for p in packages)
        self.edges: set[int] = set()
        self._seen: set[int] = set()
        self._wanted: dict[Any, bool] = {}
        self._prev = 0

    def _local(self, frame: FrameType, event: str, _arg: Any) -> Any:
        if event == "line":
            here = hash((frame.f_code.co_filename, frame.f_lineno))
            self._seen.add(hash((self._prev, here)))
            self._prev = here
        return self._local

    def _global(self, frame: FrameType, event: str, _arg: Any) -> Any:
        code = frame.f_code
        wanted = self._wanted.get(code)
        if wanted is None:
            wanted = any(m in code.co_filename for m in self.marks)
            self._wanted[code] = wanted
        return self._local if wanted else None

    def run(self, fn: Callable[[bytes], None], data: bytes) -> int:
        """Run ``fn(data)`` traced; how many new edges it reached."""
        self._seen = set()
        threading.settrace(self._global)
        sys.settrace(self._global)
        try:
            fn(data)
        finally:
            sys.settrace(None)
            threading.settrace(None)  # type: ignore[arg-type]
        new = self._seen - self.edges
        self.edges |= new
        return len(new)


def _alarm(_signum: int, _frame: FrameType | None) -> None:
    raise Hang


def signature(what: str) -> str:
    """What makes two findings the same bug: the exception line and the innermost frame."""
    lines = [ln.strip() for ln in what.strip().splitlines() if ln.strip()]
    frames = [ln for ln in lines if ln.startswith("File ")]
    return re.sub(r"\d+", "N", "\n".join([*(frames[-1:]), *(lines[-1:])]))


def record(out: Path, target: str, kind: str, data: bytes, what: str) -> Path:
    """Write a finding (the first input of each distinct bug): the input, what happened."""
    folder = out / "findings"
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{target}-{kind}-{hashlib.sha256(signature(what).encode()).hexdigest()[:12]}"
    if not (folder / f"{stem}.bin").exists():
        (folder / f"{stem}.bin").write_bytes(data)
        (folder / f"{stem}.txt").write_text(what, encoding="utf-8")
    return folder / f"{stem}.bin"


def child(target: str, seconds: float, out: Path, seed: int) -> dict[str, Any]:
    """The in-process loop: seeds, then mutate → run → keep what reaches new edges."""
    work = Path(tempfile.mkdtemp(prefix=f"{target}-", dir=out))
    fn = load_target(target, work)
    cov = Coverage(TRACED[target])
    rng = random.Random(seed)
    current = out / f"current-{target}.bin"
    signal.signal(signal.SIGALRM, _alarm)
    stats: dict[str, Any] = {"target": target, "execs": 0, "findings": 0, "seeds": 0,
                             "corpus": 0, "edges": 0}
    corpus: list[bytes] = []
    stats_file = out / f"stats-{target}-{seed}.json"
    last = [0.0]

    def save() -> None:
        stats.update(corpus=len(corpus), edges=len(cov.edges))
        stats_file.write_text(json.dumps(stats), encoding="utf-8")
        last[0] = time.monotonic()

    def one(data: bytes) -> int:
        current.write_bytes(data)
        stats["execs"] += 1
        if time.monotonic() - last[0] > 1.0:
            save()
        signal.setitimer(signal.ITIMER_REAL, TIMEOUT_S[target])
        try:
            return cov.run(fn, data)
        except Hang:
            record(out, target, "hang", data, f"ran longer than {TIMEOUT_S[target]} s")
        except Exception:  # noqa: BLE001 - every exception out of a target is a crash
            record(out, target, "crash", data, traceback.format_exc())
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        stats["findings"] += 1
        return 0

    for data in seeds(target):
        one(data)
        corpus.append(data)
    stats["seeds"] = len(corpus)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        parent = rng.choice(corpus)
        data = mutate(parent, rng, DICTIONARIES.get(target, []), rng.choice(corpus), MAX_LEN[target])
        if one(data):
            corpus.append(data)
    save()
    return stats


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _child_argv(target: str, seconds: float, out: Path, seed: int, engine: str) -> list[str]:
    return [sys.executable, "-m", "tests.fuzz.engine", target, "--child", "--seconds",
            f"{seconds:.1f}", "--out", str(out), "--seed", str(seed), "--engine", engine]


def supervise(target: str, seconds: float, out: Path, engine: str) -> dict[str, Any]:
    """Run the target's child until the time is up, restarting it after a crash or hang."""
    total: dict[str, Any] = {"target": target, "execs": 0, "findings": 0, "restarts": 0,
                             "engine": engine, "seconds": seconds}
    deadline = time.monotonic() + seconds
    current = out / f"current-{target}.bin"
    seed = 0
    while (left := deadline - time.monotonic()) > 1.0:
        log = out / f"{target}-{seed}.log"
        with log.open("wb") as sink:
            proc = subprocess.Popen(_child_argv(target, left, out, seed, engine), stdout=subprocess.DEVNULL,
                                    stderr=sink, preexec_fn=_limits)  # noqa: PLW1509 - limits only
        stalled = _watch(proc, current, target, deadline + 600)
        proc.wait(timeout=30)
        if stalled:
            limit = TIMEOUT_S[target] + HANG_GRACE_S[target]
            record(out, target, "hang", _read(current), f"no progress for {limit} s (a hang in native code)")
            total["findings"] += 1
        elif proc.returncode not in (0, 1):
            why = f"child ended with {proc.returncode}: {log.read_text(errors='replace')[-4000:]}"
            record(out, target, "crash", _read(current), why)
            total["findings"] += 1
        _add_stats(total, out / f"stats-{target}-{seed}.json", log)
        if proc.returncode == 0 and not stalled:
            break
        total["restarts"] += 1
        seed += 1
    return total


def _libfuzzer_stats(log: Path) -> dict[str, int]:
    """Executions, coverage and corpus size from libFuzzer's output (atheris)."""
    text = log.read_text(errors="replace") if log.is_file() else ""
    out: dict[str, int] = {}
    if done := re.findall(r"Done (\d+) runs", text):
        out["execs"] = int(done[-1])
    elif execs := re.findall(r"^#(\d+)\s", text, flags=re.MULTILINE):
        out["execs"] = int(execs[-1])
    if cov := re.findall(r"cov: (\d+) ft: \d+ corp: (\d+)", text):
        out["edges"], out["corpus"] = int(cov[-1][0]), int(cov[-1][1])
    return out


def _add_stats(total: dict[str, Any], stats_file: Path, log: Path) -> None:
    """Add one child's numbers (the last stats file it wrote, or libFuzzer's output)."""
    try:
        stats = json.loads(stats_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        stats = _libfuzzer_stats(log)
    total["execs"] += stats.get("execs", 0)
    total["findings"] += stats.get("findings", 0)
    for key in ("edges", "corpus", "seeds"):
        total[key] = max(total.get(key, 0), stats.get(key, 0))


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def _watch(proc: subprocess.Popen[bytes], current: Path, target: str, hard_deadline: float) -> bool:
    """Wait for the child; True (and the child killed) when an input stopped progressing."""
    limit = TIMEOUT_S[target] + HANG_GRACE_S[target]
    while proc.poll() is None:
        time.sleep(0.5)
        try:
            age = time.time() - current.stat().st_mtime
        except OSError:
            age = 0.0
        if age > limit or time.monotonic() > hard_deadline:
            proc.kill()
            return True
    return False


def atheris_child(target: str, seconds: float, out: Path) -> None:
    """libFuzzer via atheris: instrumented imports, crash artifacts in ``out/findings``."""
    import atheris

    with atheris.instrument_imports():  # the code under test, imported instrumented
        for module in INSTRUMENTED.get(target, []):
            importlib.import_module(module)
        fn = load_target(target, Path(tempfile.mkdtemp(prefix=f"{target}-", dir=out)))
    corpus = out / f"corpus-{target}"
    corpus.mkdir(exist_ok=True)
    for i, data in enumerate(seeds(target)):
        (corpus / f"seed-{i}").write_bytes(data)
    (out / "findings").mkdir(exist_ok=True)
    tokens = out / f"{target}.dict"
    tokens.write_text("".join(f'"{_escape(t)}"\n' for t in DICTIONARIES.get(target, [])))
    argv = [sys.argv[0], f"-max_total_time={int(seconds)}", f"-timeout={int(TIMEOUT_S[target])}",
            f"-max_len={MAX_LEN[target]}", "-rss_limit_mb=4096", f"-dict={tokens}",
            f"-artifact_prefix={out}/findings/{target}-", str(corpus)]
    atheris.Setup(argv, fn)
    atheris.Fuzz()


def _escape(token: bytes) -> str:
    """A dictionary token in libFuzzer's syntax (printable ASCII, the rest as \\xNN)."""
    return "".join(chr(b) if 32 <= b < 127 and b not in b'"\\' else f"\\x{b:02x}" for b in token)


def main(argv: list[str] | None = None) -> int:
    """Fuzz one target or all of them; 0 when nothing was found."""
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz.engine", description=__doc__)
    parser.add_argument("target", choices=[*TARGETS, "selftest", "all"])
    parser.add_argument("--seconds", type=float, default=60.0, help="per target")
    parser.add_argument("--out", type=Path, required=True, help="a folder inside TMPDIR")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engine", choices=["auto", "atheris", "builtin"], default="auto")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    out = _guard(args.out)
    out.mkdir(parents=True, exist_ok=True)
    engine = args.engine
    if engine == "auto":
        engine = "atheris" if _has_atheris() else "builtin"
    if args.child:
        if engine == "atheris":
            atheris_child(args.target, args.seconds, out)
            return 0
        child(args.target, args.seconds, out, args.seed)
        return 0
    names = TARGETS if args.target == "all" else (args.target,)
    if "dataset" in names:  # built here, without the children's memory limit
        from tests.fuzz.base import base_dataset

        base_dataset()
    results = [supervise(name, args.seconds, out, engine) for name in names]
    for r in results:
        sys.stderr.write(json.dumps(r) + "\n")
    found = sorted(p.name for p in (out / "findings").glob("*")) if (out / "findings").is_dir() else []
    for name in found:
        sys.stderr.write(f"finding: {out / 'findings' / name}\n")
    return 1 if found or any(r["findings"] for r in results) else 0


def _has_atheris() -> bool:
    try:
        import atheris  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    os.environ.setdefault("MUJOCO_GL", "egl")
    sys.exit(main())
