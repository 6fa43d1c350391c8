"""The Cloud Run jobs: exactly one per stage of jobs/, all from the stage map; each as the
cloud-run-job module renders it (env, volumes); images by digest; resources as the report's
resources.json states. Each ``*_problems`` returns a list of problems (empty: consistent), so
the tests can run it on the real configuration and on copies broken on purpose."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

from tests.infra.tfconfig import REPO, Module, call_source
from tests.infra.tfeval import UNKNOWN, Scope
from tests.infra.tfexpr import EvalError
from tests.infra.tfscope import module_scope, root_scope

JOB_MODULE = "modules/cloud-run-job"
# Cloud Run jobs that are not pipeline stages (each with why it exists)
MAINTENANCE_JOBS = {"cleanup_job": "bp-cleanup on a schedule: uncommitted attempts expire"}
DIGEST_REF = re.compile(
    r"^[a-z0-9-]+-docker\.pkg\.dev/[a-z0-9-]+/[a-z0-9-]+/bp-[a-z0-9-]+@sha256:[0-9a-f]{64}$"
)


def jobs_in_repo() -> set[str]:
    """Stages that jobs/ declares (entry-point group blueprintpipeline.stages)."""
    out: set[str] = set()
    for pyproject in sorted((REPO / "jobs").glob("*/pyproject.toml")):
        doc = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        eps = doc.get("project", {}).get("entry-points", {}).get("blueprintpipeline.stages", {})
        out |= set(eps)
    return out


def stage_map(tree: dict[str, Module], scope: Scope | None = None) -> dict[str, Any]:
    """``local.stages``, evaluated."""
    return (scope or root_scope(tree)).local("stages")


def job_calls(tree: dict[str, Module]) -> dict[str, dict[str, Any]]:
    """Root module calls of the Cloud Run job module."""
    return {
        n: c for n, c in tree["."].calls.items() if call_source(tree["."].path, c) == JOB_MODULE
    }


def stage_job_names(tree: dict[str, Module], scope: Scope) -> dict[str, str]:
    """Cloud Run job name by stage, as Terraform names them."""
    call = tree["."].calls["stage_jobs"]
    return {k: scope.with_each(k, v).value(call["name"]) for k, v in stage_map(tree, scope).items()}


def job_problems(tree: dict[str, Module]) -> list[str]:
    """Every job in jobs/ has exactly one Cloud Run job from the stage map, and nothing else does."""
    problems: list[str] = []
    scope = root_scope(tree)
    stages = set(stage_map(tree, scope))
    jobs = jobs_in_repo()
    problems += [f"jobs/ has {j} but the stage map has no entry" for j in sorted(jobs - stages)]
    problems += [f"the stage map has {s} but jobs/ has no such job" for s in sorted(stages - jobs)]
    calls = job_calls(tree)
    call = calls.get("stage_jobs")
    if call is None or call.get("for_each") != "${local.stages}":
        problems.append(
            "module stage_jobs must be the cloud-run-job module with for_each = local.stages"
        )
        return problems
    problems += [
        f"module {n} runs the cloud-run-job module outside the stage map (not a known maintenance job)"
        for n in sorted(set(calls) - {"stage_jobs"} - set(MAINTENANCE_JOBS))
    ]
    for path, mod in tree.items():
        for rtype, name in mod.resources:
            if rtype == "google_cloud_run_v2_job" and (path != JOB_MODULE or name != "job"):
                problems.append(
                    f"{path}: google_cloud_run_v2_job.{name} outside the cloud-run-job module"
                )
    prefix = scope.variables["name_prefix"]
    for stage, name in stage_job_names(tree, scope).items():
        if name != f"{prefix}-{stage}":
            problems.append(f"stage {stage}: job name {name!r}, expected {prefix}-{stage}")
    return problems


def job_env(tree: dict[str, Module], scope: Scope, stage: str) -> dict[str, Any]:
    """The env Terraform gives the job of ``stage``."""
    spec = stage_map(tree, scope)[stage]
    return scope.with_each(stage, spec).value(tree["."].calls["stage_jobs"]["env"])


def dynamic_blocks(scope: Scope, body: dict[str, Any], label: str) -> list[dict[str, Any]]:
    """The ``label`` blocks of ``body``: written out, and rendered by ``dynamic "<label>"``."""
    out = [scope.value(b) for b in body.get(label, []) if isinstance(b, dict)]
    for item in body.get("dynamic", []):
        dyn = item.get(label)
        if dyn is None:
            continue
        coll = scope.value(dyn["for_each"])
        if coll is UNKNOWN:
            raise EvalError(f"dynamic {label}: for_each is not known before apply")
        pairs = coll.items() if isinstance(coll, dict) else enumerate(coll)
        for key, value in pairs:
            out += [scope.value(c, {label: {"key": key, "value": value}}) for c in dyn["content"]]
    return out


def job_volumes(
    tree: dict[str, Module], scope: Scope, stage: str
) -> tuple[dict[str, Any], dict[str, str], Any]:
    """The Cloud Run job of ``stage`` as the cloud-run-job module renders it: its volumes by
    name, the mount path of each mounted volume, and its execution environment."""
    call = tree["."].calls["stage_jobs"]
    inner = module_scope(tree, scope.with_each(stage, stage_map(tree, scope)[stage]), call)
    task = tree[JOB_MODULE].resources[("google_cloud_run_v2_job", "job")]["template"][0]
    task = task["template"][0]
    volumes = {v["name"]: v for v in dynamic_blocks(inner, task, "volumes")}
    mounts: dict[str, str] = {}
    for container in task["containers"]:
        mounts |= {
            m["name"]: m["mount_path"] for m in dynamic_blocks(inner, container, "volume_mounts")
        }
    return volumes, mounts, inner.value(task.get("execution_environment"))


def image_problems(tree: dict[str, Module]) -> list[str]:
    """Every job runs an image by digest from the project's Artifact Registry, never by tag."""
    problems: list[str] = []
    scope = root_scope(tree)
    stages = stage_map(tree, scope)
    for name, call in job_calls(tree).items():
        if call.get("for_each"):
            refs = {k: scope.with_each(k, v).value(call["image"]) for k, v in stages.items()}
        else:
            refs = {name: scope.value(call["image"])}
        for key, ref in refs.items():
            if ref is UNKNOWN or not DIGEST_REF.match(str(ref)):
                problems.append(
                    f"{name}[{key}]: image {ref!r} is not <region>-docker.pkg.dev/...@sha256:<digest>"
                )
    condition = str(tree[JOB_MODULE].variables["image"]["validation"][0]["condition"])
    if "@sha256:[0-9a-f]{64}$" not in condition:
        problems.append("the cloud-run-job module does not refuse images without a digest")
    return problems


def resources_json_problems(tree: dict[str, Module], path: Path) -> list[str]:
    """The stage map's vCPU, memory, GPUs agree with the report's resources.json."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    problems: list[str] = []
    for stage, spec in stage_map(tree).items():
        want = doc["stages"].get(stage, doc["default"])
        got = {k: spec[k] for k in ("cpu", "memory_gib", "gpu", "gpu_type")}
        if got != {k: want[k] for k in got}:
            problems.append(f"stage {stage}: Terraform {got} != resources.json {want}")
    problems += [
        f"resources.json lists {s}, which the stage map lacks"
        for s in sorted(set(doc["stages"]) - set(stage_map(tree)))
    ]
    return problems


def load_tree() -> dict[str, Module]:
    """The real infra/terraform, parsed."""
    from tests.infra.tfconfig import load

    return load()
