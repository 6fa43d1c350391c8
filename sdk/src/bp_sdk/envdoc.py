"""Render ``.env.example`` from the settings classes, so the file cannot drift."""

from __future__ import annotations

import typing
from importlib.metadata import entry_points
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from bp_sdk.settings import JobSettings

SETTINGS_GROUP = "blueprintpipeline.settings"
HEADER = (
    "# BlueprintPipeline settings: every environment variable a job reads.\n"
    "# Generated from the settings classes by `scripts/gen_env_example.py`; a test checks it is current.\n"
    "# Required variables are uncommented and empty; optional ones show their default.\n"
    "# Jobs read the environment only (no .env); `.env` is read for BP_SECRET_* secrets\n"
    "# outside production.\n"
)


def installed_settings() -> dict[str, type[JobSettings]]:
    """Every stage's settings class, by stage name (from package metadata)."""
    out: dict[str, type[JobSettings]] = {}
    for ep in sorted(entry_points(group=SETTINGS_GROUP), key=lambda e: e.name):
        cls = ep.load()
        if isinstance(cls, type) and issubclass(cls, JobSettings):
            out[ep.name] = cls
    return out


def _choices(info: FieldInfo) -> str:
    args = typing.get_args(info.annotation)
    if typing.get_origin(info.annotation) is typing.Literal:
        return " One of: " + ", ".join(str(a) for a in args) + "."
    return ""


def _line(name: str, info: FieldInfo) -> list[str]:
    desc = (info.description or "").strip()
    lines = [f"# {desc}{_choices(info)}"]
    if info.is_required():
        lines.append(f"{name}=")
    else:
        default: Any = info.default
        if default is PydanticUndefined or info.default_factory is not None:
            shown = "(computed)"
        elif default is None:
            shown = ""
        else:
            shown = str(default)
        lines.append(f"# {name}={shown}")
    return lines


def render(classes: dict[str, type[JobSettings]]) -> str:
    """The full ``.env.example`` text."""
    out = [HEADER, "# ---- common: every job ----"]
    common = JobSettings.env_fields()
    for name, info in common.items():
        out += _line(name, info)
    listed = set(common)
    for stage, cls in classes.items():
        own = {n: f for n, f in cls.env_fields().items() if n not in listed}
        listed |= set(own)
        if not own:
            continue
        out += ["", f"# ---- {stage} (bp-{stage}) ----"]
        for name, info in own.items():
            out += _line(name, info)
    out += [
        "",
        "# ---- read by libraries and the secrets helper ----",
        "# Point the google-cloud-storage client at a local emulator (tests, local runs).",
        "# STORAGE_EMULATOR_HOST=http://127.0.0.1:4443",
        "# A secret NAME outside production (production reads Secret Manager only).",
        "# BP_SECRET_<NAME>=",
    ]
    return "\n".join(out) + "\n"
