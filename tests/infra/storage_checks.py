"""The buckets: the data bucket's lifecycle agrees with bp cleanup, and the Warp kernel cache
is a bucket of its own, mounted read-write where its setting points in the jobs that run
MuJoCo Warp and in no other, with grants to those jobs' identities only. Each ``*_problems``
returns a list of problems (empty: consistent), so the tests can run it on the real
configuration and on copies broken on purpose."""

from __future__ import annotations

from typing import Any

from tests.infra.job_checks import job_env, job_volumes, stage_map
from tests.infra.tfconfig import Module, call_source
from tests.infra.tfeval import Scope
from tests.infra.tfscope import root_scope

BUCKET_MODULE = "modules/gcs-bucket"
SAMPLE_KEYS = {
    "scenes/s1/input/scene.json": "input",
    "scenes/s1/runs/r1/ingest/_SUCCESS.json": "commit record",
    "scenes/s1/runs/r1/ingest/attempts/e1-a0/scene_manifest.json": "committed attempt",
    "scenes/s1/runs/r1/ingest/attempts/e2-a0/_FAILURE.json": "failure marker",
    "datasets/d1/export/attempts/e3-a0/meta/SHA256SUMS": "dataset",
    "datasets/d1/approvals/a1.json": "approval",
    "deliveries/acme/d1/_DELIVERY.json": "delivery record",
}
KERNEL_CACHE_SETTING = "EPISODES_WARP_KERNEL_CACHE"
# the stages whose jobs run MuJoCo Warp, and so may mount and use the kernel cache
KERNEL_CACHE_STAGES = frozenset({"episodes"})


# ----------------------------------------------------------------------------- data bucket


def lifecycle_problems(tree: dict[str, Module]) -> list[str]:
    """The data bucket's lifecycle agrees with bp cleanup: nothing committed, no marker, no
    input expires; deleted objects' noncurrent versions do; the cleanup job runs bp-cleanup."""
    scope = root_scope(tree)
    problems = _data_bucket_lifecycle_problems(scope, tree["."].calls["data_bucket"])
    job = tree["."].calls.get("cleanup_job")
    if job is None:
        problems.append("no cleanup job: uncommitted attempts never expire")
        return problems
    return problems + _cleanup_job_problems(scope, job)


def _data_bucket_lifecycle_problems(scope: Scope, call: dict[str, Any]) -> list[str]:
    """The data bucket keeps versions; no rule deletes a live object; old versions expire."""
    problems: list[str] = []
    if scope.value(call.get("versioning")) is not True:
        problems.append("the data bucket must keep versions (recovery from a bad delete)")
    rules = scope.value(call.get("lifecycle_rules", {}))
    root = scope.local("root")
    for name, rule in rules.items():
        problems += _live_objects_deleted(name, rule, root)
    if not any(r["condition"].get("days_since_noncurrent_time") for r in rules.values()):
        problems.append(
            "no rule expires noncurrent versions: deleted attempts would be kept forever"
        )
    return problems


def _live_objects_deleted(name: str, rule: dict[str, Any], root: str) -> list[str]:
    """A problem for each sample live object (under ``root``) the rule ``name`` would delete."""
    cond, action = rule["condition"], rule["action"]["type"]
    if action != "Delete" or cond.get("with_state") == "ARCHIVED":
        return []
    problems: list[str] = []
    for key, what in SAMPLE_KEYS.items():
        full = root + key
        if cond.get("matches_prefix") and not any(
            full.startswith(p) for p in cond["matches_prefix"]
        ):
            continue
        if cond.get("matches_suffix") and not any(full.endswith(s) for s in cond["matches_suffix"]):
            continue
        problems.append(f"lifecycle rule {name} would delete a live {what} ({key})")
    return problems


def _cleanup_job_problems(scope: Scope, job: dict[str, Any]) -> list[str]:
    """The cleanup job runs bp-cleanup on STORAGE_URI, keeps markers, with a valid grace."""
    from bp_sdk.cleanup import parse_duration

    problems: list[str] = []
    command, args = scope.value(job.get("command")), scope.value(job.get("args"))
    if command != ["bp-cleanup"]:
        problems.append(f"the cleanup job runs {command}, not bp-cleanup")
    if "--remove-markers" in args:
        problems.append("the cleanup job removes failure markers")
    if args[:2] != ["--storage", scope.local("storage_uri")]:
        problems.append("the cleanup job must clean the pipeline's STORAGE_URI")
    try:
        parse_duration(args[args.index("--grace") + 1])
    except (ValueError, IndexError) as err:
        problems.append(f"the cleanup grace is not a bp cleanup duration: {err}")
    return problems


# ----------------------------------------------------------------------------- kernel cache


def kernel_cache_problems(tree: dict[str, Module]) -> list[str]:
    """The Warp kernel cache is a bucket of its own (hierarchical namespace, no versions, objects
    expire, labelled), mounted read-write exactly where EPISODES_WARP_KERNEL_CACHE points in the
    jobs of the stages that run MuJoCo Warp (episodes) and in no other; only those jobs'
    identities get access to it, and only through grants on that bucket."""
    root = tree["."]
    scope = root_scope(tree, symbolic_modules=True)
    call = root.calls.get("kernel_cache_bucket")
    if call is None or call_source(root.path, call) != BUCKET_MODULE:
        return ["no module kernel_cache_bucket (modules/gcs-bucket) for the Warp kernel cache"]
    bucket = scope.value(call["name"])
    stages = stage_map(tree, scope)
    cached = {k for k, s in stages.items() if s.get("kernel_cache") is True}
    problems = [
        *_cache_bucket_shared(root, scope, bucket),
        *_cache_bucket_flat(scope, call),
        *_cache_bucket_versioned(scope, call),
        *_cache_objects_never_expire(scope, call),
        *_cache_bucket_unlabelled(scope, call),
        *_cache_managed_folders(scope, call),
        *_cache_stage_flags(stages, cached),
    ]
    for stage in stages:
        problems += _cache_mount_problems(tree, scope, stage, bucket, cached)
    grants = scope.value(call.get("iam_members", {}))
    return [
        *problems,
        *_cache_grantees(grants, cached),
        *_cache_grant_conditions(grants),
        *_bucket_grants_outside_module(tree),
    ]


def _cache_bucket_shared(root: Module, scope: Scope, bucket: str) -> list[str]:
    """The kernel cache has a bucket no other gcs-bucket module call names."""
    others = {
        scope.value(c.get("name"))
        for n, c in root.calls.items()
        if n != "kernel_cache_bucket" and call_source(root.path, c) == BUCKET_MODULE
    }
    if bucket in others:
        return [f"the kernel cache shares bucket {bucket} with other data"]
    return []


def _cache_bucket_flat(scope: Scope, call: dict[str, Any]) -> list[str]:
    """The kernel-cache bucket has a hierarchical namespace (Warp renames folders into place)."""
    if scope.value(call.get("hierarchical_namespace")) is not True:
        return [
            (
                "the kernel-cache bucket has no hierarchical namespace: Warp renames its build"
                " folders into place, which Cloud Storage FUSE refuses in a flat bucket"
            )
        ]
    return []


def _cache_bucket_versioned(scope: Scope, call: dict[str, Any]) -> list[str]:
    """The kernel-cache bucket keeps no object versions."""
    if scope.value(call.get("versioning")) is not False:
        return ["the kernel-cache bucket keeps object versions of a cache"]
    return []


def _cache_objects_never_expire(scope: Scope, call: dict[str, Any]) -> list[str]:
    """A lifecycle rule deletes the kernel cache's objects after an age."""
    rules = scope.value(call.get("lifecycle_rules", {}))
    if not any(
        r["action"]["type"] == "Delete" and r["condition"].get("age") for r in rules.values()
    ):
        return ["no lifecycle rule expires the kernel cache's objects"]
    return []


def _cache_bucket_unlabelled(scope: Scope, call: dict[str, Any]) -> list[str]:
    """The kernel-cache bucket carries the deployment's bp-deployment and bp-bucket labels."""
    labels = scope.value(call.get("labels", {}))
    if labels.get("bp-deployment") != scope.variables["name_prefix"] or not labels.get("bp-bucket"):
        return [f"the kernel-cache bucket lacks the deployment's labels: {labels}"]
    return []


def _cache_managed_folders(scope: Scope, call: dict[str, Any]) -> list[str]:
    """The kernel-cache bucket has no managed folders (their grants would reach beyond its jobs)."""
    if scope.value(call.get("managed_folders", {})):
        return ["managed folders of the kernel-cache bucket grant access beyond its jobs"]
    return []


def _cache_stage_flags(stages: dict[str, Any], cached: set[str]) -> list[str]:
    """Every stage sets kernel_cache to a bool, true exactly for the stages that run Warp."""
    problems = [
        f"stage {k}: kernel_cache must be true or false"
        for k, s in stages.items()
        if not isinstance(s.get("kernel_cache"), bool)
    ]
    problems += [
        f"stage {k} mounts the Warp kernel cache, but only {sorted(KERNEL_CACHE_STAGES)} run Warp"
        for k in sorted(cached - KERNEL_CACHE_STAGES)
    ]
    problems += [
        f"stage {k} has no Warp kernel cache" for k in sorted(KERNEL_CACHE_STAGES - cached)
    ]
    return problems


def _cache_mount_problems(
    tree: dict[str, Module], scope: Scope, stage: str, bucket: str, cached: set[str]
) -> list[str]:
    """The job of ``stage`` mounts the cache once, read-write, where its setting points, on
    gen2; without kernel_cache = true it neither mounts nor names it."""
    env = job_env(tree, scope, stage)
    volumes, mounts, environment = job_volumes(tree, scope, stage)
    on_cache = [
        n for n, v in volumes.items() if any(g.get("bucket") == bucket for g in v.get("gcs", []))
    ]
    if stage not in cached:
        if on_cache or KERNEL_CACHE_SETTING in env:
            return [f"stage {stage}: mounts or names the kernel cache without kernel_cache = true"]
        return []
    if len(on_cache) != 1:
        return [
            f"stage {stage}: the job mounts the kernel-cache bucket {len(on_cache)} times, not once"
        ]
    name = on_cache[0]
    return [
        *_cache_mount_read_only(stage, volumes[name]),
        *_cache_mount_off_setting(stage, mounts.get(name), env.get(KERNEL_CACHE_SETTING)),
        *_gcs_volume_without_gen2(stage, environment),
    ]


def _cache_mount_read_only(stage: str, volume: dict[str, Any]) -> list[str]:
    """The kernel-cache volume is writable (the first task writes the kernels)."""
    if volume["gcs"][0].get("read_only") is not False:
        return [
            f"stage {stage}: the kernel cache is mounted read-only; the first task writes the kernels"
        ]
    return []


def _cache_mount_off_setting(stage: str, mount: str | None, setting: Any) -> list[str]:
    """The kernel cache is mounted at a path, the one EPISODES_WARP_KERNEL_CACHE names."""
    if mount != setting or not mount:
        return [
            (
                f"stage {stage}: the kernel cache is mounted at {mount!r} but"
                f" {KERNEL_CACHE_SETTING} is {setting!r}"
            )
        ]
    return []


def _gcs_volume_without_gen2(stage: str, environment: Any) -> list[str]:
    """A job with a Cloud Storage volume runs in the gen2 execution environment."""
    if environment != "EXECUTION_ENVIRONMENT_GEN2":
        return [f"stage {stage}: Cloud Storage volumes need the gen2 execution environment"]
    return []


def _cache_grantees(grants: dict[str, Any], cached: set[str]) -> list[str]:
    """The cache bucket grants objectUser to the identity of each job that mounts it, and nothing else."""
    users = cached & KERNEL_CACHE_STAGES
    wanted = {(f"module.job_sa.{k}.iam_email", "roles/storage.objectUser") for k in users}
    given = {(str(g["member"]), g["role"]) for g in grants.values()}
    problems = [
        f"the kernel-cache bucket grants {r} to {m}: only the identities of the"
        f" {sorted(users)} jobs, which mount it, may use it"
        for m, r in sorted(given - wanted)
    ]
    problems += [
        f"{m} lacks {r} on the kernel-cache bucket it mounts" for m, r in sorted(wanted - given)
    ]
    return problems


def _cache_grant_conditions(grants: dict[str, Any]) -> list[str]:
    """No kernel-cache grant has a condition (the job reads and writes the whole bucket)."""
    return [
        f"kernel-cache grant {k} has a condition: the job reads and writes the whole bucket"
        for k, g in grants.items()
        if g.get("condition")
    ]


def _bucket_grants_outside_module(tree: dict[str, Module]) -> list[str]:
    """Bucket-level IAM resources exist only in the gcs-bucket module."""
    return [
        f"{path}: {rtype}.{rname} grants bucket access outside the gcs-bucket module"
        for path, mod in tree.items()
        for rtype, rname in mod.resources
        if rtype.startswith("google_storage_bucket_iam") and path != BUCKET_MODULE
    ]
