"""Find the project's workflow files (``workflows/*.yaml``) and read what bp needs of them.

Installed from a wheel, the files travel inside ``bp_cli`` (``bp_cli/workflows``); in the
workspace they are the repository's own ``workflows/`` folder; ``BP_WORKFLOWS_DIR``
points elsewhere (a deployment's copy).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from bp_flow.connectors import SUPPORTED
from bp_flow.engine import Execution
from bp_flow.loader import load_file
from bp_flow.runtime import Runtime

from bp_cli.errors import UsageError

PIPELINE = "pipeline"
BATCH = "batch"


def workflows_dir() -> Path:
    """The folder holding pipeline.yaml and batch.yaml."""
    override = os.environ.get("BP_WORKFLOWS_DIR")
    candidates = [Path(override)] if override else []
    packaged = resources.files("bp_cli") / "workflows"
    candidates.append(Path(str(packaged)))
    here = Path(__file__).resolve()
    candidates += [parent / "workflows" for parent in here.parents]
    for folder in candidates:
        if (folder / f"{PIPELINE}.yaml").is_file():
            return folder
    raise UsageError(
        "cannot find workflows/pipeline.yaml: set BP_WORKFLOWS_DIR to the folder that holds it"
    )


def workflow_file(name: str) -> Path:
    """``<workflows dir>/<name>.yaml``."""
    return workflows_dir() / f"{name}.yaml"


def stage_order() -> list[str]:
    """The stages in order, as ``pipeline.yaml`` defines them (its ``stage_order``)."""
    wf = load_file(workflow_file(PIPELINE), SUPPORTED)
    sub = wf.subworkflows.get("stage_order")
    if sub is None:
        raise UsageError("workflows/pipeline.yaml has no stage_order subworkflow")
    order = Execution(wf, Runtime()).call_subworkflow(sub, {}, None)
    if not isinstance(order, list) or not all(isinstance(s, str) for s in order):
        raise UsageError("workflows/pipeline.yaml: stage_order must return a list of stage names")
    return order
