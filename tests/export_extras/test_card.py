"""The dataset card (README.md) and its sample-frames PNG."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from bp_dataset.features import ACTION_NAMES, STATE_NAMES, VELOCITY_NAMES
from bp_dataset.info import DepthEncoding, SegmentationEncoding
from bp_export.card import render_card
from bp_export.card_parts import DELIVERY_STATEMENT
from bp_export.lineage_doc import build_lineage
from bp_export.quality import build_quality
from bp_export.reward import REWARD_DEFINITION

from tests.export_extras import lineage_inputs as li
from tests.export_extras.builders import RES, make_info, make_record

SECTIONS = [
    "## Contents", "## Counts", "## Robot", "## Tasks", "## Metrics", "### Reward",
    "## Features: meaning of every dimension", "## Cameras", "## Sample frames", "## License",
    "## Lineage", "## Load with LeRobot", "## Load with robomimic", "## Verify",
]  # fmt: skip


def _docs(tier: str = "core") -> tuple[Any, dict[str, Any], dict[str, Any]]:
    recs = [
        make_record(0, frames=20, quality=0.91, episode_id="scene_a-ep0", seed=100),
        make_record(1, frames=30, quality=0.83, collision_frames=2, episode_id="scene_a-ep1", seed=101),
        make_record(2, frames=10, quality=0.42, success=False, split="valid", task_id="push_box",
                    task_index=1, instruction="Push the box | left.", episode_id="scene_a-ep2", seed=102),
    ]  # fmt: skip
    rejected = [{"episode_id": "scene_a-ep3", "reason": "streams disagree in frame count"}]
    quality = build_quality(recs, rejected)
    lineage = build_lineage(
        dataset_id="ds-test",
        sources=[li.source_lineage()],
        episodes=recs,
        dataset_license="CC-BY-4.0",
        export_code=li.export_code(),
        export_params={},
        gate_config_version="gate/v2",
        created_at=datetime(2026, 11, 23, tzinfo=UTC),
        content_digest="c" * 64,
    )
    return make_info(3, 60, 2, tier=tier), quality, lineage


ROBOMIMIC = {
    "demos": 3,
    "total_samples": 60,
    "env_type": 100,
    "obs_keys": {"robot0_joint_pos": "observation.state[0:7] - arm joint positions (rad)",
                 "scene_image": "observation.images.scene - RGB uint8 (H, W, 3)"},
}  # fmt: skip


def test_front_matter_is_hub_style() -> None:
    """YAML front matter with the license, robotics task category, LeRobot tag and data config."""
    info, quality, lineage = _docs()
    card = render_card(info, quality, lineage, "samples.png", robomimic=ROBOMIMIC)
    m = re.match(r"^---\n(.*?)\n---\n", card, re.S)
    assert m, "card must start with YAML front matter"
    fm = m.group(1).splitlines()
    assert "license: cc-by-4.0" in fm
    assert fm[fm.index("task_categories:") + 1] == "- robotics"
    assert '- "LeRobot"' in fm and '- "robomimic"' in fm
    assert "  data_files: data/*/*.parquet" in fm


def test_unknown_license_is_declared_as_other() -> None:
    """A license the Hub does not list becomes license: other with its name."""
    info, quality, lineage = _docs()
    lineage["reproducible"]["licenses"]["dataset"] = "LicenseRef-Customer-42"
    card = render_card(info, quality, lineage, None)
    assert 'license: other\nlicense_name: "LicenseRef-Customer-42"' in card


def test_every_section_is_present_and_in_order() -> None:
    """All required sections appear, in the documented order."""
    info, quality, lineage = _docs()
    card = render_card(info, quality, lineage, "samples.png", robomimic=ROBOMIMIC)
    positions = [card.index(s) for s in SECTIONS]
    assert positions == sorted(positions)


def test_card_renders_the_numbers_it_was_given() -> None:
    """Counts, rates, quality figures, tasks, intrinsics and lineage facts appear as given."""
    info, quality, lineage = _docs()
    card = render_card(info, quality, lineage, "samples.png", robomimic=ROBOMIMIC)
    assert "| episodes | 3 |" in card and "| frames | 60 |" in card and "| tasks | 2 |" in card
    assert "66.7 % (2 of 3)" in card  # success rate
    assert "| collision rate (episodes with any robot-environment collision) | 33.3 % |" in card
    assert "0.720 / 0.420 / 0.910" in card  # quality mean / min / max
    assert "| `pick_place_cube` | Pick up the red cube. | 2 | 100.0 % | 0.870 |" in card
    assert "| `push_box` | Push the box \\| left. | 1 | 0.0 % | 0.420 |" in card  # pipe escaped
    assert "1 x streams disagree in frame count" in card
    assert f"| `scene` | scene | {RES}x{RES} | 60 | 14.000 | 14.000 | 8.000 | 8.000 |" in card
    assert "mujoco 4.0.0" in card and "integrator implicitfast" in card and "impratio 10" in card
    assert "kp 1000" in card and "10.0x MuJoCo Menagerie's gain" in card
    assert "gate: decided by the gate stage, after export" in card and "(config gate/v2)" in card
    assert "`robosuite` 1.5.2" in card and "license MIT" in card
    assert "- dataset: **CC-BY-4.0**" in card and "CC0-1.0" in card
    assert "| `scene_a` | `r-1` | 3 |" in card
    assert "does not record the MuJoCo version" in card  # lineage gaps are shown


def test_every_state_and_action_dimension_is_explained() -> None:
    """Each named dimension of state, velocity and action appears with its unit and frame."""
    info, quality, lineage = _docs()
    card = render_card(info, quality, lineage, None)
    for name in (*STATE_NAMES, *VELOCITY_NAMES, *ACTION_NAMES):
        assert f"| `{name}` |" in card, name
    assert "| 0 | `joint1` | rad | joint space |" in card
    assert "| 7 | `gripper_opening` | m | gripper (sum of both fingers) |" in card
    assert "| 7 | `gripper_command` | 0 closed ... 1 open | gripper command |" in card
    assert "| 3 | `qw` | unit quaternion (w x y z) | world |" in card
    assert "Control rate 20 Hz" in card
    assert REWARD_DEFINITION in card


def test_loading_and_verifying_instructions() -> None:
    """LeRobot and robomimic loading code and both verification commands are on the card."""
    info, quality, lineage = _docs()
    card = render_card(info, quality, lineage, "samples.png", robomimic=ROBOMIMIC, repo_id="lab/ds")
    assert 'LeRobotDataset("lab/ds", root="/path/to/ds-test")' in card
    assert 'HF_HUB_OFFLINE"] = "1"' in card
    assert "SequenceDataset(" in card and "robomimic/dataset.hdf5" in card
    assert "obs_keys=('robot0_joint_pos', 'scene_image')" in card
    assert "bp verify /path/to/ds-test" in card
    assert "cd /path/to/ds-test && sha256sum -c meta/SHA256SUMS" in card
    assert "![Sample frames, one row per scene variant and task](samples.png)" in card
    assert "grep -v -e '  meta/lineage.json$' -e '  README.md$' meta/SHA256SUMS | sha256sum" in card
    assert "content digest: `" + "c" * 64 + "`" in card


def test_without_robomimic_or_samples_the_card_says_so() -> None:
    """No HDF5 summary: the card does not claim a robomimic file; no PNG name: no image link."""
    info, quality, lineage = _docs()
    card = render_card(info, quality, lineage, None)
    assert "exported without robomimic HDF5" in card
    assert "robomimic/dataset.hdf5" not in card and "## Sample frames" not in card
    assert '- "robomimic"' not in card


def test_tier_contents_follow_the_tier() -> None:
    """A full-tier card lists depth, segmentation, object poses, contacts and failure rollouts."""
    info, quality, lineage = _docs("full")
    card = render_card(info, quality, lineage, None)
    for text in (
        "depth per camera",
        "segmentation per camera",
        "object poses",
        "contacts",
        "failure rollouts",
    ):
        assert text in card
    core = render_card(_docs("core")[0], quality, lineage, None)
    assert "depth per camera" not in core and "successful episodes only" in core


def test_card_states_the_delivery_statement_and_the_content_digest() -> None:
    """The card says where the delivery statement is, verbatim, and states the content digest."""
    info, quality, lineage = _docs()
    card = render_card(info, quality, lineage, None)
    assert DELIVERY_STATEMENT in card
    assert DELIVERY_STATEMENT == (
        "The delivery statement (gate verdict, every failed check, and the approval when there "
        "is one) is `DELIVERY.md` beside this dataset in the delivered folder; `_DELIVERY.json` "
        "is its machine-readable record."
    )
    assert "content digest: `" + "c" * 64 + "`" in card
    lineage["reproducible"]["content_digest"] = None
    assert "content digest: `not computed`" in render_card(info, quality, lineage, None)


def _objects_doc() -> dict[str, Any]:
    return {
        "objects": [
            {"index": 0, "name": "scene_a/cube", "categories": ["cube"], "variants": ["scene_a/r-1/v0000"]},
            {"index": 1, "name": "scene_a/distractor_0", "categories": ["mug"], "variants": ["scene_a/r-1/v0001"]},
        ],
        "segmentation": {
            "maps": {
                "scene_a/r-1/v0000": {
                    "geom": ["floor", "table", "cube", "link0", "link1", "pedestal"],
                    "owner": [None, "scene_a/table", "scene_a/cube", "robot", "robot", None],
                }
            }
        },
    }  # fmt: skip


def test_full_card_names_objects_segmentation_ids_and_depth() -> None:
    """Tier full: the object list with categories, each segmentation id's owner, and the
    depth encoding (unit, background value, near/far) are on the card."""
    info, quality, lineage = _docs("full")
    block = info.blueprintpipeline
    block.objects = ["scene_a/cube", "scene_a/distractor_0"]
    block.depth = DepthEncoding(near_m=0.01, far_m=50.0, per_scene={"scene_a": (0.01, 50.0)})
    block.segmentation = SegmentationEncoding(max_id=5, maps="meta/objects.json")
    card = render_card(info, quality, lineage, None, objects=_objects_doc())
    assert "## Objects" in card and "| 1 | `scene_a/distractor_0` | mug | 1 |" in card
    assert "| `robot` | 3-4 |" in card and "| `scene (floor, pedestal)` | 0, 5 |" in card
    assert "| `scene_a/cube` | 2 |" in card and "ids up to 5" in card
    assert "## Depth encoding" in card and "background: `0.0`" in card
    assert "0.01 m (near clipping plane) <= depth < 50 m (far clipping plane)" in card
    core = render_card(_docs("core")[0], quality, lineage, None)
    assert "## Depth encoding" not in core and "### Segmentation ids" not in core


def test_sample_captions_are_listed_with_failures_marked() -> None:
    """Each sample row's full caption is on the card; failures are marked, and groups not
    shown are counted."""
    info, quality, lineage = _docs()
    long = "SUCCESS - " + "a very long instruction " * 12
    card = render_card(
        info,
        quality,
        lineage,
        "s.png",
        samples=[(long, True), ("FAILURE - x", False)],
        sample_groups=5,
    )
    assert f"1. {long}" in card and "2. **FAILURE** FAILURE - x" in card
    assert "(5 scene variant/task groups in all; the first 2 rows shown.)" in card
