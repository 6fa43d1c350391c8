"""The Cloud Workflows and the Scheduler against Terraform: every job the workflows run
exists under the name they build, their env and YAML files agree with Terraform, and the
Scheduler starts the batch workflow, as its identity, with arguments batch.yaml accepts.
Each ``*_problems`` returns a list of problems (empty: consistent), so the tests can run it
on the real configuration and on copies broken on purpose."""

from __future__ import annotations

import re
from typing import Any

import yaml

from tests.infra.job_checks import stage_job_names
from tests.infra.tfconfig import REPO, Module
from tests.infra.tfscope import parse_type, root_scope

WORKFLOWS = REPO / "workflows"


def load_workflow(name: str) -> dict[str, Any]:
    """A workflow file as YAML data."""
    return yaml.safe_load((WORKFLOWS / f"{name}.yaml").read_text(encoding="utf-8"))


def _walk(node: Any) -> Any:
    yield node
    if isinstance(node, dict):
        for v in node.values():
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


def workflow_stages() -> set[str]:
    """Every stage pipeline.yaml runs: its stage order plus literal stages (the report)."""
    wf = load_workflow("pipeline")
    order = next(
        n["return"]
        for n in _walk(wf["stage_order"])
        if isinstance(n, dict) and isinstance(n.get("return"), list)
    )
    out = set(order)
    for node in _walk(wf):
        if isinstance(node, dict) and node.get("call") in {"run_stage", "run_routed"}:
            stage = node.get("args", {}).get("stage")
            if isinstance(stage, str) and not stage.startswith("${"):
                out.add(stage)
    return out


def workflow_job_name_expression() -> str:
    """The ``name`` argument of pipeline.yaml's Cloud Run jobs.run call."""
    for node in _walk(load_workflow("pipeline")):
        if (
            isinstance(node, dict)
            and node.get("call") == "googleapis.run.v2.projects.locations.jobs.run"
        ):
            return str(node["args"]["name"])
    raise AssertionError("pipeline.yaml calls no Cloud Run job")


def workflow_env_names() -> set[str]:
    """Environment variables the workflows read with sys.get_env, other than Google's own."""
    names: set[str] = set()
    for name in ("pipeline", "batch"):
        text = (WORKFLOWS / f"{name}.yaml").read_text(encoding="utf-8")
        names |= set(re.findall(r'sys\.get_env\("([A-Z0-9_]+)"\)', text))
    return {n for n in names if not n.startswith("GOOGLE_CLOUD_")}


def workflow_problems(tree: dict[str, Module]) -> list[str]:
    """Every job the workflows call exists under the name they build; their env and files agree."""
    problems: list[str] = []
    scope = root_scope(tree)
    root = tree["."]
    env = scope.local("workflow_env")
    expr = workflow_job_name_expression()
    if 'cfg.job_prefix + "-" + stage' not in expr:
        problems.append(
            f"pipeline.yaml builds job names as {expr!r}; this check expects <job_prefix>-<stage>"
        )
    jobs = set(stage_job_names(tree, scope).values())
    for stage in sorted(workflow_stages()):
        name = f"{env.get('BP_JOB_PREFIX')}-{stage}"
        if name not in jobs:
            problems.append(
                f"the workflow runs job {name} (stage {stage}), which Terraform does not create"
            )
    wanted = workflow_env_names()
    if not set(env) <= wanted:
        problems.append(
            f"workflow env {sorted(set(env) - wanted)}: the YAML reads no such variable"
        )
    if not {"BP_BUCKET", "BP_JOB_PREFIX", "BP_PIPELINE_WORKFLOW"} <= set(env):
        problems.append(
            f"workflow env {sorted(env)} lacks one of BP_BUCKET, BP_JOB_PREFIX, BP_PIPELINE_WORKFLOW"
        )
    pipeline = root.calls.get("pipeline_workflow", {})
    batch = root.calls.get("batch_workflow", {})
    if env.get("BP_PIPELINE_WORKFLOW") != scope.value(pipeline.get("name")):
        problems.append("BP_PIPELINE_WORKFLOW is not the pipeline workflow's name")
    if env.get("BP_BUCKET") != scope.value(root.calls["data_bucket"]["name"]):
        problems.append("BP_BUCKET is not the data bucket")
    if env.get("BP_PREFIX", "") != scope.variables["storage"]["prefix"]:
        problems.append("BP_PREFIX is not the storage prefix")
    for call, file in ((pipeline, "pipeline.yaml"), (batch, "batch.yaml")):
        src = str(call.get("source_contents", ""))
        m = re.fullmatch(r'\$\{file\("\$\{path\.module\}/(.+)"\)\}', src)
        if (
            m is None
            or (root.path / m.group(1)).resolve()
            != (root.path / f"../../workflows/{file}").resolve()
        ):
            problems.append(
                f"a workflow must be deployed from workflows/{file} with file(); got {src!r}"
            )
        elif call.get("service_account_email") != "${module.workflows_sa.email}":
            problems.append(f"the {file} workflow must run as the Workflows identity")
    return problems


def pipeline_env_for(stage: str) -> set[str]:
    """Names pipeline.yaml's run_job passes to the job of ``stage`` as env overrides."""
    run_job = load_workflow("pipeline")["run_job"]["steps"]
    names: set[str] = set()
    for step in run_job:
        for label, body in step.items():
            if label == "init":
                for assign in body["assign"]:
                    if "env" in assign:
                        names |= {e["name"] for e in assign["env"]}
            elif isinstance(body, dict) and "switch" in body:
                for case in body["switch"]:
                    m = re.fullmatch(r'\$\{stage == "(\w+)"\}', str(case.get("condition", "")))
                    if m and m.group(1) == stage:
                        names |= {
                            str(n["name"])
                            for n in _walk(case)
                            if isinstance(n, dict) and "name" in n
                        }
    return names


def batch_params() -> tuple[set[str], set[str]]:
    """(accepted, required) runtime arguments of batch.yaml, read from its code."""
    text = (WORKFLOWS / "batch.yaml").read_text(encoding="utf-8")
    accepted = set(re.findall(r'map\.get\(args, "(\w+)"\)', text)) | set(
        re.findall(r"\bargs\.(\w+)", text)
    )
    required = set(re.findall(r'not \("(\w+)" in args\)', text))
    return accepted | required, required


def object_attrs(type_src: str, *path: str) -> set[str]:
    """Attribute names of an object type (following ``path`` through nested objects)."""
    tp = parse_type(type_src)
    for attr in path:
        tp = tp[1][attr][0]
    return set(tp[1])


def scheduler_problems(tree: dict[str, Module]) -> list[str]:
    """The Scheduler starts the batch workflow, as its identity, with arguments batch.yaml accepts."""
    problems: list[str] = []
    root = tree["."]
    scope = root_scope(tree)
    accepted, required = batch_params()
    declared = object_attrs(root.variables["schedule"]["type"], "arguments")
    problems += [
        f"schedule.arguments.{a}: batch.yaml has no such argument"
        for a in sorted(declared - accepted)
    ]
    args = scope.local("batch_arguments")
    problems += [
        f"the Scheduler passes {a}, which batch.yaml does not accept"
        for a in sorted(set(args) - accepted)
    ]
    problems += [
        f"the Scheduler omits {a}, which batch.yaml requires" for a in sorted(required - set(args))
    ]
    job = root.resources.get(("google_cloud_scheduler_job", "batch"))
    if job is None:
        return [*problems, "no google_cloud_scheduler_job.batch"]
    target = job["http_target"][0]
    if "${module.batch_workflow.id}/executions" not in str(target.get("uri")):
        problems.append("the Scheduler does not create executions of the batch workflow")
    token = target.get("oauth_token", [{}])[0]
    if token.get("service_account_email") != "${module.scheduler_sa.email}":
        problems.append("the Scheduler must call with an OAuth token of the Scheduler identity")
    return problems
