"""The valid dataset the ``dataset`` fuzz target mutates: the real pipeline's export of a
small kitchen_counter run (ingest → episodes → export, ~30 s), built once and kept in
``<TMPDIR>/bp-fuzz-cache-<uid>/`` while it still verifies."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

DATASET_ID = "fuzz-base"


def _cache() -> Path:
    return Path(tempfile.gettempdir()) / f"bp-fuzz-cache-{os.getuid()}"


def _verifies(folder: Path) -> bool:
    from bp_dataset.root import open_target
    from bp_dataset.verify import verify_dataset

    if not (folder / "meta" / "info.json").is_file():
        return False
    root = open_target(str(folder))
    try:
        return verify_dataset(root, workers=2).passed
    finally:
        root.close()


def base_dataset() -> Path:
    """The base dataset's folder (built by the real stages when missing or stale)."""
    cache = _cache()
    folder = cache / "dataset"
    if _verifies(folder):
        return folder
    from tests.datasets import build_episodes_store, export_dataset

    cache.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix="build-", dir=cache))
    try:
        store = build_episodes_store(build / "store", "core")
        ds = export_dataset(store.storage, store.run, DATASET_ID)
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(ds.root, build / "dataset")
        (build / "dataset").rename(folder)
    finally:
        shutil.rmtree(build, ignore_errors=True)
    if not _verifies(folder):
        raise RuntimeError("the freshly exported base dataset does not verify")
    return folder
