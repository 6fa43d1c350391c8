"""Export settings: every problem named by its variable, dataset ids derived predictably."""

from __future__ import annotations

import pytest
from bp_export.settings import ExportSettings
from bp_export.stage import ExportStage
from bp_sdk.errors import ConfigError
from bp_sdk.settings import load_settings

BASE = {"STORAGE_URI": "file:///tmp/x", "SCENE_ID": "kitchen", "RUN_ID": "r-1"}


def test_defaults_and_dataset_id() -> None:
    """Default: LeRobot's codec, a 10 % valid split, two encoders, dataset id <scene>-<run> unless DATASET_ID names it."""
    s = load_settings(ExportSettings, BASE)
    assert s.export_video_codec == "libsvtav1" and s.codec_name() == "av1"
    assert s.export_valid_fraction == 0.1 and s.export_workers == 2
    assert s.dataset() == "kitchen-r-1"
    named = load_settings(
        ExportSettings, {**BASE, "EXPORT_SPEC": "specs/a.json", "DATASET_ID": "lab-1"}
    )
    assert named.dataset() == "lab-1"
    unit = ExportStage().unit(named)
    assert unit.dataset == "lab-1" and unit.commit_path == "datasets/lab-1/export/_SUCCESS.json"


def test_spec_needs_the_dataset_id() -> None:
    """EXPORT_SPEC without DATASET_ID is a configuration error naming both (one id rule for every dataset stage)."""
    with pytest.raises(ConfigError) as err:
        load_settings(ExportSettings, {**BASE, "EXPORT_SPEC": "specs/two_rooms.json"})
    assert "DATASET_ID" in err.value.render() and "EXPORT_SPEC" in err.value.render()


def test_workers_do_not_change_the_inputs_digest() -> None:
    """EXPORT_WORKERS changes speed, not bytes: it is not an output parameter (a re-run with more workers skips)."""
    one = load_settings(ExportSettings, {**BASE, "EXPORT_WORKERS": "1"}).output_params()
    two = load_settings(ExportSettings, {**BASE, "EXPORT_WORKERS": "4"}).output_params()
    assert one == two and "EXPORT_WORKERS" not in one
    assert "EXPORT_VIDEO_CODEC" in one and "EXPORT_VALID_FRACTION" in one


def test_every_problem_at_once() -> None:
    """Bad values are all reported together, by environment variable."""
    env = {
        **BASE,
        "EXPORT_VIDEO_CODEC": "mpeg4",
        "EXPORT_VALID_FRACTION": "1.5",
        "EXPORT_TIER": "gold",
        "EXPORT_SPEC": "../etc/spec.json",
        "DATASET_ID": "bad id",
    }
    with pytest.raises(ConfigError) as err:
        load_settings(ExportSettings, env)
    where = {p.where for p in err.value.problems}
    assert where == {
        "EXPORT_VIDEO_CODEC",
        "EXPORT_VALID_FRACTION",
        "EXPORT_TIER",
        "EXPORT_SPEC",
        "DATASET_ID",
    }


def test_every_field_is_described() -> None:
    """Each export setting has a description (it goes to .env.example)."""
    for name, field in ExportSettings.model_fields.items():
        assert field.description, name
