"""Consistency checks of infra/terraform against the provider schema, jobs/, the workflows
and the settings classes. Each returns a list of problems (empty: consistent), so the tests
can run them on the real configuration and on copies broken on purpose."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import yaml

from tests.infra.provider_schema import Schema
from tests.infra.tfconfig import (
    META_ARGS,
    REPO,
    UNKNOWN,
    EvalError,
    Module,
    Scope,
    call_source,
    is_block,
    module_scope,
    parse_type,
    root_scope,
)

WORKFLOWS = REPO / "workflows"
JOB_MODULE = "modules/cloud-run-job"
SA_MODULE = "modules/service-account"
BUCKET_MODULE = "modules/gcs-bucket"
# Cloud Run jobs that are not pipeline stages (each with why it exists)
MAINTENANCE_JOBS = {"cleanup_job": "bp-cleanup on a schedule: uncommitted attempts expire"}
BUILTIN_RESOURCES = frozenset({"terraform_data"})
PROJECT_IAM = (
    "google_project_iam_member",
    "google_project_iam_binding",
    "google_project_iam_policy",
)
# The project-wide roles each identity may hold, and why no resource-level grant does.
ALLOWED_PROJECT_ROLES: dict[str, dict[str, str]] = {
    "job_sa": {"roles/logging.logWriter": "log entries exist only at project level"},
    "workflows_sa": {
        "roles/logging.logWriter": "Workflows call logging writes log entries (project level only)",
        "roles/workflows.invoker": "starting child pipeline executions; Workflows has no per-workflow IAM",
    },
    "scheduler_sa": {
        "roles/workflows.invoker": "starting the batch workflow; Workflows has no per-workflow IAM",
    },
    "cleanup_sa": {"roles/logging.logWriter": "log entries exist only at project level"},
    "cleanup_trigger_sa": {},
    "delivery_signer_sa": {},
}
DIGEST_REF = re.compile(
    r"^[a-z0-9-]+-docker\.pkg\.dev/[a-z0-9-]+/[a-z0-9-]+/bp-[a-z0-9-]+@sha256:[0-9a-f]{64}$"
)


# ----------------------------------------------------------------------------- schema


def _check_body(body: dict[str, Any], block: dict[str, Any], where: str) -> list[str]:
    problems: list[str] = []
    for key, value in body.items():
        if key in META_ARGS or key in {"provisioner", "connection"}:
            continue
        if key == "dynamic":
            for item in value:
                for label, dyn in item.items():
                    if label == "__is_block__":
                        continue
                    if label not in block["blocks"]:
                        problems.append(f"{where}: no block {label!r}")
                        continue
                    for content in dyn.get("content", []):
                        problems += _check_body(content, block["blocks"][label], f"{where}.{label}")
            continue
        if key in block["blocks"]:
            if not is_block(value):
                problems.append(f"{where}.{key} is a block, set as an attribute")
                continue
            for nested in value:
                problems += _check_body(nested, block["blocks"][key], f"{where}.{key}")
        elif key in block["attributes"]:
            if is_block(value):
                problems.append(f"{where}.{key} is an attribute, written as a block")
        else:
            problems.append(f"{where}: no argument or block {key!r}")
    return problems


def schema_problems(tree: dict[str, Module], schema: Schema) -> list[str]:
    """Every resource type, data source, attribute and block must exist in the provider schema."""
    problems: list[str] = []
    for path, mod in tree.items():
        for (rtype, name), body in mod.resources.items():
            where = f"{path}: resource {rtype}.{name}"
            if rtype in BUILTIN_RESOURCES:
                continue
            if rtype not in schema.resources:
                problems.append(
                    f"{where}: no such resource type in hashicorp/google {schema.provider_version}"
                )
                continue
            problems += _check_body(body, schema.resources[rtype], where)
        for (dtype, name), body in mod.data.items():
            where = f"{path}: data {dtype}.{name}"
            if dtype not in schema.data_sources:
                problems.append(
                    f"{where}: no such data source in hashicorp/google {schema.provider_version}"
                )
                continue
            problems += _check_body(body, schema.data_sources[dtype], where)
    return problems


# ----------------------------------------------------------------------------- jobs and map


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


# ----------------------------------------------------------------------------- workflows


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


# ----------------------------------------------------------------------------- settings


def job_env(tree: dict[str, Module], scope: Scope, stage: str) -> dict[str, Any]:
    """The env Terraform gives the job of ``stage``."""
    spec = stage_map(tree, scope)[stage]
    return scope.with_each(stage, spec).value(tree["."].calls["stage_jobs"]["env"])


def settings_problems(tree: dict[str, Module], classes: dict[str, Any]) -> list[str]:
    """Every setting a job requires (its settings class decides, production included) is set
    by Terraform or passed by the workflow; Terraform sets only settings the job knows."""
    from bp_sdk.errors import ConfigError
    from bp_sdk.settings import load_settings

    problems: list[str] = []
    scope = root_scope(tree)
    stages = stage_map(tree, scope)
    for stage, spec in stages.items():
        cls = classes.get(stage)
        if cls is None:
            problems.append(f"no settings class for stage {stage}")
            continue
        tf_env = job_env(tree, scope, stage)
        if tf_env is UNKNOWN or any(v is UNKNOWN for v in tf_env.values()):
            problems.append(f"stage {stage}: Terraform's env is not known before apply: {tf_env}")
            continue
        known = set(cls.env_fields())
        problems += [
            f"stage {stage}: Terraform sets {k}, which bp-{stage} does not read"
            for k in sorted(set(tf_env) - known)
        ]
        passed = pipeline_env_for(stage)  # to every job alike; a job ignores what it does not read
        samples = {
            "SCENE_ID": "scene-1",
            "RUN_ID": "run-1",
            "DATASET_ID": "scene-1-run-1",
            "REPORT_ID": "exec-1",
        }
        env = {k: str(v) for k, v in tf_env.items()}
        env |= {k: samples.get(k, "x") for k in passed}
        env |= {  # what Cloud Run sets in every task
            "CLOUD_RUN_JOB": f"bp-{stage}",
            "CLOUD_RUN_EXECUTION": f"bp-{stage}-abc12",
            "CLOUD_RUN_TASK_INDEX": "0",
            "CLOUD_RUN_TASK_COUNT": str(spec["task_count"]),
            "CLOUD_RUN_TASK_ATTEMPT": "0",
        }
        try:
            load_settings(cls, env)
        except ConfigError as err:
            problems.append(f"stage {stage}: {err.render()}")
    everything = set().union(*(set(c.env_fields()) for c in classes.values()))
    passed_any = set().union(*(pipeline_env_for(s) for s in stages))
    problems += [
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


# ----------------------------------------------------------------------------- IAM


def iam_problems(tree: dict[str, Module]) -> list[str]:
    """No identity holds a project-wide role it does not need; object grants are scoped."""
    problems: list[str] = []
    scope = root_scope(tree)
    for path, mod in tree.items():
        for rtype, name in mod.resources:
            if rtype in PROJECT_IAM and path != SA_MODULE:
                problems.append(
                    f"{path}: {rtype}.{name} grants a project-wide role outside the service-account module"
                )
            if rtype in {"google_storage_bucket_iam_binding", "google_storage_bucket_iam_policy"}:
                problems.append(
                    f"{path}: {rtype}.{name} is authoritative; grant members additively"
                )
    for name, call in tree["."].calls.items():
        if call_source(tree["."].path, call) != SA_MODULE:
            continue
        allowed = ALLOWED_PROJECT_ROLES.get(name)
        if allowed is None:
            problems.append(
                f"service account {name} is not in the allowlist of project-wide roles (add it with reasons)"
            )
            continue
        keys = list(stage_map(tree, scope)) if call.get("for_each") else [None]
        for key in keys:
            s = scope.with_each(key, stage_map(tree, scope)[key]) if key else scope
            roles = s.value(call.get("iam_project_roles", []))
            problems += [
                f"{name}: project-wide {r} is not needed" for r in roles if r not in allowed
            ]
    grants = scope.local("data_bucket_grants")
    for key, grant in grants.items():
        if not grant.get("condition"):
            problems.append(f"data bucket grant {key} ({grant['role']}) has no prefix condition")
        elif grant["role"] in {"roles/storage.objectAdmin", "roles/storage.admin"}:
            problems.append(f"data bucket grant {key}: {grant['role']} is more than a job needs")
    return problems


# ----------------------------------------------------------------------------- scheduler


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


# ----------------------------------------------------------------------------- images


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


# ----------------------------------------------------------------------------- storage


SAMPLE_KEYS = {
    "scenes/s1/input/scene.json": "input",
    "scenes/s1/runs/r1/ingest/_SUCCESS.json": "commit record",
    "scenes/s1/runs/r1/ingest/attempts/e1-a0/scene_manifest.json": "committed attempt",
    "scenes/s1/runs/r1/ingest/attempts/e2-a0/_FAILURE.json": "failure marker",
    "datasets/d1/export/attempts/e3-a0/meta/SHA256SUMS": "dataset",
    "datasets/d1/approvals/a1.json": "approval",
    "deliveries/acme/d1/_DELIVERY.json": "delivery record",
}


def lifecycle_problems(tree: dict[str, Module]) -> list[str]:
    """The data bucket's lifecycle agrees with bp cleanup: nothing committed, no marker, no
    input expires; deleted objects' noncurrent versions do; the cleanup job runs bp-cleanup."""
    problems: list[str] = []
    scope = root_scope(tree)
    call = tree["."].calls["data_bucket"]
    if scope.value(call.get("versioning")) is not True:
        problems.append("the data bucket must keep versions (recovery from a bad delete)")
    rules = scope.value(call.get("lifecycle_rules", {}))
    root = scope.local("root")
    for name, rule in rules.items():
        cond, action = rule["condition"], rule["action"]["type"]
        if action != "Delete" or cond.get("with_state") == "ARCHIVED":
            continue
        for key, what in SAMPLE_KEYS.items():
            full = root + key
            if cond.get("matches_prefix") and not any(
                full.startswith(p) for p in cond["matches_prefix"]
            ):
                continue
            if cond.get("matches_suffix") and not any(
                full.endswith(s) for s in cond["matches_suffix"]
            ):
                continue
            problems.append(f"lifecycle rule {name} would delete a live {what} ({key})")
    if not any(r["condition"].get("days_since_noncurrent_time") for r in rules.values()):
        problems.append(
            "no rule expires noncurrent versions: deleted attempts would be kept forever"
        )
    job = tree["."].calls.get("cleanup_job")
    if job is None:
        problems.append("no cleanup job: uncommitted attempts never expire")
        return problems
    command, args = scope.value(job.get("command")), scope.value(job.get("args"))
    if command != ["bp-cleanup"]:
        problems.append(f"the cleanup job runs {command}, not bp-cleanup")
    if "--remove-markers" in args:
        problems.append("the cleanup job removes failure markers")
    if args[:2] != ["--storage", scope.local("storage_uri")]:
        problems.append("the cleanup job must clean the pipeline's STORAGE_URI")
    from bp_sdk.cleanup import parse_duration

    try:
        parse_duration(args[args.index("--grace") + 1])
    except (ValueError, IndexError) as err:
        problems.append(f"the cleanup grace is not a bp cleanup duration: {err}")
    return problems


def secret_problems(tree: dict[str, Module]) -> list[str]:
    """No secret value anywhere in Terraform; accessors bound on each secret."""
    problems: list[str] = []
    for path, mod in tree.items():
        for rtype, name in mod.resources:
            if rtype == "google_secret_manager_secret_version":
                problems.append(
                    f"{path}: {rtype}.{name} would put a secret value in Terraform state"
                )
        for path_tf in sorted(mod.path.glob("*.tf")):
            if re.search(r"\bsecret_data\b", path_tf.read_text(encoding="utf-8")):
                problems.append(f"{path_tf.name}: secret_data in Terraform")
    scope = root_scope(tree)
    stages = set(stage_map(tree, scope))
    for sid, spec in scope.variables["secrets"].items():
        problems += [f"secret {sid}: unknown stage {s}" for s in spec["stages"] if s not in stages]
    return problems


# ----------------------------------------------------------------------------- kernel cache

KERNEL_CACHE_SETTING = "EPISODES_WARP_KERNEL_CACHE"
# the stages whose jobs run MuJoCo Warp, and so may mount and use the kernel cache
KERNEL_CACHE_STAGES = frozenset({"episodes"})


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


def kernel_cache_problems(tree: dict[str, Module]) -> list[str]:
    """The Warp kernel cache is a bucket of its own (hierarchical namespace, no versions, objects
    expire, labelled), mounted read-write exactly where EPISODES_WARP_KERNEL_CACHE points in the
    jobs of the stages that run MuJoCo Warp (episodes) and in no other; only those jobs'
    identities get access to it, and only through grants on that bucket."""
    problems: list[str] = []
    root = tree["."]
    scope = root_scope(tree, symbolic_modules=True)
    call = root.calls.get("kernel_cache_bucket")
    if call is None or call_source(root.path, call) != BUCKET_MODULE:
        return ["no module kernel_cache_bucket (modules/gcs-bucket) for the Warp kernel cache"]
    bucket = scope.value(call["name"])
    others = {
        scope.value(c.get("name"))
        for n, c in root.calls.items()
        if n != "kernel_cache_bucket" and call_source(root.path, c) == BUCKET_MODULE
    }
    if bucket in others:
        problems.append(f"the kernel cache shares bucket {bucket} with other data")
    if scope.value(call.get("hierarchical_namespace")) is not True:
        problems.append(
            "the kernel-cache bucket has no hierarchical namespace: Warp renames its build folders"
            " into place, which Cloud Storage FUSE refuses in a flat bucket"
        )
    if scope.value(call.get("versioning")) is not False:
        problems.append("the kernel-cache bucket keeps object versions of a cache")
    rules = scope.value(call.get("lifecycle_rules", {}))
    if not any(
        r["action"]["type"] == "Delete" and r["condition"].get("age") for r in rules.values()
    ):
        problems.append("no lifecycle rule expires the kernel cache's objects")
    labels = scope.value(call.get("labels", {}))
    if labels.get("bp-deployment") != scope.variables["name_prefix"] or not labels.get("bp-bucket"):
        problems.append(f"the kernel-cache bucket lacks the deployment's labels: {labels}")
    if scope.value(call.get("managed_folders", {})):
        problems.append("managed folders of the kernel-cache bucket grant access beyond its jobs")

    stages = stage_map(tree, scope)
    problems += [
        f"stage {k}: kernel_cache must be true or false"
        for k, s in stages.items()
        if not isinstance(s.get("kernel_cache"), bool)
    ]
    cached = {k for k, s in stages.items() if s.get("kernel_cache") is True}
    problems += [
        f"stage {k} mounts the Warp kernel cache, but only {sorted(KERNEL_CACHE_STAGES)} run Warp"
        for k in sorted(cached - KERNEL_CACHE_STAGES)
    ]
    problems += [
        f"stage {k} has no Warp kernel cache" for k in sorted(KERNEL_CACHE_STAGES - cached)
    ]
    for stage in stages:
        env = job_env(tree, scope, stage)
        volumes, mounts, environment = job_volumes(tree, scope, stage)
        on_cache = [
            n
            for n, v in volumes.items()
            if any(g.get("bucket") == bucket for g in v.get("gcs", []))
        ]
        if stage not in cached:
            if on_cache or KERNEL_CACHE_SETTING in env:
                problems.append(
                    f"stage {stage}: mounts or names the kernel cache without kernel_cache = true"
                )
            continue
        if len(on_cache) != 1:
            problems.append(
                f"stage {stage}: the job mounts the kernel-cache bucket {len(on_cache)} times, not once"
            )
            continue
        name = on_cache[0]
        if volumes[name]["gcs"][0].get("read_only") is not False:
            problems.append(
                f"stage {stage}: the kernel cache is mounted read-only; the first task writes the kernels"
            )
        if mounts.get(name) != env.get(KERNEL_CACHE_SETTING) or not mounts.get(name):
            problems.append(
                f"stage {stage}: the kernel cache is mounted at {mounts.get(name)!r} but"
                f" {KERNEL_CACHE_SETTING} is {env.get(KERNEL_CACHE_SETTING)!r}"
            )
        if environment != "EXECUTION_ENVIRONMENT_GEN2":
            problems.append(
                f"stage {stage}: Cloud Storage volumes need the gen2 execution environment"
            )

    grants = scope.value(call.get("iam_members", {}))
    users = cached & KERNEL_CACHE_STAGES
    wanted = {(f"module.job_sa.{k}.iam_email", "roles/storage.objectUser") for k in users}
    given = {(str(g["member"]), g["role"]) for g in grants.values()}
    problems += [
        f"the kernel-cache bucket grants {r} to {m}: only the identities of the"
        f" {sorted(users)} jobs, which mount it, may use it"
        for m, r in sorted(given - wanted)
    ]
    problems += [
        f"{m} lacks {r} on the kernel-cache bucket it mounts" for m, r in sorted(wanted - given)
    ]
    problems += [
        f"kernel-cache grant {k} has a condition: the job reads and writes the whole bucket"
        for k, g in grants.items()
        if g.get("condition")
    ]
    for path, mod in tree.items():
        for rtype, rname in mod.resources:
            if rtype.startswith("google_storage_bucket_iam") and path != BUCKET_MODULE:
                problems.append(
                    f"{path}: {rtype}.{rname} grants bucket access outside the gcs-bucket module"
                )
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


def unknown_in(value: Any) -> bool:
    """True if any part of ``value`` is UNKNOWN."""
    if value is UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(unknown_in(v) for v in value.values())
    if isinstance(value, list):
        return any(unknown_in(v) for v in value)
    return False


def safe_value(scope: Scope, raw: Any) -> Any:
    """``scope.value(raw)``, or the error text when it cannot be evaluated."""
    try:
        return scope.value(raw)
    except EvalError as err:
        return f"<{err}>"
