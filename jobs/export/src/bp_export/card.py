"""The dataset card (``README.md``) and its sample-frames image.

The card is a Hugging Face dataset card: YAML front matter (license, ``task_categories:
[robotics]``, tags with ``LeRobot``, the data files config the Hub viewer uses), then the
contents a lab needs before it trusts the data: tier and what it holds, counts, robot,
tasks with instructions and success rates, the metrics summary, the reward, the meaning
of every state/action dimension (units, frame, control rate), camera intrinsics, sample
frames, licenses, a lineage summary, and how to load (LeRobot, robomimic) and verify it.

Everything rendered comes from the three documents export writes anyway
(``meta/info.json``, ``meta/quality.json``, ``meta/lineage.json``) and, when robomimic
HDF5 was written, the writer's summary; the card states nothing they do not.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

from bp_contracts.episode import Tier
from bp_dataset.features import KEEPS_FAILURES, LOSSLESS_GLOBAL, LOSSLESS_PER_CAMERA, MEANING
from bp_dataset.info import Info
from bp_dataset.layout import LINEAGE, QUALITY, ROBOMIMIC, SHA256SUMS

from bp_export import card_parts
from bp_export.card_parts import cell, num, pct, table
from bp_export.reward import REWARD_DEFINITION

# SPDX ids the Hub knows under their lower-case name
HUB_LICENSES: Final = frozenset(
    {
        "apache-2.0", "mit", "cc0-1.0", "cc-by-4.0", "cc-by-sa-4.0", "cc-by-nc-4.0",
        "cc-by-nc-sa-4.0", "cc-by-nd-4.0", "cc-by-nc-nd-4.0", "cc-by-3.0", "cc-by-sa-3.0",
        "odc-by", "odbl", "pddl", "bsd-3-clause", "bsd-2-clause", "gpl-3.0", "lgpl-3.0",
    }
)  # fmt: skip
TIER_STREAMS: Final = {
    "observation.depth": "depth per camera (float32 m along the optical axis, 0 = background, lossless)",
    "observation.segmentation": "segmentation per camera (int32 MuJoCo geom ids, lossless)",
    "observation.object_poses": "object poses (per object of the dataset's fixed object list: position m + quaternion wxyz, lossless)",
    "observation.contacts": "contacts (per movable object: touches robot, touches other, count, depth m, lossless)",
    "observation.object_present": "object presence (per object of the dataset's object list: 1 if in the episode's scene variant)",
}


# ---------------------------------------------------------------------- helpers


def _yaml_str(value: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(value, ensure_ascii=False)


def _hub_license(spdx: str) -> tuple[str, str | None]:
    """``(license, license_name)`` for the front matter: the Hub id, or ``other`` + the SPDX id."""
    low = spdx.strip().lower()
    return (low, None) if low in HUB_LICENSES else ("other", spdx)


def _unit(feature: str, name: str) -> tuple[str, str]:
    """``(unit, frame)`` of one named dimension of a vector feature."""
    if feature == "action":
        if name.endswith(".target"):
            return "rad", "joint space (position target)"
        return "0 closed ... 1 open", "gripper command"
    if feature in ("observation.state", "observation.velocity"):
        vel = feature == "observation.velocity"
        if name.startswith("gripper"):
            return ("m/s" if vel else "m"), "gripper (sum of both fingers)"
        return ("rad/s" if vel else "rad"), "joint space"
    if name in ("x", "y", "z"):
        return "m", "world"
    if name in ("qw", "qx", "qy", "qz"):
        return "unit quaternion (w x y z)", "world"
    return "", ""


def _tier_contents(tier: Tier, cameras: Sequence[str]) -> list[str]:
    lines = [
        (
            f"- RGB video of every camera ({', '.join(cameras)}), joint states and velocities, "
            "end-effector and camera poses, actions, rewards, done and success flags"
        )
    ]
    for key in LOSSLESS_PER_CAMERA[tier]:
        lines.append(f"- {TIER_STREAMS[key]} in `lossless/` npz files")
    for key in LOSSLESS_GLOBAL[tier]:
        lines.append(f"- {TIER_STREAMS[key]} in `lossless/` npz files")
    if KEEPS_FAILURES[tier]:
        lines.append(
            "- failure rollouts, flagged (`next.success` false; `quality.json` status failure)"
        )
    else:
        lines.append(
            "- successful episodes only (failures are listed in `meta/quality.json`, not included)"
        )
    return lines


# ---------------------------------------------------------------------- card


def render_card(
    info: Info | Mapping[str, Any],
    quality: Mapping[str, Any],
    lineage: Mapping[str, Any],
    samples_png_name: str | None,
    *,
    robomimic: Mapping[str, Any] | None = None,
    repo_id: str | None = None,
    objects: Mapping[str, Any] | None = None,
    samples: Sequence[tuple[str, bool]] | None = None,
    sample_groups: int | None = None,
) -> str:
    """The card's markdown. ``robomimic`` is :meth:`RobomimicWriter.close`'s summary (None:
    the dataset has no HDF5); ``repo_id`` the name shown in the loading example;
    ``objects`` the ``meta/objects.json`` document; ``samples`` the sample image's rows
    (caption, success) out of ``sample_groups`` groups."""
    inf = info if isinstance(info, Info) else Info.model_validate(info)
    bp = inf.blueprintpipeline
    summ = quality.get("summary") or {}
    rep = lineage.get("reproducible") or {}
    repo = repo_id or f"blueprintpipeline/{bp.dataset_id}"
    has_hdf5 = robomimic is not None
    out = _front_matter(inf, rep, has_hdf5)
    out += _introduction(inf, rep, has_hdf5)
    out += _contents_section(inf, has_hdf5)
    out += _counts_section(inf, summ)
    out += _robot_section(inf, rep)
    out += _tasks_section(summ)
    out += _metrics_section(summ)
    out += _reward_section()
    out += _features_section(inf)
    out += _cameras_section(inf)
    out += card_parts.samples_section(samples_png_name, samples, sample_groups)
    out += card_parts.objects_section(inf, objects)
    out += card_parts.depth_section(inf)
    out += card_parts.licenses_section(lineage)
    out += card_parts.lineage_section(lineage)
    out += card_parts.loading_section(bp.dataset_id, repo, robomimic)
    out += card_parts.verify_section(bp.dataset_id, rep.get("content_digest"))
    return "\n".join(out)


def _front_matter(inf: Info, rep: Mapping[str, Any], has_hdf5: bool) -> list[str]:
    """The YAML front matter: license, task category, tags, name and the data files config."""
    bp = inf.blueprintpipeline
    lic = rep.get("licenses") or {}
    hub_lic, lic_name = _hub_license(str(lic.get("dataset") or "unknown"))
    tags = [
        "LeRobot",
        "robotics",
        "simulation",
        "mujoco",
        inf.robot_type,
        f"tier-{bp.tier}",
        "blueprintpipeline",
    ]
    if has_hdf5:
        tags.insert(1, "robomimic")
    out: list[str] = ["---", f"license: {hub_lic}"]
    if lic_name:
        out.append(f"license_name: {_yaml_str(lic_name)}")
    out += ["task_categories:", "- robotics", "tags:"]
    out += [f"- {_yaml_str(t)}" for t in tags]
    out += [
        f"pretty_name: {_yaml_str(bp.dataset_id)}",
        "configs:",
        "- config_name: default",
        "  data_files: data/*/*.parquet",
        "---",
    ]
    return out


def _introduction(inf: Info, rep: Mapping[str, Any], has_hdf5: bool) -> list[str]:
    """The title and the paragraph saying what the dataset is and which formats it has."""
    return [
        "",
        f"# {inf.blueprintpipeline.dataset_id}",
        "",
        f"Simulated robot-manipulation demonstrations generated by BlueprintPipeline: a "
        f"{inf.robot_type} in MuJoCo driven by a scripted expert in "
        f"{len(rep.get('sources') or [])} scene run(s), recorded at {inf.fps} Hz. "
        f"LeRobot {inf.codebase_version} format (loads with `lerobot` 0.4.x), "
        + ("plus robomimic 0.3 HDF5." if has_hdf5 else "no robomimic HDF5."),
        "",
    ]


def _contents_section(inf: Info, has_hdf5: bool) -> list[str]:
    """Contents: what the tier holds and a table of the dataset's folders and files."""
    bp = inf.blueprintpipeline
    out = ["## Contents", "", f"Tier **{bp.tier}**:", ""]
    out += _tier_contents(bp.tier, list(bp.cameras))
    out += [
        "",
        "| path | what |",
        "|---|---|",
        "| `meta/info.json` | features (dtype, shape, names), fps, splits, cameras, meanings |",
        "| `meta/stats.json`, `meta/tasks.parquet`, `meta/episodes/` | LeRobot statistics, tasks, per-episode index |",
        "| `data/` | one row per frame (every non-video feature) |",
        f"| `videos/` | one video stream per camera ({bp.video_encoder}), episodes concatenated |",
    ]
    if bp.lossless_streams:
        out.append(f"| `lossless/` | {', '.join(bp.lossless_streams)} |")
    if has_hdf5:
        out.append(f"| `{ROBOMIMIC}` | the same episodes as robomimic demos |")
    out += [
        f"| `{QUALITY}` | per-episode metrics and the summary below |",
        f"| `{LINEAGE}` | sources, code versions, physics, seeds, licenses |",
        f"| `{SHA256SUMS}` | sha256 of every other file |",
        "",
    ]
    return out


def _counts_section(inf: Info, summ: Mapping[str, Any]) -> list[str]:
    """Counts: episodes, frames, duration, tasks, splits, cameras and diversity."""
    out = ["## Counts", ""]
    out += table(
        ["", "value"],
        [
            ["episodes", num(inf.total_episodes)],
            ["frames", num(inf.total_frames)],
            ["duration", f"{inf.total_frames / inf.fps / 60:.1f} min at {inf.fps} fps"],
            ["tasks", num(inf.total_tasks)],
            *[[f"split {k}", f"episodes {v}"] for k, v in inf.splits.items()],
            ["train / valid episodes", f"{summ.get('train_episodes', 'n/a')} / {summ.get('valid_episodes', 'n/a')}"],
            ["cameras", ", ".join(inf.blueprintpipeline.cameras)],
            ["scenes / variants / objects / instructions",
             " / ".join(str((summ.get("diversity") or {}).get(k, "n/a")) for k in ("scenes", "variants", "objects", "instructions"))],
        ],
    )  # fmt: skip
    out.append("")
    return out


def _robot_section(inf: Info, rep: Mapping[str, Any]) -> list[str]:
    """Robot: the model and its source, the control rate and the gripper's actuator."""
    bp = inf.blueprintpipeline
    robot = rep.get("robot") or {}
    robot_src = robot.get("source") or {}
    out = [
        "## Robot",
        "",
        (
            f"- model: **{inf.robot_type}**, model files from `{robot_src.get('package', 'unknown')}` "
            f"{robot_src.get('version', '')} ({', '.join(robot_src.get('files') or [])}), "
            f"license {', '.join(robot.get('licenses') or []) or 'unknown'}"
        ),
        (
            f"- control: joint position targets at {bp.control_rate_hz} Hz (each action is held for "
            f"1/{bp.control_rate_hz} s), physics step {bp.physics_timestep_s} s"
        ),
    ]
    phys = rep.get("physics") or {}
    grip = phys.get("gripper") or {}
    if grip:
        out.append(
            f"- gripper: position actuator kp {grip.get('kp')}, kv {grip.get('kv')}, force limit "
            f"{grip.get('forcerange')} N ({grip.get('gain_scale_vs_menagerie')}x MuJoCo Menagerie's gain)"
        )
    out.append("")
    return out


def _tasks_section(summ: Mapping[str, Any]) -> list[str]:
    """Tasks: per task its instructions, episodes, success rate and mean quality."""
    rows = []
    for task_id, t in (summ.get("per_task") or {}).items():
        rows.append(
            [
                f"`{task_id}`",
                " / ".join(t.get("instructions") or []),
                num(t.get("episodes")),
                pct(t.get("success_rate")),
                num(t.get("mean_quality")),
            ]
        )
    out = ["## Tasks", ""]
    out += table(["task", "instruction(s)", "episodes", "success rate", "mean quality"], rows)
    out.append("")
    return out


def _metrics_section(summ: Mapping[str, Any]) -> list[str]:
    """Metrics: success, collisions, quality score, rejections by reason, the score's weights."""
    out = ["## Metrics", ""]
    out += table(
        ["metric", "value"],
        [
            ["success rate", f"{pct(summ.get('success_rate'))} ({summ.get('successes', 'n/a')} of {summ.get('episodes', 'n/a')})"],
            ["collision rate (episodes with any robot-environment collision)", pct(summ.get("collision_rate"))],
            ["collision frames / frames", pct(summ.get("collision_frame_rate"))],
            ["quality score mean / min / max",
             f"{num(summ.get('mean_quality'))} / {num(summ.get('min_quality'))} / {num(summ.get('max_quality'))}"],
            ["episodes rejected by export", num(summ.get("rejected", 0))],
        ],
    )  # fmt: skip
    by_reason = summ.get("rejected_by_reason") or {}
    if by_reason:
        out += ["", "Rejected episodes, by reason:", ""]
        out += [f"- {n} x {cell(r)}" for r, n in list(by_reason.items())[:20]]
        if len(by_reason) > 20:
            out.append(f"- ... {len(by_reason) - 20} more reasons in `{QUALITY}`")
    out += [
        "",
        (
            "The quality score (0-1) weighs success 0.50, collisions 0.15, penetration 0.10, "
            "smoothness 0.10, joint-limit/velocity violations 0.10, slips/drops 0.05; every "
            f"episode's metrics are in `{QUALITY}`."
        ),
        "",
    ]
    return out


def _reward_section() -> list[str]:
    """Reward: the exact definition of reward, done and success."""
    return ["### Reward", "", REWARD_DEFINITION, ""]


def _features_section(inf: Info) -> list[str]:
    """Features: every dimension of every vector feature, the ``next.*`` flags and videos."""
    bp = inf.blueprintpipeline
    meaning = {**MEANING, **bp.meaning}
    out = [
        "## Features: meaning of every dimension",
        "",
        (
            f"Control rate {bp.control_rate_hz} Hz (= fps {inf.fps}); frame `i` has timestamp `i/{inf.fps}` s "
            "from the episode start. Vectors are float32."
        ),
        "",
    ]
    for key, feat in inf.features.items():
        if feat.get("dtype") == "video" or not isinstance(feat.get("names"), list):
            continue
        out += _vector_feature(key, feat, meaning)
    for key in ("next.reward", "next.done", "next.success"):
        if key in inf.features:
            out.append(
                f"- **`{key}`**: {meaning.get(key, '')} (`next.*` = after the frame's action; "
                "exact definition under Reward above)"
            )
    out += [f"- **`{k}`** (video): RGB, {bp.cameras[k.rsplit('.', 1)[-1]].width}x"
            f"{bp.cameras[k.rsplit('.', 1)[-1]].height}" for k in inf.video_keys() if k.rsplit(".", 1)[-1] in bp.cameras]  # fmt: skip
    out.append("")
    return out


def _vector_feature(key: str, feat: Mapping[str, Any], meaning: Mapping[str, str]) -> list[str]:
    """One vector feature: its meaning, then a table of its dimensions (unit and frame)."""
    generic = (
        key.rsplit(".", 1)[0] + ".<camera>" if key.startswith("observation.camera_pose.") else key
    )
    out = [
        f"**`{key}`** ({feat['dtype']} {feat['shape']}): {meaning.get(key) or meaning.get(generic, '')}",
        "",
    ]
    out += table(
        ["index", "name", "unit", "frame"],
        [[i, f"`{n}`", *_unit(key, n)] for i, n in enumerate(feat["names"])],
    )
    out.append("")
    return out


def _cameras_section(inf: Info) -> list[str]:
    """Cameras: each camera's mount, resolution, field of view and pinhole intrinsics."""
    out = ["## Cameras", "", ("Pinhole intrinsics in pixels at the recorded resolution; extrinsics "
           "per frame in `observation.camera_pose.<camera>` (camera-to-world, MuJoCo convention: "
           "looks along -z, y up)."), ""]  # fmt: skip
    cam_rows = []
    for name, c in inf.blueprintpipeline.cameras.items():
        k = c.intrinsics
        cam_rows.append(
            [f"`{name}`", c.mount, f"{c.width}x{c.height}", f"{c.fovy_deg:g}",
             f"{k[0][0]:.3f}", f"{k[1][1]:.3f}", f"{k[0][2]:.3f}", f"{k[1][2]:.3f}"]
        )  # fmt: skip
    out += table(["camera", "mount", "resolution", "fovy (deg)", "fx", "fy", "cx", "cy"], cam_rows)
    out.append("")
    return out
