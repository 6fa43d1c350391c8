"""Terraform, jobs/, the workflows and the settings classes agree; each check fails on a
copy of the HCL broken the way it guards against."""

from __future__ import annotations

import re

import pytest
from bp_sdk.envdoc import installed_settings

from tests.infra import access_checks, job_checks, settings_checks, storage_checks, workflow_checks
from tests.infra.conftest import TfCopy
from tests.infra.tfconfig import REPO, TF_ROOT, Module
from tests.infra.tfscope import example_tfvars, root_scope

RESOURCES_JSON = REPO / "jobs" / "report" / "src" / "bp_report" / "resources.json"
INGEST_ENTRY = """    ingest = {
      image     = "bp-ingest", cpu = 2, memory_gib = 4, gpu = 0, gpu_type = null"""


@pytest.fixture(scope="module")
def classes() -> dict:
    """Every installed stage's settings class (entry-point group blueprintpipeline.settings)."""
    return installed_settings()


# ----------------------------------------------------------------------------- the real config


def test_every_job_has_exactly_one_cloud_run_job(tree: dict[str, Module]) -> None:
    """jobs/ and the stage map name the same stages; the map is the only source of stage jobs."""
    assert job_checks.job_problems(tree) == []
    assert set(job_checks.stage_map(tree)) == job_checks.jobs_in_repo()


def test_every_job_the_workflows_call_exists(tree: dict[str, Module]) -> None:
    """Each job pipeline.yaml runs exists under the name it builds; env and YAML files agree."""
    assert workflow_checks.workflow_stages() >= {"ingest", "episodes", "deliver", "report"}
    assert workflow_checks.workflow_problems(tree) == []


def test_every_required_setting_is_set(tree: dict[str, Module], classes: dict) -> None:
    """Each job's settings class accepts Terraform's env plus what the workflow passes, in production."""
    assert set(classes) >= set(job_checks.stage_map(tree))
    assert settings_checks.settings_problems(tree, classes) == []
    env = job_checks.job_env(tree, root_scope(tree), "deliver")
    assert env["PIPELINE_ENV"] == "production"
    assert env["DELIVER_CUSTOMER_ID"] == "internal"
    assert env["STORAGE_URI"] == "gs://my-bp-project-bp-data"


def test_no_identity_holds_an_unneeded_project_role(tree: dict[str, Module]) -> None:
    """Project-wide roles only from the allowlist; every data-bucket grant is prefix-scoped."""
    assert access_checks.iam_problems(tree) == []


def test_scheduler_arguments_are_accepted_by_batch(tree: dict[str, Module]) -> None:
    """The Scheduler starts batch with arguments batch.yaml's code reads, run_id included."""
    accepted, required = workflow_checks.batch_params()
    assert required == {"run_id"}
    assert {"settings", "concurrency_limit", "episodes_shards"} <= accepted
    assert workflow_checks.scheduler_problems(tree) == []
    args = root_scope(tree).local("batch_arguments")
    assert re.fullmatch(r"sched-[0-9a-f]{16}", args["run_id"])


def test_images_are_referenced_by_digest(tree: dict[str, Module]) -> None:
    """Every job (stages and cleanup) runs <region>-docker.pkg.dev/...@sha256:<digest>."""
    assert job_checks.image_problems(tree) == []


def test_lifecycle_agrees_with_bp_cleanup(tree: dict[str, Module]) -> None:
    """No lifecycle rule deletes a live commit record, committed output, marker or input; the cleanup job runs bp-cleanup."""
    assert storage_checks.lifecycle_problems(tree) == []


def test_no_secret_values_in_terraform(tree: dict[str, Module]) -> None:
    """Secrets are created without versions; accessors are per secret and per known stage."""
    assert access_checks.secret_problems(tree) == []


def test_stage_map_agrees_with_report_resources() -> None:
    """vCPU, memory and GPUs per stage equal jobs/report's resources.json (the cost estimate's)."""
    if not RESOURCES_JSON.is_file():
        pytest.skip("jobs/report has no resources.json yet")
    assert job_checks.resources_json_problems(job_checks.load_tree(), RESOURCES_JSON) == []


def test_the_episodes_job_mounts_the_kernel_cache_where_its_setting_points(
    tree: dict[str, Module],
) -> None:
    """The episodes job mounts the Warp kernel-cache bucket read-write (gen2) at the folder
    EPISODES_WARP_KERNEL_CACHE names; no other job mounts or names it; only the episodes
    job's identity gets access, on that bucket alone; the bucket is a cache of its own."""
    assert storage_checks.kernel_cache_problems(tree) == []
    scope = root_scope(tree, symbolic_modules=True)
    bucket = "my-bp-project-bp-warp-cache"
    volumes, mounts, environment = job_checks.job_volumes(tree, scope, "episodes")
    assert volumes == {
        "warp-kernels": {"name": "warp-kernels", "gcs": [{"bucket": bucket, "read_only": False}]}
    }
    env = job_checks.job_env(tree, scope, "episodes")
    assert (
        mounts
        == {"warp-kernels": env["EPISODES_WARP_KERNEL_CACHE"]}
        == {"warp-kernels": "/var/cache/bp-warp"}
    )
    assert environment == "EXECUTION_ENVIRONMENT_GEN2"
    for stage in set(job_checks.stage_map(tree, scope)) - {"episodes"}:
        assert job_checks.job_volumes(tree, scope, stage)[0] == {}, stage
        assert "EPISODES_WARP_KERNEL_CACHE" not in job_checks.job_env(tree, scope, stage), stage
    call = tree["."].calls["kernel_cache_bucket"]
    assert scope.value(call["name"]) == bucket
    assert scope.value(call["iam_members"]) == {
        "episodes-kernel-cache": {
            "role": "roles/storage.objectUser",
            "member": "module.job_sa.episodes.iam_email",
        }
    }
    assert scope.value(call["hierarchical_namespace"]) is True
    assert scope.value(call["versioning"]) is False
    assert scope.value(call["lifecycle_rules"])["expire"]["condition"] == {"age": 90}
    assert scope.value(call["labels"])["bp-bucket"] == "warp-cache"


def test_jobs_carry_billing_labels(tree: dict[str, Module]) -> None:
    """Every stage job is labelled with its stage and the deployment, for billing export."""
    scope = root_scope(tree)
    call = tree["."].calls["stage_jobs"]
    for stage, spec in job_checks.stage_map(tree, scope).items():
        labels = scope.with_each(stage, spec).value(call["labels"])
        assert labels["bp-stage"] == stage
        assert labels["bp-deployment"] == "bp"


def test_retry_arithmetic_is_the_one_documented(tree: dict[str, Module]) -> None:
    """Workflow retries x Cloud Run task retries give the worst case the README states."""
    steps = workflow_checks.load_workflow("pipeline")["run_stage"]["steps"]
    retry = next(s["run"]["retry"] for s in steps if "run" in s)
    executions = 1 + retry["max_retries"]
    task_retries = {spec["max_retries"] for spec in job_checks.stage_map(tree).values()}
    worst = executions * (1 + max(task_retries))
    readme = (TF_ROOT / "README.md").read_text(encoding="utf-8")
    assert f"at most {worst} attempts" in readme
    assert worst <= 6


# ----------------------------------------------------------------------------- broken copies


def test_a_missing_job_fails(tf_copy: TfCopy) -> None:
    """Removing a stage's map entry is reported."""
    text = (tf_copy.root / "stages.tf").read_text()
    start = text.index("    report = {")
    end = text.index("    }\n", start) + len("    }\n")
    (tf_copy.root / "stages.tf").write_text(text[:start] + text[end:])
    problems = job_checks.job_problems(tf_copy.load())
    assert any("jobs/ has report but the stage map has no entry" in p for p in problems), problems


def test_an_extra_map_entry_fails(tf_copy: TfCopy) -> None:
    """A stage map entry without a job in jobs/ is reported."""
    legacy = INGEST_ENTRY.replace("ingest = {", "legacy = {")
    rest = "\n      timeout_s = 60, max_retries = 1, task_count = 1, parallelism = 1\n      reads = [], writes = [], delivery = false\n      env = {}\n    }\n"
    tf_copy.replace("stages.tf", INGEST_ENTRY, legacy + rest + INGEST_ENTRY)
    problems = job_checks.job_problems(tf_copy.load())
    assert any("the stage map has legacy but jobs/ has no such job" in p for p in problems), (
        problems
    )


def test_a_job_outside_the_map_fails(tf_copy: TfCopy) -> None:
    """A Cloud Run job declared outside the stage map is reported."""
    tf_copy.replace("main.tf", 'module "cleanup_job" {', 'module "adhoc_job" {')
    problems = job_checks.job_problems(tf_copy.load())
    assert any("adhoc_job" in p for p in problems), problems


def test_a_renamed_job_fails_the_workflow_check(tf_copy: TfCopy) -> None:
    """Jobs named other than <BP_JOB_PREFIX>-<stage> are reported as missing for the workflow."""
    tf_copy.replace(
        "main.tf",
        'name                  = "${var.name_prefix}-${each.key}"',
        'name                  = "${var.name_prefix}-job-${each.key}"',
    )
    problems = workflow_checks.workflow_problems(tf_copy.load())
    assert any("the workflow runs job bp-ingest" in p for p in problems), problems


def test_a_missing_production_setting_fails(tf_copy: TfCopy, classes: dict) -> None:
    """Without DELIVER_CUSTOMER_ID, deliver's settings class refuses production: reported."""
    tf_copy.replace(
        "stages.tf", "        DELIVER_CUSTOMER_ID = var.delivery.default_customer\n", ""
    )
    problems = settings_checks.settings_problems(tf_copy.load(), classes)
    assert any("stage deliver" in p and "DELIVER_CUSTOMER_ID" in p for p in problems), problems


def test_a_misspelt_setting_fails(tf_copy: TfCopy, classes: dict) -> None:
    """An env var no settings class reads (a typo) is reported."""
    tf_copy.replace(
        "main.tf", '    LOG_FORMAT           = "json"', '    LOG_FROMAT           = "json"'
    )
    problems = settings_checks.settings_problems(tf_copy.load(), classes)
    assert any("LOG_FROMAT" in p for p in problems), problems


def test_a_project_wide_role_fails(tf_copy: TfCopy) -> None:
    """A project-wide role beyond the allowlist (job or scheduler identity) is reported."""
    tf_copy.replace(
        "iam.tf",
        'iam_project_roles = ["roles/logging.logWriter"]\n}\n\n# Cloud Workflows',
        'iam_project_roles = ["roles/logging.logWriter", "roles/storage.objectAdmin"]\n}\n\n# Cloud Workflows',
    )
    tf_copy.replace(
        "iam.tf",
        'iam_project_roles = ["roles/workflows.invoker"]',
        'iam_project_roles = ["roles/workflows.invoker", "roles/run.developer"]',
    )
    problems = access_checks.iam_problems(tf_copy.load())
    assert any("job_sa: project-wide roles/storage.objectAdmin" in p for p in problems), problems
    assert any("scheduler_sa: project-wide roles/run.developer" in p for p in problems), problems


def test_a_project_iam_resource_outside_the_module_fails(tf_copy: TfCopy) -> None:
    """A google_project_iam_member in the root is reported."""
    (tf_copy.root / "extra.tf").write_text(
        'resource "google_project_iam_member" "x" {\n  project = var.project_id\n  role    = "roles/editor"\n  member  = "user:a@example.com"\n}\n'
    )
    problems = access_checks.iam_problems(tf_copy.load())
    assert any("google_project_iam_member.x" in p for p in problems), problems


def test_an_unscoped_object_grant_fails(tf_copy: TfCopy) -> None:
    """A data-bucket grant without a prefix condition is reported."""
    tf_copy.replace(
        "iam.tf",
        """      condition = {
        title      = "${k}-create"
        expression = local.under[k].write
      }
""",
        "",
    )
    problems = access_checks.iam_problems(tf_copy.load())
    assert any("ingest-create" in p and "no prefix condition" in p for p in problems), problems


def test_an_unknown_scheduler_argument_fails(tf_copy: TfCopy) -> None:
    """A Scheduler argument that batch.yaml does not read is reported."""
    tf_copy.replace(
        "variables.tf",
        "      page_size         = optional(number)\n",
        "      page_size         = optional(number)\n      max_scenes        = optional(number)\n",
    )
    problems = workflow_checks.scheduler_problems(tf_copy.load())
    assert any("schedule.arguments.max_scenes" in p for p in problems), problems


def test_a_tag_instead_of_a_digest_fails(tf_copy: TfCopy) -> None:
    """An image referenced by tag is reported."""
    tf_copy.replace(
        "main.tf",
        '"${local.registry}/${each.value.image}@${var.image_digests[each.value.image]}"',
        '"${local.registry}/${each.value.image}:latest"',
    )
    problems = job_checks.image_problems(tf_copy.load())
    assert any("stage_jobs[ingest]" in p and ":latest" in p for p in problems), problems


def test_a_lifecycle_rule_deleting_outputs_fails(tf_copy: TfCopy) -> None:
    """A rule that expires live objects under the pipeline root is reported."""
    tf_copy.replace(
        "main.tf",
        '    multipart = {\n      action    = { type = "AbortIncompleteMultipartUpload" }\n      condition = { age = 1 }\n    }\n    # a batch',
        '    old = {\n      action    = { type = "Delete" }\n      condition = { age = 90 }\n    }\n    # a batch',
    )
    problems = storage_checks.lifecycle_problems(tf_copy.load())
    assert any("rule old would delete a live commit record" in p for p in problems), problems
    assert any("failure marker" in p for p in problems), problems


def test_a_secret_version_fails(tf_copy: TfCopy) -> None:
    """A secret version (a value in state) is reported."""
    (tf_copy.root / "extra.tf").write_text(
        'resource "google_secret_manager_secret_version" "v" {\n  secret      = "x"\n  secret_data = "hunter2"\n}\n'
    )
    problems = access_checks.secret_problems(tf_copy.load())
    assert any("secret_manager_secret_version.v" in p for p in problems), problems


KERNEL_CACHE_MOUNT = "read_only = false }"


def test_a_read_only_kernel_cache_fails(tf_copy: TfCopy) -> None:
    """A kernel cache the first task cannot write is reported."""
    tf_copy.replace("kernel_cache.tf", KERNEL_CACHE_MOUNT, "read_only = true }")
    problems = storage_checks.kernel_cache_problems(tf_copy.load())
    assert any("mounted read-only" in p for p in problems), problems


def test_a_kernel_cache_setting_elsewhere_than_the_mount_fails(tf_copy: TfCopy) -> None:
    """EPISODES_WARP_KERNEL_CACHE naming another folder than the mount is reported."""
    tf_copy.replace(
        "kernel_cache.tf",
        "EPISODES_WARP_KERNEL_CACHE = local.kernel_cache.path",
        'EPISODES_WARP_KERNEL_CACHE = "/home/bp/.cache/warp"',
    )
    problems = storage_checks.kernel_cache_problems(tf_copy.load())
    assert any("mounted at '/var/cache/bp-warp' but" in p for p in problems), problems


def test_a_kernel_cache_for_another_stage_fails(tf_copy: TfCopy) -> None:
    """A stage that does not run Warp mounting the cache (and its identity getting access) is reported."""
    tf_copy.replace(
        "stages.tf",
        'writes = ["datasets/"], delivery = false, kernel_cache = false\n      env       = {}\n    }\n    gate',
        'writes = ["datasets/"], delivery = false, kernel_cache = true\n      env       = {}\n    }\n    gate',
    )
    problems = storage_checks.kernel_cache_problems(tf_copy.load())
    assert any("stage export mounts the Warp kernel cache" in p for p in problems), problems
    assert any("to module.job_sa.export.iam_email" in p for p in problems), problems


def test_another_identity_on_the_kernel_cache_fails(tf_copy: TfCopy) -> None:
    """A grant on the cache bucket to an identity whose job does not mount it is reported."""
    tf_copy.replace(
        "kernel_cache.tf",
        "iam_members = local.kernel_cache_grants",
        'iam_members = merge(local.kernel_cache_grants, { wf = { role = "roles/storage.objectViewer", member = module.workflows_sa.iam_email } })',
    )
    problems = storage_checks.kernel_cache_problems(tf_copy.load())
    assert any("module.workflows_sa.iam_email" in p for p in problems), problems


def test_a_flat_kernel_cache_bucket_fails(tf_copy: TfCopy) -> None:
    """Without a hierarchical namespace Warp cannot rename its build folders: reported."""
    tf_copy.replace(
        "kernel_cache.tf", "hierarchical_namespace = true", "hierarchical_namespace = false"
    )
    problems = storage_checks.kernel_cache_problems(tf_copy.load())
    assert any("no hierarchical namespace" in p for p in problems), problems


def test_disagreeing_resources_fail(tf_copy: TfCopy, tmp_path) -> None:
    """A stage whose vCPU differs from resources.json is reported."""
    doc = (
        '{"schema": "bp.resources/v1", "description": "", "default": {"cpu": 2, "memory_gib": 4, "gpu": 0, "gpu_type": null},'
        ' "stages": {"episodes": {"cpu": 4, "memory_gib": 16, "gpu": 1, "gpu_type": "nvidia-l4"}}}'
    )
    path = tmp_path / "resources.json"
    path.write_text(doc)
    problems = job_checks.resources_json_problems(tf_copy.load(), path)
    assert any(p.startswith("stage episodes:") for p in problems), problems


def test_a_storage_prefix_reaches_jobs_workflows_and_grants(tree: dict[str, Module]) -> None:
    """With storage.prefix set, STORAGE_URI, BP_PREFIX and every object condition use it."""
    tfvars = example_tfvars()
    tfvars["storage"] = {"prefix": "pipe/v1"}
    scope = root_scope(tree, tfvars)
    assert scope.local("workflow_env")["BP_PREFIX"] == "pipe/v1"
    assert (
        job_checks.job_env(tree, scope, "ingest")["STORAGE_URI"]
        == "gs://my-bp-project-bp-data/pipe/v1"
    )
    objects = "projects/_/buckets/my-bp-project-bp-data/objects/pipe/v1/"
    for key, grant in scope.local("data_bucket_grants").items():
        assert f'startsWith("{objects}' in grant["condition"]["expression"], key
        assert (
            'startsWith("projects/_/buckets/my-bp-project-bp-data/objects/scenes'
            not in grant["condition"]["expression"]
        ), key


def test_ingest_writes_only_where_its_grant_allows(
    tree: dict[str, Module], file_storage, scene_factory
) -> None:
    """A real ingest run creates objects only under the stage map's `writes` prefixes of ingest."""
    from bp_ingest.stage import IngestStage
    from bp_sdk.runner import run_stage

    from tests.conftest import job_env, minimal_blueprint

    spec = job_checks.stage_map(tree)["ingest"]
    scene = scene_factory(minimal_blueprint())
    before = {o.path for o in file_storage.list("")}
    assert all(any(k.startswith(p) for p in spec["reads"]) for k in before)
    assert run_stage(IngestStage(), job_env(file_storage, scene)) == 0
    created = {o.path for o in file_storage.list("")} - before
    assert created
    outside = [k for k in created if not any(k.startswith(p) for p in spec["writes"])]
    assert outside == []
