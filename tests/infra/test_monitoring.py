"""Each log-based metric's filter and extractors match the lines the SDK really writes.

The lines come from real jobs run in-process through ``bp_sdk.runner.run_stage`` with
LOG_FORMAT=json (ingest failing on a broken blueprint, ingest committing, ingest refusing its
settings, the real gate on a real exported dataset), and, where a real run would take
minutes, from the stage's own logging code inside the real runner (episodes'
``_log_episode``; a stage raising a retryable error). Each line becomes the LogEntry Cloud
Logging stores for a Cloud Run job (tests/infra/logql.py) and every metric filter,
extractor and alert condition is evaluated against it.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest
from bp_contracts.episode import EpisodeRecord
from bp_episodes.settings import EpisodesSettings
from bp_episodes.stage import Done, _log_episode
from bp_ingest.stage import IngestStage
from bp_sdk.errors import RetryableError
from bp_sdk.runner import Stage, StageContext, StageResult, run_stage
from bp_sdk.settings import JobSettings
from bp_sdk.storage import Storage

from tests.conftest import job_env, minimal_blueprint
from tests.infra import logql
from tests.infra.conftest import TfCopy
from tests.infra.tfconfig import Module
from tests.infra.tfscope import module_scope, root_scope

MONITORING = "modules/monitoring"
# label values only the (slow) real gate produces; test_gate_metric_matches_the_real_gate
# asserts exactly these
GATE_LABELS = {"gate_decisions": {"passed": {"true", "false"}}}


class _FlakySettings(JobSettings):
    stage_name: ClassVar[str] = "flaky"


class _Flaky(Stage[_FlakySettings]):
    """A stage whose dependency fails transiently (the runner writes a retryable marker)."""

    name = "flaky"
    distribution = "bp-sdk"
    settings_cls = _FlakySettings

    def inputs(self, settings: _FlakySettings, storage: Storage) -> dict[str, str]:
        return {"const": "0" * 64}

    def run(self, ctx: StageContext[_FlakySettings]) -> StageResult:
        raise RetryableError("the articulation service timed out")


class _EpisodeLines(Stage[EpisodesSettings]):
    """One episodes shard that reports two episodes through episodes' own logging code."""

    name = "episodes"
    distribution = "bp-episodes"
    settings_cls = EpisodesSettings
    sharded = True

    def inputs(self, settings: EpisodesSettings, storage: Storage) -> dict[str, str]:
        return {"const": "1" * 64}

    def run(self, ctx: StageContext[EpisodesSettings]) -> StageResult:
        for i, success in enumerate((True, False)):
            record = EpisodeRecord.model_construct(
                episode_id=f"ep-{i}",
                task_id="pick_mug",
                task_kind="pick_place",
                status="success" if success else "failure",
                failure_reason=None if success else "grasp_slipped",
            )
            _log_episode(ctx, Done(record=record, wall_s=12.5))
        return StageResult(summary={"episodes": 2})


def _run_job(
    stage: Stage[Any], env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> tuple[int, list[dict[str, Any]]]:
    """Run a job in-process; its exit code and its LogEntries."""
    code = run_stage(stage, env)
    logging.getLogger().handlers.clear()
    lines = [json.loads(x) for x in capsys.readouterr().err.splitlines() if x.startswith("{")]
    job = env.get("CLOUD_RUN_JOB", f"bp-{stage.name}")
    entries = [
        logql.log_entry(
            line,
            job=job,
            execution=env["CLOUD_RUN_EXECUTION"],
            task=int(env.get("CLOUD_RUN_TASK_INDEX", "0")),
        )
        for line in lines
    ]
    return code, entries


@pytest.fixture(scope="module")
def metrics() -> Callable[[dict[str, Module]], dict[str, dict[str, Any]]]:
    """Metric name -> {filter, labels, value} as Terraform configures them, for a tree."""

    def read(tree: dict[str, Module]) -> dict[str, dict[str, Any]]:
        scope = module_scope(tree, root_scope(tree), tree["."].calls["monitoring"])
        out = {}
        for (rtype, name), body in tree[MONITORING].resources.items():
            if rtype == "google_logging_metric":
                out[name] = {
                    "filter": scope.value(body["filter"]),
                    "labels": scope.value(body.get("label_extractors", {})),
                    "value": scope.value(body.get("value_extractor")),
                    "descriptors": {
                        lbl["key"]
                        for md in body["metric_descriptor"]
                        for lbl in md.get("labels", [])
                    },
                }
        return out

    return read


@pytest.fixture
def sdk_lines(
    file_storage: Storage, scene_factory: Callable[..., str], capsys: pytest.CaptureFixture[str]
) -> dict[str, list[dict[str, Any]]]:
    """LogEntries of real job runs, by situation."""
    out: dict[str, list[dict[str, Any]]] = {}
    base = {"CLOUD_RUN_JOB": "bp-ingest", "CLOUD_RUN_EXECUTION": "bp-ingest-x1"}
    bad = scene_factory(minimal_blueprint(units="furlong"))
    code, out["permanent"] = _run_job(IngestStage(), job_env(file_storage, bad, **base), capsys)
    assert code == 3
    good = scene_factory(minimal_blueprint())
    code, out["committed"] = _run_job(IngestStage(), job_env(file_storage, good, **base), capsys)
    assert code == 0
    code, out["config"] = _run_job(
        IngestStage(), job_env(file_storage, good, INGEST_MAX_OBJECTS="0", **base), capsys
    )
    assert code == 2
    flaky = {"CLOUD_RUN_JOB": "bp-flaky", "CLOUD_RUN_EXECUTION": "bp-flaky-x1"}
    code, out["retryable"] = _run_job(_Flaky(), job_env(file_storage, good, **flaky), capsys)
    assert code == 1
    shard = {
        "CLOUD_RUN_JOB": "bp-episodes",
        "CLOUD_RUN_EXECUTION": "bp-episodes-x1",
        "CLOUD_RUN_TASK_INDEX": "1",
        "CLOUD_RUN_TASK_COUNT": "2",
    }
    code, out["episodes"] = _run_job(_EpisodeLines(), job_env(file_storage, good, **shard), capsys)
    assert code == 0, [e.get("jsonPayload", {}).get("message") for e in out["episodes"]]
    return out


def _matching(metric: dict[str, Any], entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in entries if logql.matches(metric["filter"], e)]


def _labels(metric: dict[str, Any], entry: dict[str, Any]) -> dict[str, str | None]:
    return {k: logql.extract(x, entry) for k, x in metric["labels"].items()}


def metric_problems(
    metrics: dict[str, dict[str, Any]], lines: dict[str, list[dict[str, Any]]]
) -> list[str]:
    """What each metric must count (and not count) among the real lines."""
    problems: list[str] = []
    everything = [e for group in lines.values() for e in group]

    def expect(name: str, situation: str, count: int, labels: list[dict[str, str]]) -> None:
        metric = metrics.get(name)
        if metric is None:
            problems.append(f"no metric {name}")
            return
        got = _matching(metric, lines[situation])
        others = [
            e
            for s, group in lines.items()
            if s != situation
            for e in group
            if logql.matches(metric["filter"], e)
        ]
        if len(got) != count:
            problems.append(f"{name}: matched {len(got)} {situation} lines, expected {count}")
        if others and situation != "any":
            problems.append(f"{name}: also matched {len(others)} lines of other situations")
        for entry, want in zip(got, labels, strict=False):
            have = _labels(metric, entry)
            if any(have.get(k) != v for k, v in want.items()):
                problems.append(f"{name}: labels {have}, expected {want}")
        if set(metric["labels"]) != metric["descriptors"]:
            problems.append(
                f"{name}: extractors {sorted(metric['labels'])} != descriptor labels {sorted(metric['descriptors'])}"
            )

    failures = metrics.get("stage_failures")
    if failures is not None:
        got = _matching(failures, everything)
        have = sorted(
            (_labels(failures, e)["stage"], _labels(failures, e)["permanent"]) for e in got
        )
        if have != [("flaky", "false"), ("ingest", "true")]:
            problems.append(f"stage_failures: (stage, permanent) of matched lines {have}")
        for e in got:
            if _labels(failures, e)["error_type"] != e["jsonPayload"]["error_type"]:
                problems.append("stage_failures: error_type label is not the marker's error type")
    expect("config_errors", "config", 1, [{"job": "bp-ingest"}])
    expect(
        "episodes_finished",
        "episodes",
        2,
        [
            {"success": "true", "task_kind": "pick_place"},
            {"success": "false", "task_kind": "pick_place"},
        ],
    )
    seconds = metrics.get("stage_seconds")
    if seconds is not None:
        got = _matching(seconds, everything)
        stages = sorted(_labels(seconds, e)["stage"] or "" for e in got)
        if stages != ["episodes", "ingest"]:
            problems.append(
                f"stage_seconds: matched commits of {stages}, expected episodes and ingest"
            )
        for e in got:
            value = logql.extract(seconds["value"], e)
            if value is None or float(value) < 0:
                problems.append(f"stage_seconds: value {value!r} is not a duration")
    return problems


def test_metric_filters_match_real_sdk_lines(tree: dict[str, Module], metrics, sdk_lines) -> None:
    """Every log-based metric counts exactly the real lines it is for, with the right labels."""
    assert metric_problems(metrics(tree), sdk_lines) == []


def test_a_misspelt_filter_field_fails(tf_copy: TfCopy, metrics, sdk_lines) -> None:
    """A metric whose filter names a field the SDK does not write matches nothing: reported."""
    tf_copy.replace(
        f"{MONITORING}/main.tf",
        'filter      = "${local.scope} AND jsonPayload.event=\\"episode_finished\\""',
        'filter      = "${local.scope} AND jsonPayload.event=\\"episode_done\\""',
    )
    problems = metric_problems(metrics(tf_copy.load()), sdk_lines)
    assert any("episodes_finished: matched 0 episodes lines" in p for p in problems), problems


def test_a_wrong_extractor_fails(tf_copy: TfCopy, metrics, sdk_lines) -> None:
    """A label extractor reading a field the SDK does not write yields no value: reported."""
    tf_copy.replace(
        f"{MONITORING}/main.tf",
        '    permanent  = "EXTRACT(jsonPayload.permanent)"',
        '    permanent  = "EXTRACT(jsonPayload.is_permanent)"',
    )
    problems = metric_problems(metrics(tf_copy.load()), sdk_lines)
    assert any("stage_failures: (stage, permanent)" in p for p in problems), problems


def test_alert_conditions_use_real_metric_labels(
    tree: dict[str, Module], metrics, sdk_lines
) -> None:
    """Each alert filters on a defined metric, with labels it extracts and values real lines produce."""
    defined = metrics(tree)
    scope = module_scope(tree, root_scope(tree), tree["."].calls["monitoring"])
    seen: dict[str, dict[str, set[str]]] = {
        k: {lbl: set(v) for lbl, v in labels.items()} for k, labels in GATE_LABELS.items()
    }
    everything = [e for group in sdk_lines.values() for e in group]
    for name, metric in defined.items():
        for e in _matching(metric, everything):
            for k, v in _labels(metric, e).items():
                seen.setdefault(name, {}).setdefault(k, set()).add(str(v))
    policies = [
        b
        for (t, _n), b in tree[MONITORING].resources.items()
        if t == "google_monitoring_alert_policy"
    ]
    assert len(policies) >= 5
    for policy in policies:
        for cond in policy["conditions"]:
            threshold = cond["condition_threshold"][0]
            for key in ("filter", "denominator_filter"):
                if key not in threshold:
                    continue
                text = scope.value(threshold[key])
                metric = re.search(r'metric\.type="logging\.googleapis\.com/user/bp_(\w+)"', text)
                assert metric and metric.group(1) in defined, text
                for label, value in re.findall(r'metric\.label\.(\w+)="([^"]*)"', text):
                    assert label in defined[metric.group(1)]["labels"], (text, label)
                    assert value in seen.get(metric.group(1), {}).get(label, set()), (text, value)


@pytest.mark.slow
def test_gate_metric_matches_the_real_gate(
    exported_core: Any,
    tmp_path: Path,
    metrics,
    tree: dict[str, Module],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The real gate's decision lines (failed by default on the tiny fixture, passed on a loose config) are counted by outcome; it writes only where its grant allows."""
    from tests.gate.helpers import Store

    metric = metrics(tree)["gate_decisions"]
    gate_writes = root_scope(tree).local("stages")["gate"]["writes"]  # the gate's object grant
    seen = []
    for name, loose in (("strict", False), ("loose", True)):
        store = Store(exported_core, tmp_path / name)
        extra = {"CLOUD_RUN_JOB": "bp-gate", "CLOUD_RUN_EXECUTION": f"bp-gate-{name}"}
        if loose:
            extra["GATE_CONFIG"] = store.put_loose_config()
        before = {o.path for o in store.storage.list("")}
        code, entries = _run_job(_gate(), store.env(**extra), capsys)
        assert code == 0
        created = {o.path for o in store.storage.list("")} - before
        assert created
        assert all(k.startswith(tuple(gate_writes)) for k in created), created
        got = _matching(metric, entries)
        assert len(got) == 1, [e["jsonPayload"].get("event") for e in entries]
        seen.append(_labels(metric, got[0])["passed"])
    assert seen == ["false", "true"]
    assert set(seen) == GATE_LABELS["gate_decisions"]["passed"]


def _gate() -> Stage[Any]:
    from bp_gate.stage import GateStage

    return GateStage()
