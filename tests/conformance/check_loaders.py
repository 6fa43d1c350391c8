"""Train as a lab would in its first hour: shuffled torch ``DataLoader`` batches over every
split, through the OFFICIAL robomimic ``SequenceDataset`` and LeRobot ``LeRobotDataset``.

Runs inside the test-only venv (``.venv-lerobot/bin/python``); ``tests/conformance/harness.py``
starts it as a subprocess with a timeout. Prints one JSON object on stdout; exit 0 only if
every check passed.

* robomimic: for every mask in ``mask/`` (train, valid, ...), a ``SequenceDataset`` filtered
  by it (every observation key, ``seq_length`` 10 with padding, next observations, the
  ``all`` cache) through ``DataLoader(shuffle=True)`` for a whole epoch; the default collate
  stacks every batch, which fails if a key's shape differs between demos; every batch's
  shapes must be ``(B, 10, *shape)`` with ``shape`` from ``FileUtils.get_shape_metadata_from_dataset``
  (after robomimic's processing), and the samples seen must be the mask's.
* LeRobot: for every split in ``info.json``, ``LeRobotDataset(episodes=...)`` through
  ``DataLoader(shuffle=True)``: ``--lerobot-batches`` batches (videos decoded), each key's
  shape as ``info.json`` declares, episode indices inside the split.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
SEQ = 10
BATCH = 16


class Problems:
    """Collects problems (kept up to a limit, all counted)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.items: list[str] = []
        self.count = 0

    def add(self, msg: str) -> None:
        self.count += 1
        if len(self.items) < self.limit:
            self.items.append(msg)


def _obs_specs(path: Path) -> tuple[dict[str, list[str]], dict[str, tuple[int, ...]]]:
    """Every obs key of demo 0: uint8 (H, W, 3) as rgb, everything else low-dim."""
    import h5py

    with h5py.File(path, "r") as f:
        first = sorted(f["data"], key=lambda n: int(n[5:]))[0]
        obs = f["data"][first]["obs"]
        shapes = {k: tuple(obs[k].shape[1:]) for k in obs}
        rgb = sorted(
            k
            for k in obs
            if obs[k].dtype.name == "uint8" and len(shapes[k]) == 3 and shapes[k][-1] == 3
        )
        masks = sorted(f["mask"]) if "mask" in f else []
    low = sorted(k for k in shapes if k not in rgb)
    return {"low_dim": low, "rgb": rgb, "_masks": masks}, shapes


def robomimic_epochs(path: Path, probs: Problems) -> dict[str, Any]:
    """A shuffled epoch over every mask; every batch stacked with the shape metadata's shapes."""
    import torch
    from robomimic.utils import file_utils, obs_utils
    from robomimic.utils.dataset import SequenceDataset
    from torch.utils.data import DataLoader

    specs, raw_shapes = _obs_specs(path)
    masks = specs.pop("_masks")
    obs_utils.initialize_obs_utils_with_obs_specs({"obs": specs})
    keys = [*specs["low_dim"], *specs["rgb"]]
    meta = file_utils.get_shape_metadata_from_dataset(str(path), all_obs_keys=keys)
    out: dict[str, Any] = {"masks": {}, "obs_keys": keys, "shape_meta": meta["all_shapes"]}
    for mask in masks:
        ds = SequenceDataset(
            hdf5_path=str(path),
            obs_keys=keys,
            dataset_keys=("actions", "rewards", "dones"),
            load_next_obs=True,
            frame_stack=1,
            seq_length=SEQ,
            pad_frame_stack=True,
            pad_seq_length=True,
            get_pad_mask=False,
            goal_mode=None,
            hdf5_cache_mode="all",
            hdf5_use_swmr=True,
            hdf5_normalize_obs=False,
            filter_by_attribute=mask,
        )
        loader = DataLoader(
            ds,
            batch_size=BATCH,
            shuffle=True,
            num_workers=0,
            generator=torch.Generator().manual_seed(0),
        )
        seen = batches = 0
        try:
            for batch in loader:
                b = int(batch["actions"].shape[0])
                seen += b
                batches += 1
                if tuple(batch["actions"].shape) != (b, SEQ, int(meta["ac_dim"])):
                    probs.add(f"mask {mask}: actions batch {tuple(batch['actions'].shape)}")
                for k in keys:
                    for part in ("obs", "next_obs"):
                        got = tuple(batch[part][k].shape)
                        want = (b, SEQ, *raw_shapes[k])
                        if got != want:
                            probs.add(f"mask {mask}: {part}/{k} batch {got}, expected {want}")
                for k in specs["rgb"]:
                    img = obs_utils.process_obs(batch["obs"][k], obs_key=k)
                    if tuple(img.shape[-3:]) != tuple(meta["all_shapes"][k]):
                        probs.add(
                            f"mask {mask}: processed {k} {tuple(img.shape)} vs shape_meta {meta['all_shapes'][k]}"
                        )
        except Exception as exc:  # noqa: BLE001 - the official loader failing is the finding
            probs.add(f"mask {mask}: shuffled DataLoader failed: {type(exc).__name__}: {exc}")
        if seen != len(ds):
            probs.add(f"mask {mask}: an epoch gave {seen} samples, the dataset has {len(ds)}")
        out["masks"][mask] = {"samples": len(ds), "seen": seen, "batches": batches}
    return out


def lerobot_batches(root: Path, repo_id: str, batches: int, probs: Problems) -> dict[str, Any]:
    """Shuffled batches of every split through LeRobotDataset."""
    import torch
    from lerobot.datasets.lerobot_dataset import LeRobotDataset
    from torch.utils.data import DataLoader

    info = json.loads((root / "meta" / "info.json").read_text())
    out: dict[str, Any] = {"splits": {}}
    for split, rng in info["splits"].items():
        a, b = (int(x) for x in rng.split(":"))
        episodes = list(range(a, b))
        try:
            ds = LeRobotDataset(repo_id, root=root, episodes=episodes)
            loader = DataLoader(
                ds,
                batch_size=8,
                shuffle=True,
                num_workers=0,
                generator=torch.Generator().manual_seed(0),
            )
            n = 0
            for batch in loader:
                size = int(batch["index"].shape[0])
                for key, feat in info["features"].items():
                    if key not in batch:
                        probs.add(f"split {split}: batch lacks {key}")
                        continue
                    shape = tuple(feat["shape"])
                    if feat["dtype"] == "video":
                        want = (size, shape[2], shape[0], shape[1])
                    elif shape == (1,):
                        want = (size,)
                    else:
                        want = (size, *shape)
                    if tuple(batch[key].shape) != want:
                        probs.add(
                            f"split {split}: {key} batch {tuple(batch[key].shape)}, expected {want}"
                        )
                outside = set(batch["episode_index"].tolist()) - set(episodes)
                if outside:
                    probs.add(f"split {split}: batch holds episodes {sorted(outside)} outside it")
                n += 1
                if n >= batches:
                    break
            out["splits"][split] = {"episodes": len(episodes), "frames": len(ds), "batches": n}
        except Exception as exc:  # noqa: BLE001 - the official loader failing is the finding
            probs.add(
                f"split {split}: LeRobotDataset DataLoader failed: {type(exc).__name__}: {exc}"
            )
    return out


def main(argv: list[str] | None = None) -> int:
    """Run both loaders and print the JSON summary."""
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--root", type=Path, required=True, help="the dataset folder")
    ap.add_argument("--repo-id", default="bp/loaders")
    ap.add_argument("--lerobot-batches", type=int, default=6)
    ap.add_argument("--max-problems", type=int, default=50)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    probs = Problems(args.max_problems)
    summary: dict[str, Any] = {"root": str(args.root)}
    summary["robomimic"] = robomimic_epochs(args.root / "robomimic" / "dataset.hdf5", probs)
    summary["lerobot"] = lerobot_batches(args.root, args.repo_id, args.lerobot_batches, probs)
    summary["ok"] = probs.count == 0
    summary["problem_count"] = probs.count
    summary["problems"] = probs.items
    summary["wall_s"] = round(time.perf_counter() - t0, 3)
    sys.stdout.write(json.dumps(summary, default=str) + "\n")
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
