"""The typed result of verifying a dataset: one entry per check, every problem named.

``bp verify`` prints it as a table (or ``--json``); the gate copies every check into
its ``decision.json``. A check that could not run (its input was unreadable) has failed:
nothing passes by default.
"""

from __future__ import annotations

import json
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field

MAX_PROBLEMS: Final = 200  # per check; the count of the rest is kept

CHECKSUMS: Final = "checksums"
SCHEMA: Final = "schema"
TIER: Final = "tier"
FRAMES: Final = "frames"
VALUES: Final = "values"
DELIVERY: Final = "delivery"  # only when the folder is a delivery
DIGEST: Final = "digest"  # only when a digest is pinned (bp verify --digest)
CHECK_ORDER: Final = (CHECKSUMS, SCHEMA, TIER, FRAMES, VALUES)
CHECK_MEANING: Final[dict[str, str]] = {
    CHECKSUMS: "every file listed in meta/SHA256SUMS is present with its sha256; nothing unlisted",
    SCHEMA: "info.json, features, parquet columns and types, episode indices, splits (LeRobot v3.0)",
    TIER: "content matches the declared tier exactly (lossless streams, failure rollouts)",
    FRAMES: "every video decodes; frames per episode == length; frame k at from_timestamp + k/fps",
    VALUES: "finite numbers, finite rewards, unit quaternions, actions within declared ranges",
    DELIVERY: "_DELIVERY.json names this digest; DELIVERY.md has the sha256 it names",
    DIGEST: "the dataset digest (and the delivery record's) is the pinned one",
}


class Problems:
    """Collects problem lines, keeping the first :data:`MAX_PROBLEMS` and counting the rest."""

    def __init__(self, limit: int = MAX_PROBLEMS) -> None:
        self.lines: list[str] = []
        self.dropped = 0
        self.limit = limit

    def add(self, line: str) -> None:
        """Record one problem (which must name the file it is about)."""
        if len(self.lines) < self.limit:
            self.lines.append(line)
        else:
            self.dropped += 1

    def extend(self, lines: list[str]) -> None:
        """Record several problems."""
        for line in lines:
            self.add(line)

    def __len__(self) -> int:
        return len(self.lines) + self.dropped

    def __bool__(self) -> bool:
        return len(self) > 0


class CheckResult(BaseModel):
    """One check: whether it holds, a summary value, and every problem found."""

    model_config = ConfigDict(extra="forbid")
    name: str
    passed: bool
    value: Any = None
    summary: str = ""
    problems: list[str] = Field(default_factory=list)
    more_problems: int = 0  # problems found beyond those listed

    @classmethod
    def from_problems(cls, name: str, problems: Problems, value: Any, summary: str) -> CheckResult:
        """Passed iff no problem was collected."""
        return cls(
            name=name,
            passed=not problems,
            value=value,
            summary=summary if not problems else f"{len(problems)} problem(s); {summary}",
            problems=problems.lines,
            more_problems=problems.dropped,
        )

    @classmethod
    def not_run(cls, name: str, why: str) -> CheckResult:
        """A check that could not run has failed."""
        return cls(name=name, passed=False, summary=f"not run: {why}", problems=[f"not run: {why}"])


class VerifyReport(BaseModel):
    """Every check on one dataset, the dataset digest and the sha256 of every file read."""

    model_config = ConfigDict(extra="forbid")
    schema_: str = Field(default="bp.verify/v1", alias="schema")
    target: str
    dataset_digest: str | None = None
    checks: list[CheckResult]
    # path -> sha256 computed by the checksums pass (kept out of the JSON report)
    file_digests: dict[str, str] = Field(default_factory=dict, exclude=True)

    @property
    def passed(self) -> bool:
        """True only if every check ran and holds."""
        return bool(self.checks) and all(c.passed for c in self.checks)

    def check(self, name: str) -> CheckResult | None:
        """The named check, if it was run."""
        return next((c for c in self.checks if c.name == name), None)

    def failed(self) -> list[str]:
        """Names of the checks that failed."""
        return [c.name for c in self.checks if not c.passed]

    def to_json(self) -> bytes:
        """The report as pretty JSON (with an overall ``passed``)."""
        body = self.model_dump(mode="json", by_alias=True)
        body["passed"] = self.passed
        return (json.dumps(body, indent=2, allow_nan=False) + "\n").encode()
