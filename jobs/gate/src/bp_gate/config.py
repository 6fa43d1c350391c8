"""The threshold config: versioned data, shipped with the package or read from storage.

``GATE_CONFIG=v2`` (the default) selects ``bp_gate/configs/v2.json``, ``v1`` the first
version (no initial-state diversity threshold); any other value is the storage key
of a JSON file of the same shape (``version`` required). The decision records the
version, the sha256 of the config bytes and where they came from, so a decision can be
reproduced and a changed config is a new version, never a silent edit.
"""

from __future__ import annotations

import hashlib
import re
from importlib import resources
from typing import Final

from bp_sdk.errors import ConfigError, NotFoundError, Problem
from bp_sdk.storage import Storage, check_path
from pydantic import BaseModel, ConfigDict, Field, ValidationError

SHIPPED_RE: Final = re.compile(r"^v\d+$")


class Thresholds(BaseModel):
    """Every threshold the gate applies. All required, except the ones later versions added:
    a config that predates one (v1) does not apply it, so v1 keeps meaning what it meant."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    min_success_rate: float = Field(
        ge=0, le=1, description="successes / episodes recorded for the dataset"
    )
    max_collision_rate: float = Field(
        ge=0,
        le=1,
        description="exported episodes with robot-environment collisions / exported episodes",
    )
    min_mean_quality_score: float = Field(
        ge=0, le=1, description="mean quality score of the exported episodes"
    )
    min_episodes_per_task: int = Field(
        ge=0, description="successful exported episodes of the least covered task"
    )
    min_distinct_instructions: int = Field(
        ge=0, description="distinct task instructions in tasks.parquet"
    )
    min_distinct_variants: int = Field(
        ge=0, description="distinct (scene, variant) pairs among exported episodes"
    )
    max_rejected_fraction: float = Field(
        ge=0, le=1, description="episodes rejected by export's hard rules / episodes offered"
    )
    min_initial_state_spread_m: float | None = Field(
        default=None,
        ge=0,
        description=(
            "smallest initial-state spread (m) of the objects over the repeated episodes of a "
            "(scene, variant, task); absent (v1): not checked. From v2 on every shipped config "
            "sets it."
        ),
    )


class GateConfig(BaseModel):
    """A threshold config file."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    version: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    description: str = ""
    thresholds: Thresholds


class LoadedConfig(BaseModel):
    """A config with its digest and source."""

    model_config = ConfigDict(frozen=True)
    config: GateConfig
    digest: str
    source: str


def check_config_ref(value: str) -> str:
    """A shipped version (``v1``) or a storage key of a ``.json`` file."""
    if SHIPPED_RE.fullmatch(value):
        if not resources.files("bp_gate").joinpath("configs", f"{value}.json").is_file():
            raise ValueError(
                f"no shipped threshold config {value!r}; shipped: {', '.join(shipped_versions())}"
            )
        return value
    check_path(value)
    if not value.endswith(".json"):
        raise ValueError("must be a shipped version (e.g. v1) or the storage key of a .json config")
    return value


def shipped_versions() -> list[str]:
    """Versions shipped in ``bp_gate/configs``."""
    folder = resources.files("bp_gate").joinpath("configs")
    return sorted(
        p.name.removesuffix(".json") for p in folder.iterdir() if p.name.endswith(".json")
    )


def load_config(ref: str, storage: Storage) -> LoadedConfig:
    """The config named by ``ref``; every problem of the file at once."""
    if SHIPPED_RE.fullmatch(ref):
        data = resources.files("bp_gate").joinpath("configs", f"{ref}.json").read_bytes()
        source = f"shipped:bp_gate/configs/{ref}.json"
    else:
        try:
            data = storage.read_bytes(ref)
        except NotFoundError:
            raise ConfigError(
                f"threshold config {ref!r} does not exist in storage",
                problems=[
                    Problem(
                        "GATE_CONFIG",
                        f"no object {ref!r}",
                        "upload the config or name a shipped version (v1)",
                    )
                ],
            ) from None
        source = f"storage:{ref}"
    try:
        config = GateConfig.model_validate_json(data)
    except ValidationError as exc:
        raise ConfigError(
            f"threshold config {ref!r} is invalid",
            problems=[
                Problem(f"{ref}: {'.'.join(str(p) for p in e['loc']) or '(root)'}", e["msg"])
                for e in exc.errors()
            ],
            next_step="Fix the config file (see docs/GATE.md for its fields) and run again.",
        ) from None
    if SHIPPED_RE.fullmatch(ref) and config.version != ref:
        raise ConfigError(f"shipped config {ref}.json declares version {config.version!r}")
    return LoadedConfig(config=config, digest=hashlib.sha256(data).hexdigest(), source=source)
