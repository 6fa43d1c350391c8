"""robomimic 0.3 HDF5 (``robomimic/dataset.hdf5``), written demo by demo with h5py.

The file follows what robomimic's ``SequenceDataset`` and ``FileUtils`` read::

    data                                  attrs: total (samples), env_args (JSON)
    data/demo_<i>                         i = the LeRobot episode_index
        attrs: num_samples, episode_id, scene_id, run_id, task_id, task_index,
               success, split, seed, lang (the instruction), ep_meta (JSON of those)
        actions        (T, 8) float32     7 joint position targets (rad) + gripper command (0..1)
        rewards        (T,)   float32     sparse success reward (see reward.py)
        dones          (T,)   int64       1 on the last frame, else 0 (robomimic stores 0/1)
        obs/<key>      (T, ...)           observation at frame t
        next_obs/<key> (T, ...)           observation at frame t+1; the last frame repeated
    mask/train, mask/valid                byte strings of demo names = the LeRobot splits
    mask/train_success, mask/valid_success   the same, successful demos only

Observation keys (robosuite's names where the quantity is the same, else our own):

| robomimic key | from | shape | meaning |
|---|---|---|---|
| ``robot0_joint_pos`` | ``observation.state[:7]`` | 7 | arm joint positions (rad) |
| ``robot0_gripper_opening`` | ``observation.state[7]`` | 1 | gripper opening, both fingers (m) |
| ``robot0_joint_vel`` | ``observation.velocity[:7]`` | 7 | arm joint velocities (rad/s) |
| ``robot0_gripper_opening_vel`` | ``observation.velocity[7]`` | 1 | opening rate (m/s) |
| ``robot0_eef_pos`` | ``observation.ee_pose[:3]`` | 3 | grip site position, world (m) |
| ``robot0_eef_quat`` | ``observation.ee_pose[3:]`` | 4 | grip site orientation, **x y z w** |
| ``object`` | ``observation.object_poses`` (full) | 7n | per movable object: position (m) + quaternion **x y z w** |
| ``object_contacts`` | ``observation.contacts`` (full) | 4n | per movable object: touches robot, touches other, contacts, depth (m) |
| ``object_present`` | ``observation.object_present`` (full) | n | per object: 1 if it exists in the demo's scene variant |
| ``<camera>_image`` | ``observation.images.<camera>`` | H W 3 uint8 | RGB |
| ``<camera>_depth`` | ``observation.depth.<camera>`` (plus/full) | H W 1 float32 | depth (m) |

Quaternions are reordered to x y z w (robosuite's convention, which robomimic's
``robot0_eef_quat`` means); the LeRobot dataset keeps w x y z. ``n`` is the length of the
dataset's fixed object list (``info.json → blueprintpipeline.objects``): the same in
every demo, absent objects' rows filled (see :mod:`bp_export.objects`).

``env_args``: our environment is a MuJoCo scene compiled by BlueprintPipeline, not a
robosuite or gym environment, so robomimic cannot instantiate it. ``type`` is
:data:`ENV_TYPE` (100), a value outside robomimic's ``EnvType`` (1 robosuite, 2 gym,
3 iGibson-MOMART): loading, training and evaluation on the data work, environment
rollouts do not (train with ``experiment.rollout.enabled = false``). ``env_kwargs``
describes the simulator, robot, control, cameras and scenes honestly.

``next_obs`` image datasets are HDF5 virtual datasets over ``obs`` (same file), so
images are stored once; readers see ordinary ``(T, H, W, 3)`` arrays (HDF5 >= 1.10).
No object stores a timestamp (:mod:`bp_export.hdf5`): the same demos give the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, Literal

import h5py
import numpy as np
from bp_sdk.errors import ConfigError, PermanentError, Problem
from numpy.typing import NDArray

from bp_export import hdf5
from bp_export.robomimic_checks import demo_problems
from bp_export.robomimic_keys import (
    ENV_TYPE,
    IMAGE_PREFIXES,
    LOWDIM_MAP,
    ObsField,
    build_env_meta,
    env_meta_problems,
    image_obs_key,
    obs_key_map,
)
from bp_export.sources import ExportEpisode

__all__ = [
    "ENV_TYPE",
    "IMAGE_PREFIXES",
    "LOWDIM_MAP",
    "ObsField",
    "RobomimicWriter",
    "build_env_meta",
    "image_obs_key",
    "obs_key_map",
]

ROBOMIMIC_VERSION: Final = "0.3"
DEMO_PREFIX: Final = "demo_"


def _quat_xyzw(a: NDArray[Any]) -> NDArray[Any]:
    """Reorder the last 4 columns of the last axis from w x y z to x y z w."""
    out = a.copy()
    out[..., -4:-1] = a[..., -3:]
    out[..., -1] = a[..., -4]
    return out


def _next(a: NDArray[Any]) -> NDArray[Any]:
    """Observation at t+1, the last frame repeated (robomimic's convention)."""
    return np.concatenate([a[1:], a[-1:]], axis=0)


class RobomimicWriter:
    """Writes ``robomimic/dataset.hdf5`` one demo at a time (one episode in memory at most).

    ``image_keys``: recorded streams ``observation.images.<camera>`` (and, optionally,
    ``observation.depth.<camera>``); ``lowdim_keys``: recorded streams among
    :data:`LOWDIM_MAP`. Use as a context manager or call :meth:`close` / :meth:`abort`.
    """

    def __init__(
        self,
        path: str | Path,
        env_meta: Mapping[str, Any],
        image_keys: Sequence[str],
        lowdim_keys: Sequence[str],
        *,
        compression: Literal["gzip", "lzf"] = "gzip",
        compression_level: int = 1,
        virtual_next_images: bool = True,
    ) -> None:
        problems = env_meta_problems(env_meta)
        for k in lowdim_keys:
            if k not in LOWDIM_MAP:
                problems.append(
                    Problem(
                        "lowdim_keys",
                        f"{k!r} has no robomimic mapping; known: {sorted(LOWDIM_MAP)}",
                    )
                )
        image_names: dict[str, str] = {}
        for k in image_keys:
            try:
                image_names[k] = image_obs_key(k)
            except ConfigError as exc:
                problems.extend(exc.problems)
        if not image_keys and not lowdim_keys:
            problems.append(Problem("image_keys/lowdim_keys", "no observation streams given"))
        if len(set(image_keys)) != len(image_keys) or len(set(lowdim_keys)) != len(lowdim_keys):
            problems.append(Problem("image_keys/lowdim_keys", "a stream is listed twice"))
        if compression == "gzip" and not 0 <= compression_level <= 9:
            problems.append(
                Problem("compression_level", f"gzip level must be 0..9, got {compression_level}")
            )
        if problems:
            raise ConfigError(
                "cannot write robomimic HDF5: bad writer configuration", problems=problems
            )
        self.path = Path(path)
        self.env_meta = dict(env_meta)
        self.image_keys = list(image_keys)
        self.lowdim_keys = list(lowdim_keys)
        self._image_names = image_names
        self._comp: dict[str, Any] = (
            {"compression": "gzip", "compression_opts": compression_level}
            if compression == "gzip"
            else {"compression": "lzf"}
        )
        self._virtual = virtual_next_images
        self._file: h5py.File | None = hdf5.create_file(self.path)
        self._data = hdf5.create_group(self._file, "data")
        self._demos: dict[int, tuple[str, bool]] = {}  # index → (split, success)
        self._total = 0

    # ------------------------------------------------------------------ writing
    def __enter__(self) -> RobomimicWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if self._file is not None:
            self.abort()

    @staticmethod
    def demo_name(index: int) -> str:
        """``demo_<index>``."""
        return f"{DEMO_PREFIX}{index}"

    def _validate(
        self,
        record: ExportEpisode,
        index: int,
        arrays: Mapping[str, NDArray[Any]],
        rewards: NDArray[Any],
        dones: NDArray[Any],
    ) -> tuple[int, list[Problem]]:
        """The demo's frame count and every problem with its index and streams."""
        where = f"episode {record.episode_id} ({record.scene_id}/{record.run_id})"
        problems: list[Problem] = []
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            problems.append(Problem(where, f"dataset_index must be an integer >= 0, got {index!r}"))
        elif index in self._demos:
            problems.append(Problem(where, f"demo {self.demo_name(index)} was already written"))
        t, found = demo_problems(where, arrays, rewards, dones, self.lowdim_keys, self.image_keys)
        return t, problems + found

    def add(
        self,
        record: ExportEpisode,
        arrays: Mapping[str, NDArray[Any]],
        rewards: NDArray[Any],
        dones: NDArray[Any],
    ) -> str:
        """Write one episode as ``data/demo_<record.dataset_index>``; returns the demo name.

        Everything is validated before anything is written; a failure while writing removes
        the partial demo and re-raises.
        """
        if self._file is None:
            raise PermanentError("the robomimic writer is closed; no demo can be added")
        index = record.dataset_index
        t, problems = self._validate(record, index, arrays, rewards, dones)
        if problems:
            raise PermanentError(
                f"episode {record.episode_id} cannot be written to robomimic HDF5",
                problems=problems,
                next_step="Reject the episode with this reason; it must never be written partially.",
            )
        name = self.demo_name(index)
        try:
            self._write_demo(name, record, t, arrays, rewards, dones)
        except BaseException:
            if name in self._data:
                del self._data[name]
            raise
        self._demos[index] = (record.split, bool(record.success))
        self._total += t
        return name

    def _write_demo(
        self,
        name: str,
        record: ExportEpisode,
        t: int,
        arrays: Mapping[str, NDArray[Any]],
        rewards: NDArray[Any],
        dones: NDArray[Any],
    ) -> None:
        demo = hdf5.create_group(self._data, name)
        hdf5.create_dataset(demo, "actions", data=np.asarray(arrays["action"], dtype=np.float32))
        hdf5.create_dataset(demo, "rewards", data=np.asarray(rewards, dtype=np.float32))
        hdf5.create_dataset(demo, "dones", data=np.asarray(dones).astype(np.int64))
        obs = hdf5.create_group(demo, "obs")
        nxt = hdf5.create_group(demo, "next_obs")
        for stream in self.lowdim_keys:
            src = np.asarray(arrays[stream])
            for f in LOWDIM_MAP[stream]:
                a = src[:, f.start : f.stop] if f.start is not None else src
                if f.reorder_quat:
                    a = _quat_xyzw(a)
                if f.flatten:
                    a = a.reshape(t, -1)
                a = np.ascontiguousarray(a, dtype=np.float32)
                hdf5.create_dataset(obs, f.key, data=a)
                hdf5.create_dataset(nxt, f.key, data=_next(a))
        for stream in self.image_keys:
            key = self._image_names[stream]
            a = np.asarray(arrays[stream])
            if stream.startswith("observation.depth."):
                a = a.astype(np.float32, copy=False)[..., None]
            self._write_images(obs, nxt, name, key, a)
        meta = self._demo_meta(record, t)
        for k, v in meta.items():
            demo.attrs[k] = v
        demo.attrs["ep_meta"] = json.dumps(
            {k: (bool(v) if isinstance(v, np.bool_) else v) for k, v in meta.items()},
            sort_keys=True,
        )

    def _write_images(
        self, obs: h5py.Group, nxt: h5py.Group, demo: str, key: str, a: NDArray[Any]
    ) -> None:
        t = a.shape[0]
        chunks = (1, *a.shape[1:])
        shuffle = a.dtype != np.uint8
        hdf5.create_dataset(obs, key, data=a, chunks=chunks, shuffle=shuffle, **self._comp)
        if not self._virtual:
            hdf5.create_dataset(
                nxt, key, data=_next(a), chunks=chunks, shuffle=shuffle, **self._comp
            )
            return
        layout = h5py.VirtualLayout(shape=a.shape, dtype=a.dtype)
        src = h5py.VirtualSource(".", f"data/{demo}/obs/{key}", shape=a.shape)
        if t > 1:
            layout[0 : t - 1] = src[1:t]
        layout[t - 1 : t] = src[t - 1 : t]
        hdf5.create_virtual(nxt, key, layout)

    @staticmethod
    def _demo_meta(record: ExportEpisode, t: int) -> dict[str, Any]:
        return {
            "num_samples": int(t),
            "episode_id": record.episode_id,
            "scene_id": record.scene_id,
            "run_id": record.run_id,
            "task_id": record.meta.task_id,
            "task_index": int(record.task_index),
            "success": np.bool_(record.success),
            "split": record.split,
            "seed": record.meta.seed,
            "lang": record.instruction,
        }

    # ------------------------------------------------------------------ closing
    def _split_members(
        self, splits: Mapping[str, str | Iterable[int]] | None
    ) -> tuple[dict[str, list[int]], list[Problem]]:
        problems: list[Problem] = []
        by_record: dict[str, list[int]] = {}
        for i, (split, _) in sorted(self._demos.items()):
            by_record.setdefault(split, []).append(i)
        if splits is None:
            for s in by_record:
                if s not in ("train", "valid"):
                    problems.append(
                        Problem("splits", f"demos have split {s!r}; expected train or valid")
                    )
            return {s: by_record.get(s, []) for s in ("train", "valid")}, problems
        out: dict[str, list[int]] = {}
        for name, members in splits.items():
            if isinstance(members, str):
                a, sep, b = members.partition(":")
                if not sep or not a.isdigit() or not b.isdigit():
                    problems.append(
                        Problem(f"splits.{name}", f"must be 'start:end', got {members!r}")
                    )
                    continue
                idx = list(range(int(a), int(b)))
            else:
                idx = sorted(int(i) for i in members)
            out[name] = idx
        seen: dict[int, str] = {}
        for name, idx in out.items():
            for i in idx:
                if i not in self._demos:
                    problems.append(
                        Problem(
                            f"splits.{name}", f"names episode {i}, which was not written as a demo"
                        )
                    )
                elif i in seen:
                    problems.append(
                        Problem(f"splits.{name}", f"episode {i} is also in split {seen[i]!r}")
                    )
                elif self._demos[i][0] and self._demos[i][0] != name:
                    problems.append(
                        Problem(
                            f"splits.{name}",
                            f"episode {i} is in split {name!r} but its record says {self._demos[i][0]!r}",
                        )
                    )
                seen[i] = name
        unassigned = sorted(set(self._demos) - set(seen))
        if unassigned:
            problems.append(
                Problem("splits", f"demos of episodes {unassigned[:20]} are in no split")
            )
        for s in ("train", "valid"):
            out.setdefault(s, [])
        return out, problems

    def close(self, splits: Mapping[str, str | Iterable[int]] | None = None) -> dict[str, Any]:
        """Write ``total``, ``env_args`` and the masks, close the file and return a summary.

        ``splits`` are LeRobot's (``{"train": "0:8", "valid": "8:10"}``) or explicit episode
        index lists; None takes each record's ``split``. Every demo must be in exactly one
        split that agrees with its record, or nothing is finalised (the file is removed).
        """
        if self._file is None:
            raise PermanentError("the robomimic writer is already closed")
        problems: list[Problem] = []
        if not self._demos:
            problems.append(
                Problem("robomimic", "no demo was written", "export at least one episode")
            )
        members, split_problems = self._split_members(splits)
        problems += split_problems
        if problems:
            self.abort()
            raise PermanentError("robomimic HDF5 cannot be finalised", problems=problems)
        f = self._file
        self._data.attrs["total"] = int(self._total)
        self._data.attrs["env_args"] = json.dumps(self.env_meta, sort_keys=True)
        masks = hdf5.create_group(f, "mask")
        counts: dict[str, int] = {}
        for name, idx in members.items():
            names = [self.demo_name(i) for i in idx]
            ok = [self.demo_name(i) for i in idx if self._demos[i][1]]
            for mname, values in ((name, names), (f"{name}_success", ok)):
                hdf5.create_dataset(
                    masks, mname, data=np.array(values, dtype="S"), dtype=_bytes_dtype(values)
                )
                counts[mname] = len(values)
        f.close()
        self._file = None
        return {
            "path": self.path.name,
            "format": f"robomimic {ROBOMIMIC_VERSION} HDF5",
            "demos": len(self._demos),
            "total_samples": int(self._total),
            "successful_demos": sum(1 for _, ok in self._demos.values() if ok),
            "masks": counts,
            "obs_keys": obs_key_map(self.image_keys, self.lowdim_keys),
            "env_type": self.env_meta.get("type"),
            "size_bytes": self.path.stat().st_size,
        }

    def abort(self) -> None:
        """Close without finalising and delete the file (nothing half-written survives)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self.path.unlink(missing_ok=True)


def _bytes_dtype(values: Sequence[str]) -> Any:
    """Fixed-length byte strings wide enough for every name (``S1`` when empty)."""
    return np.dtype(f"S{max([len(v) for v in values] + [1])}")
