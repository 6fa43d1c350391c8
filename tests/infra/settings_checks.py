"""Each job's settings class against the environment it runs with: every setting a job
requires (its settings class decides, production included) is set by Terraform or passed by
the workflow, and Terraform, the workflow and the Scheduler set only settings some job reads.
Returns a list of problems (empty: consistent), so the tests can run it on the real
configuration and on copies broken on purpose."""

from __future__ import annotations

from typing import Any

from tests.infra.job_checks import job_env, stage_map
from tests.infra.tfconfig import Module
from tests.infra.tfeval import UNKNOWN, Scope
from tests.infra.tfscope import root_scope
from tests.infra.workflow_checks import pipeline_env_for

# sample values of what the workflow passes (any other name it passes gets "x")
PASSED_SAMPLES = {
    "SCENE_ID": "scene-1",
    "RUN_ID": "run-1",
    "DATASET_ID": "scene-1-run-1",
    "REPORT_ID": "exec-1",
}


def settings_problems(tree: dict[str, Module], classes: dict[str, Any]) -> list[str]:
    """Every setting a job requires (its settings class decides, production included) is set
    by Terraform or passed by the workflow; Terraform sets only settings the job knows."""
    scope = root_scope(tree)
    stages = stage_map(tree, scope)
    problems: list[str] = []
    for stage, spec in stages.items():
        problems += _stage_settings_problems(tree, scope, stage, spec, classes.get(stage))
    return problems + _unread_settings_problems(scope, stages, classes)


def _stage_settings_problems(
    tree: dict[str, Module], scope: Scope, stage: str, spec: dict[str, Any], cls: Any
) -> list[str]:
    """The settings class of ``stage`` reads what Terraform sets and accepts the task's env."""
    from bp_sdk.errors import ConfigError
    from bp_sdk.settings import load_settings

    if cls is None:
        return [f"no settings class for stage {stage}"]
    tf_env = job_env(tree, scope, stage)
    if tf_env is UNKNOWN or any(v is UNKNOWN for v in tf_env.values()):
        return [f"stage {stage}: Terraform's env is not known before apply: {tf_env}"]
    known = set(cls.env_fields())
    problems = [
        f"stage {stage}: Terraform sets {k}, which bp-{stage} does not read"
        for k in sorted(set(tf_env) - known)
    ]
    try:
        load_settings(cls, _task_env(stage, spec, tf_env))
    except ConfigError as err:
        problems.append(f"stage {stage}: {err.render()}")
    return problems


def _task_env(stage: str, spec: dict[str, Any], tf_env: dict[str, Any]) -> dict[str, str]:
    """A task's env: Terraform's, what the workflow passes, and what Cloud Run sets."""
    passed = pipeline_env_for(stage)  # to every job alike; a job ignores what it does not read
    env = {k: str(v) for k, v in tf_env.items()}
    env |= {k: PASSED_SAMPLES.get(k, "x") for k in passed}
    env |= {  # what Cloud Run sets in every task
        "CLOUD_RUN_JOB": f"bp-{stage}",
        "CLOUD_RUN_EXECUTION": f"bp-{stage}-abc12",
        "CLOUD_RUN_TASK_INDEX": "0",
        "CLOUD_RUN_TASK_COUNT": str(spec["task_count"]),
        "CLOUD_RUN_TASK_ATTEMPT": "0",
    }
    return env


def _unread_settings_problems(
    scope: Scope, stages: dict[str, Any], classes: dict[str, Any]
) -> list[str]:
    """The workflow, ``job_settings`` and the Scheduler's settings name only settings jobs read."""
    everything = set().union(*(set(c.env_fields()) for c in classes.values()))
    passed_any = set().union(*(pipeline_env_for(s) for s in stages))
    problems = [
        f"the workflow passes {k}, which no job reads" for k in sorted(passed_any - everything)
    ]
    for stage, extra in scope.variables["job_settings"].items():
        cls = classes.get(stage)
        unknown = set(extra) - (set(cls.env_fields()) if cls else set())
        problems += [
            f"job_settings.{stage}.{k}: not a setting of bp-{stage}" for k in sorted(unknown)
        ]
    sched = scope.variables["schedule"]["arguments"]["settings"]
    problems += [f"schedule settings {k}: no job reads it" for k in sorted(set(sched) - everything)]
    return problems
