"""Load an HDF5 with robomimic's OFFICIAL ``SequenceDataset`` and check its conventions.

Runs inside the test-only venv (``.venv-lerobot/bin/python``, see ``scripts/lerobot_env.sh``);
``tests/conformance/harness.py`` starts it as a subprocess with a timeout. Prints one JSON
object on stdout; exit 0 only if every check passed.

What it checks (robomimic 0.3 conventions; every problem collected):
* ``data.attrs["env_args"]`` is JSON with ``env_name``, ``type``, ``env_kwargs``
  (``file_utils.get_env_metadata_from_dataset``) and ``data.attrs["total"]`` equals the sum of
  every ``demo_N.attrs["num_samples"]``;
* each ``data/demo_N``: ``actions`` (T, A), ``rewards`` (T,), ``dones`` (T,), every
  ``obs/<key>`` and ``next_obs/<key>`` with T rows, ``num_samples`` = T, last ``done`` set;
* ``mask/<name>`` (if present) lists existing demos; ``train`` and ``valid`` are disjoint and
  together cover every demo;
* ``SequenceDataset`` (obs keys split into low-dim and rgb as declared, or inferred:
  uint8 (T, H, W, 3) is rgb) has ``len`` = ``total``; EVERY sample is fetched, its
  ``actions`` is (1, A) and each obs is (1, *shape); rgb obs go through
  ``obs_utils.process_obs`` to (3, H, W) floats in [0, 1]; ``file_utils.get_shape_metadata_
  from_dataset`` agrees; each mask loads through ``filter_by_attribute`` with its demos'
  sample count.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any


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


def _demo_order(names: list[str]) -> list[str]:
    return sorted(
        names, key=lambda n: int(n[5:]) if n.startswith("demo_") and n[5:].isdigit() else -1
    )


def check_file(path: Path, probs: Problems) -> dict[str, Any]:
    """The raw HDF5 layout, with h5py (what SequenceDataset assumes without checking)."""
    import h5py
    import numpy as np

    out: dict[str, Any] = {}
    with h5py.File(path, "r") as f:
        if "data" not in f:
            probs.add("no 'data' group")
            return out
        data = f["data"]
        try:
            env = json.loads(data.attrs["env_args"])
            missing = [k for k in ("env_name", "type", "env_kwargs") if k not in env]
            if missing:
                probs.add(f"data.attrs['env_args'] lacks {missing}")
            out["env_args"] = env
        except (KeyError, ValueError, TypeError) as exc:
            probs.add(f"data.attrs['env_args'] is not readable JSON: {exc}")
        demos = list(data.keys())
        bad_names = [d for d in demos if not (d.startswith("demo_") and d[5:].isdigit())]
        if bad_names:
            probs.add(
                f"groups under data/ must be named demo_<int> (SequenceDataset sorts by int(name[5:])): {bad_names[:5]}"
            )
        demos = _demo_order([d for d in demos if d not in bad_names])
        out["demos"] = len(demos)
        total = 0
        obs_shapes: dict[str, tuple[tuple[int, ...], str]] = {}
        action_dim = None
        for d in demos:
            g = data[d]
            n = g.attrs.get("num_samples")
            if n is None:
                probs.add(f"{d}: no num_samples attribute")
                continue
            n = int(n)
            total += n
            for key in ("actions", "rewards", "dones"):
                if key not in g:
                    probs.add(f"{d}: no {key}")
                elif g[key].shape[0] != n:
                    probs.add(f"{d}/{key}: {g[key].shape[0]} rows, num_samples = {n}")
            if "actions" in g:
                if g["actions"].ndim != 2:
                    probs.add(f"{d}/actions: shape {g['actions'].shape}, expected (T, A)")
                elif action_dim is None:
                    action_dim = g["actions"].shape[1]
                elif g["actions"].shape[1] != action_dim:
                    probs.add(f"{d}/actions: {g['actions'].shape[1]} dims, demo 0 has {action_dim}")
            for key in ("rewards", "dones"):
                if key in g and g[key].ndim != 1:
                    probs.add(f"{d}/{key}: shape {g[key].shape}, expected (T,)")
            if "dones" in g and n and not bool(np.asarray(g["dones"][-1])):
                probs.add(f"{d}/dones: the last step is not done")
            for prefix in ("obs", "next_obs"):
                if prefix not in g:
                    probs.add(f"{d}: no {prefix} group")
                    continue
                for key, ds in g[prefix].items():
                    if ds.shape[0] != n:
                        probs.add(f"{d}/{prefix}/{key}: {ds.shape[0]} rows, num_samples = {n}")
                    sig = (tuple(ds.shape[1:]), str(ds.dtype))
                    prev = obs_shapes.setdefault(key, sig)
                    if prev != sig:
                        probs.add(f"{d}/{prefix}/{key}: shape/dtype {sig}, elsewhere {prev}")
            if "obs" in g and "next_obs" in g and set(g["obs"]) != set(g["next_obs"]):
                probs.add(
                    f"{d}: obs keys {sorted(g['obs'])} != next_obs keys {sorted(g['next_obs'])}"
                )
        out["total_from_demos"] = total
        got_total = data.attrs.get("total")
        out["total"] = None if got_total is None else int(got_total)
        if got_total is None:
            probs.add("data.attrs['total'] is missing")
        elif int(got_total) != total:
            probs.add(
                f"data.attrs['total'] = {int(got_total)}, the demos' num_samples add up to {total}"
            )
        out["action_dim"] = action_dim
        out["obs"] = {k: {"shape": list(s), "dtype": t} for k, (s, t) in obs_shapes.items()}
        masks: dict[str, list[str]] = {}
        if "mask" in f:
            for name, ds in f["mask"].items():
                masks[name] = [e.decode("utf-8") if isinstance(e, bytes) else str(e) for e in ds[:]]
                unknown = sorted(set(masks[name]) - set(demos))
                if unknown:
                    probs.add(f"mask/{name} names demos that do not exist: {unknown[:5]}")
            if "train" in masks and "valid" in masks:
                both = set(masks["train"]) & set(masks["valid"])
                if both:
                    probs.add(f"mask/train and mask/valid share demos: {sorted(both)[:5]}")
                missing = set(demos) - set(masks["train"]) - set(masks["valid"])
                if missing:
                    probs.add(f"mask/train + mask/valid leave out demos: {sorted(missing)[:5]}")
        out["masks"] = {k: len(v) for k, v in masks.items()}
        out["_mask_demos"] = masks
        out["_num_samples"] = {d: int(data[d].attrs.get("num_samples", 0)) for d in demos}
    return out


def split_keys(
    obs: dict[str, dict[str, Any]], low_dim: list[str] | None, rgb: list[str] | None
) -> tuple[list[str], list[str]]:
    """Declared keys win; otherwise uint8 (H, W, 3) is rgb and everything else low-dim."""
    if low_dim is not None or rgb is not None:
        return sorted(low_dim or []), sorted(rgb or [])
    rgb_keys = [
        k
        for k, v in obs.items()
        if v["dtype"] == "uint8" and len(v["shape"]) == 3 and v["shape"][-1] == 3
    ]
    return sorted(k for k in obs if k not in rgb_keys), sorted(rgb_keys)


def check_sequence_dataset(
    path: Path, raw: dict[str, Any], low_dim: list[str], rgb: list[str], probs: Problems
) -> dict[str, Any]:
    """Load with robomimic's SequenceDataset and fetch every sample."""
    import numpy as np
    from robomimic.utils import file_utils, obs_utils
    from robomimic.utils.dataset import SequenceDataset

    obs_utils.initialize_obs_utils_with_obs_specs({"obs": {"low_dim": low_dim, "rgb": rgb}})
    obs_keys = [*low_dim, *rgb]
    env_meta = file_utils.get_env_metadata_from_dataset(str(path))
    shape_meta = file_utils.get_shape_metadata_from_dataset(str(path), all_obs_keys=obs_keys)
    if raw.get("action_dim") is not None and shape_meta["ac_dim"] != raw["action_dim"]:
        probs.add(f"FileUtils shape metadata: ac_dim {shape_meta['ac_dim']} != {raw['action_dim']}")
    for k in rgb:
        h, w, c = raw["obs"][k]["shape"]
        if list(shape_meta["all_shapes"][k]) != [c, h, w]:
            probs.add(
                f"FileUtils shape metadata: {k} processed to {shape_meta['all_shapes'][k]}, expected {[c, h, w]}"
            )

    ds = SequenceDataset(
        hdf5_path=str(path),
        obs_keys=obs_keys,
        dataset_keys=("actions", "rewards", "dones"),
        load_next_obs=True,
        frame_stack=1,
        seq_length=1,
        pad_frame_stack=True,
        pad_seq_length=True,
        get_pad_mask=False,
        goal_mode=None,
        hdf5_cache_mode="low_dim",
        hdf5_use_swmr=True,
        hdf5_normalize_obs=False,
        filter_by_attribute=None,
    )
    out: dict[str, Any] = {"num_samples": len(ds), "env_name": env_meta.get("env_name")}
    if raw.get("total") is not None and len(ds) != raw["total"]:
        probs.add(f"SequenceDataset has {len(ds)} samples, data.attrs['total'] = {raw['total']}")
    a_dim = raw.get("action_dim")
    fetched = 0
    for i in range(len(ds)):
        try:
            s = ds[i]
        except Exception as exc:  # noqa: BLE001 - the official reader failing is the finding
            probs.add(f"sample {i}: SequenceDataset raised {type(exc).__name__}: {exc}")
            continue
        fetched += 1
        if a_dim is not None and s["actions"].shape != (1, a_dim):
            probs.add(f"sample {i}: actions shape {s['actions'].shape}, expected (1, {a_dim})")
        for prefix in ("obs", "next_obs"):
            for k in obs_keys:
                want = (1, *raw["obs"][k]["shape"])
                got = tuple(s[prefix][k].shape)
                if got != want:
                    probs.add(f"sample {i}: {prefix}/{k} shape {got}, expected {want}")
        for k in rgb:
            img = obs_utils.process_obs(s["obs"][k][0], obs_key=k)
            h, w, c = raw["obs"][k]["shape"]
            if tuple(img.shape) != (c, h, w) or not np.issubdtype(img.dtype, np.floating):
                probs.add(
                    f"sample {i}: processed {k} is {img.shape} {img.dtype}, expected ({c}, {h}, {w}) float"
                )
            elif img.size and (float(img.min()) < 0.0 or float(img.max()) > 1.0):
                probs.add(f"sample {i}: processed {k} outside [0, 1]")
    out["samples_fetched"] = fetched
    masks = raw.get("_mask_demos", {})
    for name, demos in masks.items():
        sub = SequenceDataset(
            hdf5_path=str(path),
            obs_keys=obs_keys,
            dataset_keys=("actions",),
            load_next_obs=False,
            hdf5_cache_mode=None,
            filter_by_attribute=name,
        )
        want = sum(raw["_num_samples"].get(d, 0) for d in demos)
        if len(sub) != want:
            probs.add(f"filter_by_attribute={name!r}: {len(sub)} samples, its demos hold {want}")
    return out


def main(argv: list[str] | None = None) -> int:
    """Run every check and print the JSON summary."""
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--hdf5", type=Path, required=True)
    ap.add_argument(
        "--low-dim", nargs="*", default=None, help="low-dim obs keys (default: inferred)"
    )
    ap.add_argument("--rgb", nargs="*", default=None, help="rgb obs keys (default: inferred)")
    ap.add_argument("--max-problems", type=int, default=50)
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    probs = Problems(args.max_problems)
    summary: dict[str, Any] = {"hdf5": str(args.hdf5)}
    try:
        raw = check_file(args.hdf5, probs)
    except OSError as exc:
        probs.add(f"cannot open the HDF5: {exc}")
        raw = {}
    summary.update({k: v for k, v in raw.items() if not k.startswith("_")})
    if raw.get("obs"):
        low_dim, rgb = split_keys(raw["obs"], args.low_dim, args.rgb)
        missing = sorted(set(low_dim + rgb) - set(raw["obs"]))
        if missing:
            probs.add(f"declared obs keys not in the file: {missing}")
        else:
            summary["low_dim_keys"], summary["rgb_keys"] = low_dim, rgb
            try:
                summary.update(check_sequence_dataset(args.hdf5, raw, low_dim, rgb, probs))
            except Exception as exc:  # noqa: BLE001 - the official loader refusing the file is the finding
                probs.add(f"robomimic refused the file: {type(exc).__name__}: {exc}")
    elif "demos" in raw:
        probs.add("no observation keys found in data/demo_*/obs")
    summary["ok"] = probs.count == 0
    summary["problem_count"] = probs.count
    summary["problems"] = probs.items
    summary["wall_s"] = round(time.perf_counter() - t0, 3)
    sys.stdout.write(json.dumps(summary, default=str) + "\n")
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
