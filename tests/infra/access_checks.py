"""Who may do what: no identity holds a project-wide role it does not need, every object
grant on the data bucket is scoped to a prefix, and no secret value is in Terraform. Each
returns a list of problems (empty: consistent), so the tests can run it on the real
configuration and on copies broken on purpose."""

from __future__ import annotations

import re

from tests.infra.job_checks import stage_map
from tests.infra.tfconfig import Module, call_source
from tests.infra.tfscope import root_scope

SA_MODULE = "modules/service-account"
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
