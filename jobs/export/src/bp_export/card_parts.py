"""Sections of the dataset card after the cameras: objects and segmentation ids, depth,
sample frames, licenses, lineage, loading, verification and delivery.

Each function returns markdown lines from the documents export writes anyway
(``info.json``, ``objects.json``, ``lineage.json``, the robomimic summary); nothing here
reads a time or an execution id, so a re-generation renders the same card.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np
from bp_dataset.info import Info
from bp_dataset.layout import (
    INITIAL_STATES,
    LINEAGE,
    OBJECTS,
    ROBOMIMIC,
    SHA256SUMS,
)
from bp_sdk.text import for_markdown, one_line

MAX_OBJECT_ROWS: Final = 60
MAX_SEGMENTATION_MAPS: Final = 6
DELIVERY_STATEMENT: Final = (
    "The delivery statement (gate verdict, every failed check, and the approval when there is "
    "one) is `DELIVERY.md` beside this dataset in the delivered folder; `_DELIVERY.json` is its "
    "machine-readable record."
)


def cell(value: Any) -> str:
    """A markdown table cell: no pipes, line breaks or control characters (text from
    people, such as a scene's name, goes through ``bp_sdk.text.for_markdown`` instead)."""
    return one_line(value).replace("|", "\\|")


def pct(value: Any) -> str:
    """A rate as a percentage (n/a when unknown)."""
    return "n/a" if value is None else f"{100 * float(value):.1f} %"


def num(value: Any, digits: int = 3) -> str:
    """An int with thousands separators, a float with ``digits`` decimals, or n/a."""
    if value is None:
        return "n/a"
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return f"{int(value):,}"
    return f"{float(value):.{digits}f}"


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    """A markdown table."""
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return out


def _ranges(ids: list[int]) -> str:
    """``[1, 2, 3, 7]`` → ``1-3, 7``."""
    parts: list[str] = []
    start = prev = None
    for i in sorted(ids):
        if start is None:
            start = prev = i
        elif prev is not None and i == prev + 1:
            prev = i
        else:
            parts.append(f"{start}" if start == prev else f"{start}-{prev}")
            start = prev = i
    if start is not None:
        parts.append(f"{start}" if start == prev else f"{start}-{prev}")
    return ", ".join(parts)


def objects_section(info: Info, objects: Mapping[str, Any] | None) -> list[str]:
    """The fixed object list (rows of object streams and initial states) and the segmentation
    id map of each scene variant."""
    bp = info.blueprintpipeline
    out = ["## Objects", ""]
    out.append(
        f"{len(bp.objects)} movable object(s), one fixed list for the whole dataset "
        f"(`info.json → blueprintpipeline.objects`, details in `{OBJECTS}`): row *i* of "
        "`observation.object_poses`, `observation.contacts`, `observation.object_present` "
        f"(tier full) and of the object columns of `{INITIAL_STATES}` is object *i* in every "
        "episode; an object absent from an episode's scene variant has `object_present` 0, "
        "pose `0 0 0 1 0 0 0` and contacts 0."
    )
    out.append("")
    entries = list((objects or {}).get("objects") or [])
    rows = [
        [e.get("index"), f"`{e.get('name')}`", ", ".join(e.get("categories") or []) or "n/a",
         len(e.get("variants") or [])]
        for e in entries[:MAX_OBJECT_ROWS]
    ]  # fmt: skip
    out += table(["row", "name (scene/object)", "category", "variants it is in"], rows)
    if len(entries) > MAX_OBJECT_ROWS:
        out.append(f"| ... | {len(entries) - MAX_OBJECT_ROWS} more in `{OBJECTS}` | | |")
    out.append("")
    if bp.segmentation is None:
        return out
    seg = (objects or {}).get("segmentation") or {}
    maps = seg.get("maps") or {}
    out += [
        "### Segmentation ids",
        "",
        (
            f"`observation.segmentation.<camera>` holds the MuJoCo geom id seen at each pixel "
            f"(int32, {bp.segmentation.background} = background; ids up to "
            f"{bp.segmentation.max_id}). Ids depend on the scene variant (a distractor adds "
            f"geoms): `{OBJECTS} → segmentation.maps[<scene>/<run>/<variant>]` lists every id's "
            "geom, body and owner, and `segmentation.episodes[i]` names episode *i*'s map."
        ),
        "",
    ]
    for key in list(maps)[:MAX_SEGMENTATION_MAPS]:
        owners: dict[str, list[int]] = {}
        for i, owner in enumerate(maps[key].get("owner") or []):
            owners.setdefault(owner or "scene (floor, pedestal)", []).append(i)
        out += [f"`{key}` ({len(maps[key].get('geom') or [])} ids):", ""]
        out += table(["owner", "geom ids"], [[f"`{o}`", _ranges(ids)] for o, ids in owners.items()])
        out.append("")
    if len(maps) > MAX_SEGMENTATION_MAPS:
        out += [f"... {len(maps) - MAX_SEGMENTATION_MAPS} more scene variants in `{OBJECTS}`.", ""]
    return out


def depth_section(info: Info) -> list[str]:
    """How depth encodes distance (tiers plus and full)."""
    d = info.blueprintpipeline.depth
    if d is None:
        return []
    out = [
        "## Depth encoding",
        "",
        f"- unit: {d.unit} ({d.dtype}), {d.measure}",
        f"- background: `{d.background_value}` = {d.background}; never a valid depth",
        f"- valid depths: {d.near_m:g} m (near clipping plane) <= depth < {d.far_m:g} m (far clipping plane)",
    ]
    out += [f"- scene `{s}`: near {n:g} m, far {f:g} m" for s, (n, f) in d.per_scene.items()]
    out += ["- also in `info.json → blueprintpipeline.depth`", ""]
    return out


def samples_section(
    png: str | None, samples: Sequence[tuple[str, bool]] | None, groups: int | None
) -> list[str]:
    """The sample image and, in text, what each of its rows shows."""
    if not png:
        return []
    out = [
        "## Sample frames",
        "",
        (
            "One row per (scene, variant, task): its first episode's middle frame, and its first "
            "failure rollout when it has one, for every camera and every lossless image stream "
            "of the tier (depth: near bright, far dark, background black; segmentation: one "
            "colour per geom id)."
        ),
        "",
        f"![Sample frames, one row per scene variant and task]({png})",
        "",
    ]
    if samples:
        out += [
            f"{i + 1}. {'' if ok else '**FAILURE** '}{cell(c)}" for i, (c, ok) in enumerate(samples)
        ]
        shown = len({c for c, _ in samples})
        if groups is not None and groups > shown:
            out.append(
                f"\n({groups} scene variant/task groups in all; the first {shown} rows shown.)"
            )
        out.append("")
    return out


def licenses_section(lineage: Mapping[str, Any]) -> list[str]:
    """Dataset, robot model and blueprint licenses."""
    rep = lineage.get("reproducible") or {}
    lic = rep.get("licenses") or {}
    robot_src = (rep.get("robot") or {}).get("source") or {}
    out = ["## License", "", f"- dataset: **{for_markdown(lic.get('dataset') or 'unknown')}**"]
    out.append(
        f"- robot model: {', '.join(lic.get('robot_model') or []) or 'unknown'} "
        f"(`{robot_src.get('package', 'unknown')}` {robot_src.get('version', '')})"
    )
    for src in lic.get("inputs") or []:
        bpinfo = src.get("blueprint") or {}
        assets = src.get("assets") or []
        out.append(
            f"- scene `{src.get('scene_id')}` blueprint {for_markdown(bpinfo.get('name', ''))}: "
            f"{for_markdown(bpinfo.get('license') or 'no license declared')}"
            + (f"; {len(assets)} mesh asset(s) under the blueprint's license" if assets else "")
        )
    out.append("")
    return out


def lineage_section(lineage: Mapping[str, Any]) -> list[str]:
    """Sources, code versions, revisions, simulator, physics, seeds, gate, gaps."""
    rep = lineage.get("reproducible") or {}
    prov = lineage.get("provenance") or {}
    sim = rep.get("simulator") or {}
    phys = rep.get("physics") or {}
    out = ["## Lineage", "", f"Full record: `{LINEAGE}` (`reproducible` and `provenance`).", ""]
    out += table(
        ["scene", "run", "episodes"],
        [[f"`{s.get('scene_id')}`", f"`{s.get('run_id')}`", s.get("episodes")]
         for s in rep.get("sources") or []],
    )  # fmt: skip
    versions = ", ".join(
        f"{stage} {'/'.join(sorted({c.get('version', '?') for c in codes}))}"
        for stage, codes in (rep.get("code") or {}).items()
    )
    revisions = sorted({r for rs in (prov.get("revisions") or {}).values() for r in rs})
    images = prov.get("image_digests") or {}
    gate = lineage.get("gate") or {}
    out += [
        "",
        f"- code versions: {versions or 'unknown'}",
        f"- source revision(s): {'; '.join(revisions) or 'unknown'}",
        f"- container images: {', '.join(f'{k} {v}' for k, vs in images.items() for v in vs) or 'none recorded'}",
        f"- simulator: {sim.get('name', 'mujoco')} {sim.get('version') or 'unknown'}",
        (
            f"- physics: step {phys.get('timestep_s', 'n/a')} s, integrator {phys.get('integrator', 'n/a')}, "
            f"friction cone {phys.get('cone', 'n/a')}, impratio {phys.get('impratio', 'n/a')}"
        ),
        f"- seeds: one per episode and one per initial state in `{LINEAGE}` (`reproducible.seeds`)",
        f"- gate: decided by {gate.get('decided_by') or 'the gate stage, after export'}"
        + (f" (config {gate['config_version']})" if gate.get("config_version") else ""),
    ]
    gaps = lineage.get("gaps") or []
    if gaps:
        out += ["", "Known gaps in this lineage:", ""]
        out += [f"- {for_markdown(g)}" for g in gaps]
    out.append("")
    return out


def loading_section(dataset_id: str, repo: str, robomimic: Mapping[str, Any] | None) -> list[str]:
    """How to load the dataset with LeRobot and robomimic."""
    out = [
        "## Load with LeRobot",
        "",
        "```python",
        "import os",
        'os.environ["HF_HUB_OFFLINE"] = "1"  # read the local copy only',
        "from lerobot.datasets.lerobot_dataset import LeRobotDataset",
        "",
        f'ds = LeRobotDataset("{repo}", root="/path/to/{dataset_id}")',
        "frame = ds[0]  # dict of tensors: observation.state, action, observation.images.<camera>, ...",
        "```",
        "",
        "## Load with robomimic",
        "",
    ]
    if robomimic is None:
        return [*out, "This dataset was exported without robomimic HDF5.", ""]
    keys = dict(robomimic.get("obs_keys") or {})
    low = [k for k in keys if not k.endswith(("_image", "_depth"))]
    rgb = [k for k in keys if k.endswith("_image")]
    depth = [k for k in keys if k.endswith("_depth")]
    specs = {"low_dim": low, "rgb": rgb} | ({"depth": depth} if depth else {})
    out += [
        (
            f"`{ROBOMIMIC}`: {robomimic.get('demos')} demos, {robomimic.get('total_samples')} samples; "
            "`demo_<i>` is LeRobot episode `i`; masks `train`/`valid` are the LeRobot splits "
            "(`train_success`/`valid_success`: successful demos only). Every observation key has "
            "one shape in every demo. Quaternions are x y z w here (robosuite's order). The "
            f"environment is not a robosuite/gym env (`env_args` type {robomimic.get('env_type')}): "
            "train with rollouts disabled."
        ),
        "",
    ]
    out += table(["obs key", "source and meaning"], [[f"`{k}`", v] for k, v in keys.items()])
    out += [
        "",
        "```python",
        "import robomimic.utils.obs_utils as ObsUtils",
        "from robomimic.utils.dataset import SequenceDataset",
        "",
        f"ObsUtils.initialize_obs_utils_with_obs_specs({{'obs': {json.dumps(specs)}}})",
        "ds = SequenceDataset(",
        f'    hdf5_path="/path/to/{dataset_id}/{ROBOMIMIC}",',
        f"    obs_keys={tuple(keys)!r},",
        '    dataset_keys=("actions", "rewards", "dones"),',
        "    load_next_obs=True, frame_stack=1, seq_length=10, pad_frame_stack=True,",
        "    pad_seq_length=True, get_pad_mask=False, goal_mode=None,",
        '    hdf5_cache_mode="low_dim", hdf5_use_swmr=True, hdf5_normalize_obs=False,',
        '    filter_by_attribute="train",',
        ")",
        "```",
        "",
    ]
    return out


def verify_section(dataset_id: str, content_digest: str | None) -> list[str]:
    """Checksums, the dataset and content digests, and where the delivery statement is."""
    return [
        "## Verify",
        "",
        (
            "Every file except `meta/SHA256SUMS` is listed in it with its sha256; the dataset digest "
            "is the sha256 of `meta/SHA256SUMS` itself. It changes with every re-generation, "
            f"because `{LINEAGE}` records the run; the **content digest** covers every other file "
            "(all but `meta/lineage.json` and this card) and is the same whenever the same "
            "blueprint, configuration, seeds and code are run again."
        ),
        "",
        f"- content digest: `{content_digest or 'not computed'}`",
        "",
        "```bash",
        f"bp verify /path/to/{dataset_id}          # checksums, schema, tier, frame counts, decodes every video",
        f"cd /path/to/{dataset_id} && sha256sum -c {SHA256SUMS}",
        f"sha256sum {SHA256SUMS}                         # the dataset digest",
        f"grep -v -e '  {LINEAGE}$' -e '  README.md$' {SHA256SUMS} | sha256sum   # the content digest",
        "```",
        "",
        "## Delivery",
        "",
        DELIVERY_STATEMENT,
        "",
    ]
