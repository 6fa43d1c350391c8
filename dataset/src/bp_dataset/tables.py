"""The schema of a dataset's metadata: info.json, features, tasks, episodes, splits.

:func:`load_meta` reads what every other check needs (info, tasks, the episode table)
and collects every schema problem on the way, each naming its file. The frame-level
tables (``data/*.parquet``) are scanned by :mod:`bp_dataset.data_scan`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from bp_sdk.errors import BPError, NotFoundError
from pydantic import ValidationError

from bp_dataset.features import Recording, features
from bp_dataset.info import Info
from bp_dataset.layout import (
    CODEBASE_VERSION,
    DATA_PATH,
    EPISODES_PATH,
    INFO,
    TASKS,
    VIDEO_PATH,
    data_path,
    episodes_path,
    video_path,
)
from bp_dataset.report import Problems
from bp_dataset.root import DatasetRoot

EPISODES_FILE_RE = re.compile(r"^meta/episodes/chunk-(\d{3,})/file-(\d{3,})\.parquet$")
DATA_FILE_RE = re.compile(r"^data/chunk-(\d{3,})/file-(\d{3,})\.parquet$")
TASK_TEXT_COLUMNS = ("__index_level_0__", "task")  # pandas writes the index by its name


@dataclass
class VideoRef:
    """Where one episode lies in one video key's files."""

    path: str
    from_timestamp: float
    to_timestamp: float


@dataclass
class Episodes:
    """The columns of ``meta/episodes`` every check uses, indexed by episode index."""

    length: list[int] = field(default_factory=list)
    tasks: list[list[str]] = field(default_factory=list)
    data_file: list[str] = field(default_factory=list)
    from_index: list[int] = field(default_factory=list)
    to_index: list[int] = field(default_factory=list)
    videos: dict[str, list[VideoRef]] = field(default_factory=dict)
    extra: dict[str, list[Any]] = field(default_factory=dict)  # every other column

    def __len__(self) -> int:
        return len(self.length)


@dataclass
class Meta:
    """What :func:`load_meta` could read (None where it could not)."""

    info: Info | None = None
    info_raw: dict[str, Any] | None = None
    tasks: list[str] | None = None
    episodes: Episodes | None = None


def _problem_path(exc: BPError) -> str:
    return str(exc.message)[:200]


def read_json(root: DatasetRoot, rel: str, problems: Problems) -> Any:
    """Parsed JSON of a dataset file, or None with the problem recorded."""
    try:
        return json.loads(root.read(rel))
    except NotFoundError:
        problems.add(f"{rel}: missing")
    except BPError as exc:  # there, but refused (a named pipe in a local folder, say)
        problems.add(f"{rel}: cannot be read ({_problem_path(exc)})")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        problems.add(f"{rel}: not valid JSON ({str(exc)[:120]})")
    return None


def read_table(root: DatasetRoot, rel: str, problems: Problems) -> pa.Table | None:
    """A whole (small) parquet table, or None with the problem recorded."""
    try:
        with root.open(rel) as f:
            return pq.read_table(f)
    except BPError as exc:
        problems.add(f"{rel}: cannot be read ({_problem_path(exc)})")
    except (pa.ArrowException, OSError, ValueError) as exc:
        problems.add(f"{rel}: not a readable parquet file ({str(exc)[:160]})")
    return None


def load_info(root: DatasetRoot, problems: Problems) -> tuple[Info | None, dict[str, Any] | None]:
    """``meta/info.json`` through the :class:`Info` model, every field problem listed."""
    raw = read_json(root, INFO, problems)
    if raw is None:
        return None, None
    if not isinstance(raw, dict):
        problems.add(f"{INFO}: expected a JSON object")
        return None, None
    version = raw.get("codebase_version")
    if version != CODEBASE_VERSION:
        problems.add(
            f"{INFO}: codebase_version is {version!r}, expected {CODEBASE_VERSION!r} (LeRobot v3.0)"
        )
    try:
        info = Info.model_validate(raw)
    except ValidationError as exc:
        for err in exc.errors():
            loc = ".".join(str(p) for p in err.get("loc", ()))
            if loc == "codebase_version":
                continue
            problems.add(f"{INFO}: {loc or '(root)'}: {err.get('msg', 'invalid')}")
        return None, raw
    return info, raw


def expected_features(info: Info, problems: Problems) -> dict[str, Any] | None:
    """The features dict :func:`bp_dataset.features.features` builds for this recording."""
    block = info.blueprintpipeline
    cams = list(block.cameras)
    if not cams:
        problems.add(f"{INFO}: blueprintpipeline.cameras is empty")
        return None
    sizes = {(c.width, c.height) for c in block.cameras.values()}
    if len(sizes) != 1 or len({*next(iter(sizes))}) != 1:
        problems.add(f"{INFO}: cameras must share one square resolution, got {sorted(sizes)}")
        return None
    resolution = next(iter(sizes))[0]
    video = [v for v in info.features.values() if v.get("dtype") == "video"]
    vinfo = video[0].get("info", {}) if video else {}
    codec, pix_fmt = vinfo.get("video.codec"), vinfo.get("video.pix_fmt")
    if not isinstance(codec, str) or not isinstance(pix_fmt, str):
        problems.add(f"{INFO}: video features must declare info.video.codec and video.pix_fmt")
        return None
    rec = Recording(info.fps, resolution, tuple(cams), block.tier, info.robot_type)
    return features(rec, codec, pix_fmt)


def check_features(info: Info, problems: Problems) -> dict[str, Any] | None:
    """Features of info.json == the ones built for its recording; the templates are ours."""
    want = expected_features(info, problems)
    if info.data_path != DATA_PATH:
        problems.add(f"{INFO}: data_path is {info.data_path!r}, expected {DATA_PATH!r}")
    if info.video_path != VIDEO_PATH:
        problems.add(f"{INFO}: video_path is {info.video_path!r}, expected {VIDEO_PATH!r}")
    if want is None:
        return None
    got = info.features
    for key in want:
        if key not in got:
            problems.add(f"{INFO}: feature {key!r} is missing")
        elif got[key] != want[key]:
            diff = sorted(k for k in {*want[key], *got[key]} if want[key].get(k) != got[key].get(k))
            problems.add(
                f"{INFO}: feature {key!r} differs in {', '.join(diff)} "
                f"(expected {[want[key].get(k) for k in diff]}, got {[got[key].get(k) for k in diff]})"
            )
    for key in got:
        if key not in want:
            problems.add(
                f"{INFO}: unexpected feature {key!r} (not part of tier {info.blueprintpipeline.tier!r})"
            )
    return want


def load_tasks(root: DatasetRoot, problems: Problems) -> list[str] | None:
    """Task strings by task index, from ``meta/tasks.parquet``."""
    table = read_table(root, TASKS, problems)
    if table is None:
        return None
    names = table.column_names
    text_col = next((c for c in TASK_TEXT_COLUMNS if c in names), None)
    if "task_index" not in names or text_col is None:
        problems.add(
            f"{TASKS}: columns are {names}, expected 'task_index' and the task string "
            "(the pandas index)"
        )
        return None
    if _pandas_index(table) != [text_col]:
        problems.add(
            f"{TASKS}: the task strings must be the pandas index (schema metadata 'pandas' with "
            f"index_columns [{text_col!r}]); without it LeRobot reads task indices as tasks"
        )
    if not pa.types.is_integer(table.schema.field("task_index").type):
        problems.add(
            f"{TASKS}: task_index must be an integer column, got {table.schema.field('task_index').type}"
        )
    idx = table.column("task_index").to_pylist()
    text = table.column(text_col).to_pylist()
    if idx != list(range(len(idx))):
        problems.add(f"{TASKS}: task_index must be 0..{len(idx) - 1} in row order, got {idx[:10]}")
    if any(not isinstance(t, str) or not t.strip() for t in text):
        problems.add(f"{TASKS}: every task must be a non-empty string")
    if len(set(text)) != len(text):
        problems.add(f"{TASKS}: task strings must be unique")
    return [str(t) for t in text]


def _pandas_index(table: pa.Table) -> list[str] | None:
    raw = (table.schema.metadata or {}).get(b"pandas")
    if raw is None:
        return None
    try:
        cols = json.loads(raw).get("index_columns")
    except (ValueError, AttributeError):
        return None
    return [c for c in cols if isinstance(c, str)] if isinstance(cols, list) else None


def _episode_columns(video_keys: list[str]) -> dict[str, str]:
    """Required ``meta/episodes`` columns and their kind (int, float, strings)."""
    cols = {
        "episode_index": "int",
        "tasks": "strings",
        "length": "int",
        "data/chunk_index": "int",
        "data/file_index": "int",
        "dataset_from_index": "int",
        "dataset_to_index": "int",
        "meta/episodes/chunk_index": "int",
        "meta/episodes/file_index": "int",
    }
    for key in video_keys:
        for part in ("chunk_index", "file_index"):
            cols[f"videos/{key}/{part}"] = "int"
        for part in ("from_timestamp", "to_timestamp"):
            cols[f"videos/{key}/{part}"] = "float"
    return cols


def _kind_ok(kind: str, t: pa.DataType) -> bool:
    if kind == "int":
        return bool(pa.types.is_integer(t))
    if kind == "float":
        return bool(pa.types.is_floating(t))
    return bool(
        (pa.types.is_list(t) or pa.types.is_large_list(t))
        and (pa.types.is_string(t.value_type) or pa.types.is_large_string(t.value_type))
    )


def _columns_ok(rel: str, table: pa.Table, required: dict[str, str], problems: Problems) -> bool:
    """Every required column is there, of its kind and without nulls (each miss listed)."""
    bad = False
    for col, kind in required.items():
        if col not in table.column_names:
            problems.add(f"{rel}: column {col!r} is missing")
            bad = True
        elif not _kind_ok(kind, table.schema.field(col).type):
            problems.add(
                f"{rel}: column {col!r} has type {table.schema.field(col).type}, expected {kind}"
            )
            bad = True
        elif table.column(col).null_count:
            problems.add(f"{rel}: column {col!r} has {table.column(col).null_count} null values")
            bad = True
    return not bad


def _file_rows(
    root: DatasetRoot, rel: str, required: dict[str, str], problems: Problems
) -> list[dict[str, Any]]:
    """The rows of one ``meta/episodes`` file (none if it is misnamed, unreadable or bad)."""
    m = EPISODES_FILE_RE.fullmatch(rel)
    if m is None:
        problems.add(f"{rel}: unexpected file under meta/episodes (expected {EPISODES_PATH})")
        return []
    table = read_table(root, rel, problems)
    if table is None or not _columns_ok(rel, table, required, problems):
        return []
    chunk, file_ = int(m.group(1)), int(m.group(2))
    rows: list[dict[str, Any]] = table.to_pylist()
    for row in rows:
        if (row["meta/episodes/chunk_index"], row["meta/episodes/file_index"]) != (chunk, file_):
            problems.add(
                f"{rel}: episode {row['episode_index']} says it is in meta/episodes chunk "
                f"{row['meta/episodes/chunk_index']} file {row['meta/episodes/file_index']}"
            )
    return rows


def _indices_ok(rows: list[dict[str, Any]], problems: Problems) -> bool:
    """The (sorted) rows' episode indices are 0..n-1, no gaps or repeats."""
    index = [r["episode_index"] for r in rows]
    if index != list(range(len(index))):
        problems.add(
            f"meta/episodes: episode indices must be 0..{len(index) - 1} without gaps or repeats, got {_head(index)}"
        )
        return False
    return True


def _check_span(
    where: str, r: dict[str, Any], expected_from: int, problems: Problems
) -> tuple[int, int]:
    """A row's length (0 when invalid) and where the next episode must start."""
    length, start, end = r["length"], r["dataset_from_index"], r["dataset_to_index"]
    if length is None or length < 1:
        problems.add(f"{where}: length {length} must be at least 1")
        length = 0
    if start != expected_from or end != start + length:
        problems.add(
            f"{where}: dataset_from_index/to_index are {start}/{end}, expected "
            f"{expected_from}/{expected_from + length} (episodes back to back, length {length})"
        )
    return length, end if isinstance(end, int) else expected_from + length


def _check_tasks(
    where: str, ep_tasks: list[str], tasks: list[str] | None, known: set[str], problems: Problems
) -> None:
    """An episode names at least one task, each of them in ``meta/tasks.parquet``."""
    if not ep_tasks:
        problems.add(f"{where}: tasks is empty")
    if tasks is not None and not set(ep_tasks) <= known:
        problems.add(f"{where}: tasks {sorted(set(ep_tasks) - known)} are not in {TASKS}")


def _append(
    ep: Episodes,
    r: dict[str, Any],
    length: int,
    ep_tasks: list[str],
    video_keys: list[str],
    required: dict[str, str],
) -> None:
    """Add one row to the episode columns (every column not required to ``extra``)."""
    ep.length.append(length)
    ep.tasks.append(ep_tasks)
    ep.from_index.append(r["dataset_from_index"])
    ep.to_index.append(r["dataset_to_index"])
    ep.data_file.append(data_path(r["data/chunk_index"], r["data/file_index"]))
    for key in video_keys:
        p = f"videos/{key}/"
        ep.videos[key].append(
            VideoRef(
                video_path(key, r[p + "chunk_index"], r[p + "file_index"]),
                float(r[p + "from_timestamp"]),
                float(r[p + "to_timestamp"]),
            )
        )
    for col, value in r.items():
        if col not in required:
            ep.extra.setdefault(col, []).append(value)


def _episodes(
    rows: list[dict[str, Any]],
    video_keys: list[str],
    required: dict[str, str],
    tasks: list[str] | None,
    problems: Problems,
) -> Episodes:
    """The episode columns from rows in index order, each row checked on the way."""
    ep = Episodes(videos={k: [] for k in video_keys})
    known = set(tasks or [])
    expected_from = 0
    for i, r in enumerate(rows):
        where = f"meta/episodes: episode {i}"
        length, expected_from = _check_span(where, r, expected_from, problems)
        ep_tasks = list(r["tasks"] or [])
        _check_tasks(where, ep_tasks, tasks, known, problems)
        _append(ep, r, length, ep_tasks, video_keys, required)
    return ep


def _check_totals(info: Info, ep: Episodes, tasks: list[str] | None, problems: Problems) -> None:
    """info.json's totals of episodes, frames and tasks match the tables."""
    total = sum(ep.length)
    if len(ep) != info.total_episodes:
        problems.add(
            f"{INFO}: total_episodes is {info.total_episodes}, meta/episodes has {len(ep)}"
        )
    if total != info.total_frames:
        problems.add(
            f"{INFO}: total_frames is {info.total_frames}, the episodes' lengths sum to {total}"
        )
    if tasks is not None and info.total_tasks != len(tasks):
        problems.add(f"{INFO}: total_tasks is {info.total_tasks}, {TASKS} has {len(tasks)}")


def load_episodes(
    root: DatasetRoot, info: Info, tasks: list[str] | None, problems: Problems
) -> Episodes | None:
    """The episode table (all ``meta/episodes`` files), checked row by row."""
    files = sorted(f.path for f in root.under("meta/episodes"))
    if not files:
        problems.add(f"{episodes_path(0, 0)}: missing (no meta/episodes/*.parquet)")
        return None
    video_keys = info.video_keys()
    required = _episode_columns(video_keys)
    rows = [row for rel in files for row in _file_rows(root, rel, required, problems)]
    if not rows:
        return None
    rows.sort(key=lambda r: r["episode_index"])
    if not _indices_ok(rows, problems):
        return None
    ep = _episodes(rows, video_keys, required, tasks, problems)
    _check_totals(info, ep, tasks, problems)
    return ep


def check_splits(info: Info, episodes: int, problems: Problems) -> None:
    """Splits are disjoint and together cover every episode exactly once."""
    seen: dict[int, str] = {}
    for name, rng in info.split_ranges().items():
        if rng.stop > episodes or rng.start >= rng.stop:
            problems.add(
                f"{INFO}: split {name!r} is {rng.start}:{rng.stop}, outside 0:{episodes} or empty"
            )
        for i in rng:
            if i in seen:
                problems.add(f"{INFO}: episode {i} is in splits {seen[i]!r} and {name!r}")
                break
            seen[i] = name
    uncovered = sorted(set(range(episodes)) - set(seen))
    if uncovered:
        problems.add(f"{INFO}: episodes {_head(uncovered)} are in no split")


def _head(values: list[int], n: int = 10) -> str:
    shown = ", ".join(str(v) for v in values[:n])
    return f"[{shown}{', ...' if len(values) > n else ''}]"


def load_meta(root: DatasetRoot, problems: Problems) -> Meta:
    """Everything the other checks need, with every schema problem of the metadata."""
    meta = Meta()
    meta.info, meta.info_raw = load_info(root, problems)
    if meta.info is None:
        return meta
    check_features(meta.info, problems)
    meta.tasks = load_tasks(root, problems)
    meta.episodes = load_episodes(root, meta.info, meta.tasks, problems)
    if meta.episodes is not None:
        check_splits(meta.info, len(meta.episodes), problems)
        check_split_column(meta.info, meta.episodes, problems)
    return meta


def check_split_column(info: Info, episodes: Episodes, problems: Problems) -> None:
    """An episode's ``split`` column (ours, when present) names the split that holds it."""
    named = episodes.extra.get("split")
    if named is None:
        return
    where = {i: name for name, rng in info.split_ranges().items() for i in rng}
    wrong = [e for e, s in enumerate(named) if where.get(e) not in (None, s)]
    if wrong:
        problems.add(
            f"meta/episodes: episodes {_head(wrong)} have a 'split' column unlike info.json's splits"
        )
