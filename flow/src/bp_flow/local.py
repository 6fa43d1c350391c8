"""Workflows "deployed" on this machine: load files, run executions, nest child executions.

Each execution gets the built-in environment Cloud Workflows provides
(``GOOGLE_CLOUD_PROJECT_ID``, ``GOOGLE_CLOUD_LOCATION``, ``GOOGLE_CLOUD_WORKFLOW_ID``,
``GOOGLE_CLOUD_WORKFLOW_REVISION_ID``, ``GOOGLE_CLOUD_WORKFLOW_EXECUTION_ID``) plus the
deployment's user-defined variables, its own execution id, and the shared connectors.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from bp_flow.connectors import SUPPORTED
from bp_flow.connectors.executions import ChildFailed, LocalExecutions
from bp_flow.engine import Cancelled, Connector, Execution, StepEvent
from bp_flow.errors import WorkflowError
from bp_flow.loader import load_file
from bp_flow.model import Workflow
from bp_flow.runtime import Clock, LogSink, RealClock, Runtime, _default_sink

State = Literal["SUCCEEDED", "FAILED", "CANCELLED"]


@dataclass(frozen=True)
class Outcome:
    """How an execution ended (``gcloud workflows executions describe`` in small)."""

    name: str
    workflow: str
    state: State
    result: Any = None
    error: Any = None
    seconds: float = 0.0
    steps: int = 0


@dataclass
class LocalWorkflows:
    """A set of workflows and the connectors their executions use."""

    workflows: dict[str, Workflow]
    connectors: dict[str, Connector] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    clock: Clock = field(default_factory=RealClock)
    log: LogSink = _default_sink
    project: str = "local"
    location: str = "local"
    on_step: Callable[[str, StepEvent], None] | None = None
    revisions: dict[str, str] = field(default_factory=dict)
    _live: dict[str, Execution] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_files(cls, files: Mapping[str, Path], **kwargs: Any) -> LocalWorkflows:
        """Load every file (``LoadError`` lists the problems); ids are the map's keys."""
        workflows = {wid: load_file(path, SUPPORTED) for wid, path in files.items()}
        revisions = {
            wid: "local-" + hashlib.sha256(path.read_bytes()).hexdigest()[:8]
            for wid, path in files.items()
        }
        deployment = cls(workflows, revisions=revisions, **kwargs)
        child = LocalExecutions(deployment.run_child, lambda w: w in deployment.workflows)
        deployment.connectors.update(child.functions())
        return deployment

    def execution_name(self, workflow: str, execution_id: str) -> str:
        """The execution's resource name, as on GCP."""
        return f"projects/{self.project}/locations/{self.location}/workflows/{workflow}/executions/{execution_id}"

    def execute(
        self, workflow: str, argument: Any = None, execution_id: str | None = None
    ) -> Outcome:
        """Run one execution to its end; never raises for the workflow's own errors."""
        wf = self.workflows[workflow]
        eid = execution_id or str(uuid.uuid4())
        name = self.execution_name(workflow, eid)
        runtime = Runtime(env=self._env(workflow, eid), clock=self.clock, log=self.log)
        hook = self.on_step
        ex = Execution(
            wf, runtime, self.connectors, on_step=(lambda ev: hook(name, ev)) if hook else None
        )
        with self._lock:
            self._live[name] = ex
        started = time.monotonic()
        try:
            result = ex.run(argument)
            return Outcome(
                name,
                workflow,
                "SUCCEEDED",
                result=result,
                seconds=time.monotonic() - started,
                steps=ex.steps_executed,
            )
        except WorkflowError as err:
            return Outcome(
                name,
                workflow,
                "FAILED",
                error=err.value,
                seconds=time.monotonic() - started,
                steps=ex.steps_executed,
            )
        except Cancelled as err:
            return Outcome(
                name,
                workflow,
                "CANCELLED",
                error={"message": str(err), "tags": ["Cancelled"]},
                seconds=time.monotonic() - started,
                steps=ex.steps_executed,
            )
        finally:
            with self._lock:
                self._live.pop(name, None)

    def run_child(self, workflow: str, argument: Any) -> tuple[str, Any]:
        """What the executions connector calls: the result, or :class:`ChildFailed`."""
        outcome = self.execute(workflow, argument)
        if outcome.state != "SUCCEEDED":
            raise ChildFailed(outcome.name, outcome.error)
        return outcome.name, outcome.result

    def cancel(self) -> None:
        """Cancel every running execution (each stops before its next step)."""
        with self._lock:
            live = list(self._live.values())
        for ex in live:
            ex.cancel()

    def _env(self, workflow: str, execution_id: str) -> dict[str, str]:
        env = dict(self.env)
        env.update(
            {
                "GOOGLE_CLOUD_PROJECT_ID": self.project,
                "GOOGLE_CLOUD_PROJECT_NUMBER": "0",
                "GOOGLE_CLOUD_LOCATION": self.location,
                "GOOGLE_CLOUD_WORKFLOW_ID": workflow,
                "GOOGLE_CLOUD_WORKFLOW_REVISION_ID": self.revisions.get(workflow, "local"),
                "GOOGLE_CLOUD_WORKFLOW_EXECUTION_ID": execution_id,
            }
        )
        return env
