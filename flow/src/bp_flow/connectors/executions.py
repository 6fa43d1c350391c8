"""``googleapis.workflowexecutions.v1.projects.locations.workflows.executions.run``:
a child execution of another (locally "deployed") workflow, waited for.

It returns the child's result. A failed child raises the map the connector raises on GCP
for a failed execution: ``tags: [OperationError]`` with the child ``Execution`` as
``operation`` — ``state: FAILED`` and ``error.payload``, the child's error as a JSON string.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from bp_flow.connectors.storage import http_error
from bp_flow.errors import OPERATION_ERROR, WorkflowError
from bp_flow.runtime import Runtime

NAME = "googleapis.workflowexecutions.v1.projects.locations.workflows.executions.run"

# (workflow id, argument) -> (execution name, result); raises ChildFailed
RunChild = Callable[[str, Any], tuple[str, Any]]


class ChildFailed(Exception):  # noqa: N818 - carries a failed child's outcome
    """A child execution ended with an error value."""

    def __init__(self, execution: str, error: Any) -> None:
        self.execution, self.error = execution, error
        super().__init__(execution)


class LocalExecutions:
    """Runs child workflows through ``run_child``."""

    def __init__(self, run_child: RunChild, known: Callable[[str], bool]) -> None:
        self.run_child = run_child
        self.known = known

    def functions(self) -> dict[str, Callable[[Runtime, dict[str, Any]], Any]]:
        """Connector name → callable, for the engine."""
        return {NAME: self.run}

    def run(self, rt: Runtime, args: dict[str, Any]) -> Any:
        """Run the child to its end; its result, or the connector's error map."""
        workflow = args.get("workflow_id")
        if not isinstance(workflow, str) or not self.known(workflow):
            raise http_error(404, f"workflow {workflow!r} is not deployed here")
        argument = args.get("argument")
        try:
            _name, result = self.run_child(workflow, argument)
        except ChildFailed as failed:
            raise WorkflowError(
                {
                    "message": f"Execution failed or cancelled: {failed.execution}",
                    "tags": [OPERATION_ERROR],
                    "operation": {
                        "name": failed.execution,
                        "state": "FAILED",
                        "error": {
                            "payload": json.dumps(failed.error, default=str),
                            "context": f"the child execution of {workflow} raised an error",
                        },
                    },
                }
            ) from None
        return result
