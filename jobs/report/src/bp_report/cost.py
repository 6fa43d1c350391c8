"""The estimated cloud cost of a run: measured usage × a dated list-price table.

Measured, from commit records:

* compute: each committed unit's seconds (``started_at`` → ``committed_at``, rounded up
  to the billing increment) × the vCPU, GiB and GPUs its Cloud Run job gets
  (``resources.json``) → vCPU-seconds, GiB-seconds, GPU-seconds;
* storage: the bytes of every committed file (priced per month kept);
* Class A operations: every committed file, every commit record and failure marker written;
* Class B operations (estimated from inputs): each unit reads its own commit record and
  every file and record of the upstream units its inputs name (one read for other inputs);
* Workflows steps: an assumed number of internal steps per stage execution.

Everything is an estimate: see docs/REPORT.md for what it leaves out.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from bp_contracts.stages import DATASET_STAGES
from pydantic import BaseModel, ConfigDict, Field

from bp_report.collect import Snapshot, UnitState

GIB = float(1 << 30)


class Price(BaseModel):
    """One list price: ``usd`` per ``per`` ``unit``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    usd: float = Field(ge=0)
    per: float = Field(gt=0)
    unit: str
    what: str
    source: str


class PriceTable(BaseModel):
    """``prices.json``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    schema_: str = Field(alias="schema")
    description: str
    currency: str
    region: str
    read_on: str
    prices: dict[str, Price]
    assumptions: dict[str, float]

    def cost(self, key: str, quantity: float) -> float:
        """``quantity`` × the price of ``key``."""
        p = self.prices[key]
        return quantity / p.per * p.usd


class Resources(BaseModel):
    """What one stage's Cloud Run job gets."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    cpu: float = Field(gt=0)
    memory_gib: float = Field(gt=0)
    gpu: int = Field(ge=0)
    gpu_type: str | None


class ResourceTable(BaseModel):
    """``resources.json``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    schema_: str = Field(alias="schema")
    description: str
    default: Resources
    stages: dict[str, Resources]

    def of(self, stage: str) -> Resources:
        """The stage's resources (``default`` if not listed)."""
        return self.stages.get(stage, self.default)


def _data(name: str) -> bytes:
    return resources.files("bp_report").joinpath(name).read_bytes()


def load_prices(raw: bytes | None = None) -> PriceTable:
    """The packaged price table (or ``raw``)."""
    return PriceTable.model_validate_json(raw if raw is not None else _data("prices.json"))


def load_resources(raw: bytes | None = None) -> ResourceTable:
    """The packaged resource table (or ``raw``)."""
    return ResourceTable.model_validate_json(raw if raw is not None else _data("resources.json"))


def table_bytes() -> dict[str, bytes]:
    """The packaged tables' bytes (part of the report's inputs)."""
    return {"prices.json": _data("prices.json"), "resources.json": _data("resources.json")}


@dataclass
class UnitCost:
    """Measured usage and compute cost of one committed unit."""

    label: str
    stage: str
    source: str | None
    seconds: float | None
    billed_s: float
    vcpu_s: float
    gib_s: float
    gpu_s: float
    usd: float


@dataclass
class CostEstimate:
    """The whole estimate, with its inputs, for report.json and the page."""

    units: list[UnitCost] = field(default_factory=list)
    usage: dict[str, float] = field(default_factory=dict)  # price key → quantity
    usd: dict[str, float] = field(default_factory=dict)  # price key → cost
    storage_bytes: int = 0
    total_usd: float = 0.0
    episodes: int = 0
    per_1000_episodes_usd: float | None = None
    # the episodes job alone (its compute: the GPU job), per 1,000 episodes
    episodes_job_usd: float = 0.0
    episodes_job_per_1000_usd: float | None = None
    unmeasured: list[str] = field(default_factory=list)  # committed without started_at
    failed_attempts: int = 0  # not costed: a marker has no start time

    def to_json(self, prices: PriceTable) -> dict[str, Any]:
        """The numbers behind the cost section."""
        return {
            "label": f"estimate at list prices read on {prices.read_on} ({prices.region})",
            "currency": prices.currency,
            "region": prices.region,
            "prices_read_on": prices.read_on,
            "total_usd": self.total_usd,
            "per_1000_episodes_usd": self.per_1000_episodes_usd,
            "episodes_job_usd": self.episodes_job_usd,
            "episodes_job_per_1000_usd": self.episodes_job_per_1000_usd,
            "episodes": self.episodes,
            "storage_bytes": self.storage_bytes,
            "usage": self.usage,
            "usd": self.usd,
            "units": [u.__dict__ for u in self.units],
            "unmeasured": self.unmeasured,
            "failed_attempts_not_costed": self.failed_attempts,
        }


def billed_seconds(seconds: float, increment: float) -> float:
    """``seconds`` rounded up to the billing increment."""
    if increment <= 0:
        return seconds
    return round(math.ceil(round(seconds / increment, 6)) * increment, 6)


def unit_cost(u: UnitState, res: Resources, prices: PriceTable) -> UnitCost:
    """Compute usage and cost of one committed unit."""
    seconds = u.seconds
    billed = billed_seconds(seconds or 0.0, prices.assumptions.get("billing_increment_s", 0.0))
    vcpu_s, gib_s, gpu_s = billed * res.cpu, billed * res.memory_gib, billed * res.gpu
    usd = (
        prices.cost("run_vcpu_second", vcpu_s)
        + prices.cost("run_gib_second", gib_s)
        + prices.cost("run_l4_gpu_second", gpu_s)
    )
    return UnitCost(u.label, u.stage, u.source, seconds, billed, vcpu_s, gib_s, gpu_s, usd)


def _upstream(snap: Snapshot, u: UnitState, key: str) -> list[UnitState] | None:
    """The committed units an input key names (``simready``, ``episodes:<s>/<r>``, ``export``)."""
    kind, _, label = key.partition(":")
    view = snap.stage(kind) if kind in DATASET_STAGES else snap.stage(kind, label or u.source)
    if view is None:
        return None
    return view.committed()


def class_b_reads(snap: Snapshot, u: UnitState) -> int:
    """Estimated object reads of one committed unit: its record, then its inputs."""
    assert u.record is not None  # noqa: S101 - only committed units are costed
    reads = 1
    for key in u.record.inputs:
        ups = _upstream(snap, u, key)
        if not ups:
            reads += 1
            continue
        reads += sum(len(x.record.files) + 1 for x in ups if x.record is not None)
    return reads


def _executions(snap: Snapshot) -> int:
    """Stage executions (a stage run by one workflow execution, all its shards together)."""
    seen: set[tuple[str | None, str, str]] = set()
    for u in snap.units():
        if u.record is not None:
            seen.add((u.source, u.stage, u.record.attempt.execution))
        for m in u.markers:
            seen.add((u.source, u.stage, m.execution))
    return len(seen)


def estimate(
    snap: Snapshot, prices: PriceTable, table: ResourceTable, episodes: int
) -> CostEstimate:
    """The estimated cost of everything the snapshot committed."""
    est = CostEstimate(episodes=episodes)
    class_a = class_b = 0
    for u in snap.units():
        est.failed_attempts += len(u.markers)
        class_a += len(u.markers)
        if u.record is None:
            continue
        cost = unit_cost(u, table.of(u.stage), prices)
        est.units.append(cost)
        if cost.seconds is None:
            est.unmeasured.append(f"{u.source or snap.dataset}:{u.label}")
        est.storage_bytes += sum(f.size for f in u.record.files.values())
        class_a += len(u.record.files) + 1
        class_b += class_b_reads(snap, u)
    est.usage = {
        "run_vcpu_second": round(sum(c.vcpu_s for c in est.units), 6),
        "run_gib_second": round(sum(c.gib_s for c in est.units), 6),
        "run_l4_gpu_second": round(sum(c.gpu_s for c in est.units), 6),
        "storage_standard_gib_month": est.storage_bytes / GIB,
        "storage_class_a_ops": float(class_a),
        "storage_class_b_ops": float(class_b),
        "workflows_internal_steps": _executions(snap)
        * prices.assumptions.get("workflow_steps_per_stage_execution", 0.0),
    }
    est.usd = {k: prices.cost(k, q) for k, q in est.usage.items()}
    est.total_usd = sum(est.usd.values())
    est.episodes_job_usd = sum(c.usd for c in est.units if c.stage == "episodes")
    if episodes:
        est.per_1000_episodes_usd = est.total_usd / episodes * 1000
        est.episodes_job_per_1000_usd = est.episodes_job_usd / episodes * 1000
    return est


def prices_json(prices: PriceTable) -> dict[str, Any]:
    """The price table as report.json carries it."""
    out: dict[str, Any] = json.loads(prices.model_dump_json(by_alias=True))
    return out


__all__ = [
    "CostEstimate",
    "PriceTable",
    "ResourceTable",
    "billed_seconds",
    "estimate",
    "load_prices",
    "load_resources",
]
