""".env.example lists every setting and matches the settings classes."""

from __future__ import annotations

import re
from pathlib import Path

from bp_sdk.envdoc import installed_settings, render
from bp_sdk.settings import JobSettings

ENV_EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"


def test_env_example_is_current() -> None:
    """The committed .env.example equals what the settings classes generate."""
    assert ENV_EXAMPLE.read_text(encoding="utf-8") == render(installed_settings()), (
        "run: uv run python scripts/gen_env_example.py"
    )


def test_every_setting_listed_and_nothing_else() -> None:
    """Every field of every settings class appears once, required ones uncommented."""
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    listed = re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE)
    classes = installed_settings()
    assert "ingest" in classes
    expected = set(JobSettings.env_fields())
    for cls in classes.values():
        expected |= set(cls.env_fields())
    assert set(listed) - {"STORAGE_EMULATOR_HOST"} == expected
    assert len(listed) == len(set(listed))
    for name, info in JobSettings.env_fields().items():
        if info.is_required():
            assert re.search(rf"^{name}=$", text, flags=re.MULTILINE), name


def test_every_field_documented() -> None:
    """Every setting has a description (it becomes the .env.example comment)."""
    for cls in [JobSettings, *installed_settings().values()]:
        for name, info in cls.env_fields().items():
            assert info.description, f"{cls.__name__}.{name} has no description"
