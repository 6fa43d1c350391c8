"""The dataset's fixed object list, segmentation id maps and depth encoding.

Every observation key must have one shape across the dataset, whatever scene or variant
an episode comes from. So the dataset has **one fixed, named object list**: every movable
object of every scene variant it holds, named ``<scene_id>/<object_id>``, in source order,
then variant order, then each variant's recorded order (a single-variant dataset keeps the
recorded order). Object rows of ``observation.object_poses`` and ``observation.contacts``
follow that list in every episode; ``observation.object_present`` (uint8, one per object)
says which rows exist in the episode. An absent object's pose row is ``0 0 0 1 0 0 0``
(origin, identity quaternion: finite and unit, so value checks hold) and its contact row 0.

``meta/objects.json`` names each row (scene, object id, categories, the variants it is in)
and maps every segmentation id (a MuJoCo geom id, per scene variant: distractors shift
the ids) to its geom, body and owner (a dataset object name, a static object, ``robot``,
or null for the floor and pedestal), with the map each episode uses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
from bp_contracts.episode import DepthEncoding as RecordedDepth
from bp_contracts.episode import EpisodeRecord, GeomTable
from bp_dataset.features import ABSENT_POSE, OBJECT_STREAMS
from bp_dataset.info import DepthEncoding, SegmentationEncoding
from bp_dataset.layout import OBJECTS
from bp_sdk.errors import PermanentError, Problem

from bp_export.sources import Candidate, ExportEpisode

OBJECTS_SCHEMA: Final = "bp.objects/v1"
PRESENT: Final = "observation.object_present"


def object_name(scene_id: str, object_id: str) -> str:
    """``<scene_id>/<object_id>``: the object's name in the dataset."""
    return f"{scene_id}/{object_id}"


def variant_key(scene_id: str, run_id: str, variant_id: Any) -> str:
    """``<scene>/<run>/<variant>``: one compiled scene (its segmentation ids)."""
    return f"{scene_id}/{run_id}/{variant_id}"


@dataclass
class ObjectIndex:
    """The fixed object list and what each episode's rows map to."""

    names: list[str] = field(default_factory=list)
    categories: dict[str, list[str]] = field(default_factory=dict)
    variants: dict[str, list[str]] = field(default_factory=dict)
    maps: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    episode_maps: list[str] = field(default_factory=list)
    max_geom_id: int = -1

    @property
    def rows(self) -> dict[str, int]:
        """Name → row."""
        return {n: i for i, n in enumerate(self.names)}

    def rows_of(self, meta: EpisodeRecord, scene_id: str) -> list[int]:
        """The dataset rows of an episode's recorded object rows (its ``movable_objects``)."""
        rows = self.rows
        return [rows[object_name(scene_id, o)] for o in meta.movable_objects]

    def remap(
        self, arrays: Mapping[str, np.ndarray], meta: EpisodeRecord, scene_id: str
    ) -> dict[str, np.ndarray]:
        """The episode's arrays with object streams on the dataset's rows, plus presence."""
        if OBJECT_STREAMS[0] not in arrays:
            return dict(arrays)
        out = dict(arrays)
        rows = self.rows_of(meta, scene_id)
        n = len(self.names)
        poses = arrays[OBJECT_STREAMS[0]]
        t = int(poses.shape[0])
        full = np.tile(np.asarray(ABSENT_POSE, dtype=poses.dtype), (t, n, 1))
        full[:, rows] = poses
        out[OBJECT_STREAMS[0]] = full
        contacts = arrays[OBJECT_STREAMS[1]]
        table = np.zeros((t, n, contacts.shape[2]), dtype=contacts.dtype)
        table[:, rows] = contacts
        out[OBJECT_STREAMS[1]] = table
        present = np.zeros((t, n), dtype=np.uint8)
        present[:, rows] = 1
        out[PRESENT] = present
        return out

    def note_episode(self, record: ExportEpisode) -> None:
        """Remember which segmentation map an accepted episode uses (in dataset order)."""
        self.episode_maps.append(
            variant_key(record.scene_id, record.run_id, record.meta.variant_id)
        )

    def document(self) -> dict[str, Any]:
        """``meta/objects.json``."""
        return {
            "schema": OBJECTS_SCHEMA,
            "rows": (
                "row i of observation.object_poses, observation.contacts, "
                "observation.object_present (lossless, tier full) and of object_poses / "
                "object_present in meta/initial_states.parquet is objects[i]"
            ),
            "objects": [
                {
                    "index": i,
                    "name": name,
                    "scene_id": name.split("/", 1)[0],
                    "object_id": name.split("/", 1)[1],
                    "categories": sorted(self.categories.get(name, [])),
                    "variants": self.variants.get(name, []),
                }
                for i, name in enumerate(self.names)
            ],
            "segmentation": {
                "ids": "MuJoCo geom id of the surface seen at each pixel",
                "background": -1,
                "owner": (
                    "a dataset object name (scene/object), a static object (scene/object, not "
                    "a row of the object list), 'robot', or null (floor, pedestal)"
                ),
                "maps": self.maps,
                "episodes": self.episode_maps,
            },
        }


def build_index(chosen: Iterable[Candidate], source_order: list[str]) -> ObjectIndex:
    """The object list over every chosen episode, and the segmentation maps they use."""
    index = ObjectIndex()
    order = {label: i for i, label in enumerate(source_order)}
    ranked = sorted(
        chosen,
        key=lambda c: (
            order.get(f"{c.scene_id}/{c.run_id}", len(order)),
            c.meta.variant_id,
            c.episode_id,
        ),
    )
    problems: list[Problem] = []
    for c in ranked:
        key = variant_key(c.scene_id, c.run_id, c.meta.variant_id)
        cats = c.meta.object_categories
        for oid in c.meta.movable_objects:
            name = object_name(c.scene_id, oid)
            if name not in index.categories:
                index.names.append(name)
                index.categories[name] = []
                index.variants[name] = []
            if cats.get(oid) and cats[oid] not in index.categories[name]:
                index.categories[name].append(cats[oid])
            if key not in index.variants[name]:
                index.variants[name].append(key)
        if c.meta.segmentation is not None:
            mapped = _named_map(c.meta.segmentation.geoms, c.scene_id, set(c.meta.movable_objects))
            if key in index.maps and index.maps[key] != mapped:
                problems.append(Problem(key, f"episode {c.episode_id} has another geom table"))
            index.maps.setdefault(key, mapped)
            index.max_geom_id = max(index.max_geom_id, len(mapped["geom"]) - 1)
    if problems:
        raise PermanentError(
            "episodes of one scene variant disagree on their segmentation ids", problems=problems
        )
    return index


def _named_map(seg: GeomTable, scene_id: str, movable: set[str]) -> dict[str, list[Any]]:
    owners: list[str | None] = []
    for owner in seg.object:
        if owner is None or owner == "robot":
            owners.append(owner)
        else:
            owners.append(object_name(scene_id, owner))
    return {
        "geom": list(seg.name),
        "body": list(seg.body),
        "owner": owners,
        "movable": [o in movable for o in seg.object],
    }


def segmentation_info(index: ObjectIndex) -> SegmentationEncoding:
    """info.json's segmentation block."""
    return SegmentationEncoding(max_id=index.max_geom_id, maps=OBJECTS)


def depth_info(recorded: Iterable[tuple[str, RecordedDepth | None]]) -> DepthEncoding | None:
    """info.json's depth block from the episodes' recorded encodings, given as
    ``(scene id, the record's depth block)`` (None: none recorded)."""
    per_scene: dict[str, tuple[float, float]] = {}
    for scene_id, d in recorded:
        if d is None:
            continue
        near, far = d.near_m, d.far_m
        lo, hi = per_scene.get(scene_id, (near, far))
        per_scene[scene_id] = (min(lo, near), max(hi, far))
    if not per_scene:
        return None
    return DepthEncoding(
        near_m=min(v[0] for v in per_scene.values()),
        far_m=max(v[1] for v in per_scene.values()),
        per_scene=dict(sorted(per_scene.items())),
    )
