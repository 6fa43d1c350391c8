"""A local stand-in for the few Google Cloud API methods ``bp``'s cloud commands call.

Cloud Run Admin v2, REST (stdlib ``http.server`` on 127.0.0.1, a free port, a thread):

    POST /v2/projects/*/locations/*/jobs/*:run            -> google.longrunning.Operation
    GET  /v2/projects/*/locations/*/operations/*          -> the Operation (one frame per GET)
    GET  /v2/projects/*/locations/*/jobs/*/executions/*   -> the Execution (task counts)

Workflows Executions v1, gRPC (``grpcio``, already installed with the client library;
google-cloud-workflows ships no REST transport for this service):

    google.cloud.workflows.executions.v1.Executions/{CreateExecution,GetExecution,CancelExecution}

Tests script how a workflow execution progresses (``script_workflow``) or how a job
ends (``script_job``); every request is recorded (REST: the parsed JSON body; gRPC: the
request message decoded from the bytes on the wire).
"""

from __future__ import annotations

import json
import re
import threading
from concurrent import futures
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
from google.cloud.workflows.executions_v1.types import executions as wf

EXECUTION_TYPE = "type.googleapis.com/google.cloud.run.v2.Execution"
WF_SERVICE = "google.cloud.workflows.executions.v1.Executions"
RUN_RE = re.compile(r"^/v2/(projects/([^/]+)/locations/([^/]+))/jobs/([^/:]+):run$")
OP_RE = re.compile(r"^/v2/(projects/[^/]+/locations/[^/]+/operations/[^/]+)$")
EXEC_RE = re.compile(r"^/v2/(projects/[^/]+/locations/[^/]+/jobs/[^/]+/executions/[^/]+)$")


@dataclass
class Frame:
    """One state of a workflow execution, as one GetExecution returns it."""

    state: str = "ACTIVE"  # ACTIVE, QUEUED, SUCCEEDED, FAILED, CANCELLED
    steps: list[tuple[str, str]] = field(default_factory=list)  # (routine, step)
    result: Any = None  # JSON value, for SUCCEEDED
    error: Any = None  # JSON value of error.payload, for FAILED


@dataclass
class Tasks:
    """Task counts of a job execution at one operations poll."""

    running: int = 0
    succeeded: int = 0
    failed: int = 0
    retried: int = 0


@dataclass
class JobScript:
    """How a job's execution goes: one Tasks frame per operation poll, then its end."""

    frames: list[Tasks]
    error: tuple[int, str] | None = None  # the operation's google.rpc.Status (code, message)


@dataclass
class Recorded:
    """One request the stand-in received."""

    api: str  # "run" (REST) or "workflows" (gRPC)
    method: str  # "POST", "GET" or the RPC name
    path: str  # URL path, or the resource name of a gRPC request
    body: Any  # the JSON body, or the decoded request message


@dataclass
class _JobRun:
    script: JobScript
    execution: str
    job: str
    task_count: int
    polls: int = 0

    @property
    def done(self) -> bool:
        return self.polls >= len(self.script.frames)

    def execution_json(self) -> dict[str, Any]:
        now = self.script.frames[max(0, min(self.polls, len(self.script.frames)) - 1)]
        body: dict[str, Any] = {
            "@type": EXECUTION_TYPE,
            "name": self.execution,
            "job": self.job,
            "taskCount": self.task_count,
            "runningCount": now.running,
            "succeededCount": now.succeeded,
            "failedCount": now.failed,
            "retriedCount": now.retried,
        }
        if self.done:
            body["completionTime"] = "2026-12-06T12:00:00Z"
        return body


@dataclass
class _WorkflowRun:
    name: str
    argument: str
    gets: int = 0
    cancelled: bool = False


class StandIn:
    """Both servers, their scripts and the requests they received."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.workflows = {"pipeline"}
        self.frames: list[Frame] = [Frame(state="SUCCEEDED", result={})]
        self.jobs: dict[str, JobScript] = {}
        self.unavailable_gets = 0  # the next N GetExecution calls fail with UNAVAILABLE
        self._lock = threading.Lock()
        self._wf_runs: dict[str, _WorkflowRun] = {}
        self._job_runs: dict[str, _JobRun] = {}
        self._ops: dict[str, _JobRun] = {}
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self._grpc.add_generic_rpc_handlers((self._workflows_service(),))
        self._grpc_port = self._grpc.add_insecure_port("127.0.0.1:0")

    def __enter__(self) -> StandIn:
        self._thread.start()
        self._grpc.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._grpc.stop(grace=None)
        self._http.shutdown()
        self._http.server_close()

    @property
    def rest_endpoint(self) -> str:
        """``http://127.0.0.1:PORT`` of the Cloud Run REST stand-in."""
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    @property
    def grpc_endpoint(self) -> str:
        """``http://127.0.0.1:PORT`` of the Workflows Executions gRPC stand-in (plaintext)."""
        return f"http://127.0.0.1:{self._grpc_port}"

    def script_workflow(self, frames: list[Frame]) -> None:
        """The next execution returns these frames, one per GetExecution; the last repeats."""
        self.frames = list(frames)

    def script_job(
        self, job: str, frames: list[Tasks], error: tuple[int, str] | None = None
    ) -> None:
        """Runs of job ``job`` (short name) go through ``frames``, then succeed or fail."""
        self.jobs[job] = JobScript(list(frames), error)

    def calls(self, method: str) -> list[Recorded]:
        """The recorded requests of one method (HTTP verb or RPC name)."""
        with self._lock:
            return [r for r in self.requests if r.method == method]

    def _record(self, api: str, method: str, path: str, body: Any) -> None:
        with self._lock:
            self.requests.append(Recorded(api, method, path, body))

    # --- Workflows Executions over gRPC ---
    def _workflows_service(self) -> grpc.GenericRpcHandler:
        def rpc(fn: Any, request_type: Any) -> grpc.RpcMethodHandler:
            return grpc.unary_unary_rpc_method_handler(
                fn,
                request_deserializer=request_type.deserialize,
                response_serializer=wf.Execution.serialize,
            )

        return grpc.method_handlers_generic_handler(
            WF_SERVICE,
            {
                "CreateExecution": rpc(self._create, wf.CreateExecutionRequest),
                "GetExecution": rpc(self._get, wf.GetExecutionRequest),
                "CancelExecution": rpc(self._cancel, wf.CancelExecutionRequest),
            },
        )

    def _create(self, request: Any, context: grpc.ServicerContext) -> wf.Execution:
        self._record("workflows", "CreateExecution", request.parent, request)
        if request.parent.rsplit("/", 1)[-1] not in self.workflows:
            context.abort(grpc.StatusCode.NOT_FOUND, f"Resource '{request.parent}' was not found")
        with self._lock:
            name = f"{request.parent}/executions/exec-{len(self._wf_runs) + 1}"
            self._wf_runs[name] = _WorkflowRun(name, request.execution.argument)
        return wf.Execution(name=name, state="ACTIVE", argument=request.execution.argument)

    def _run(self, name: str, context: grpc.ServicerContext) -> _WorkflowRun:
        with self._lock:
            run = self._wf_runs.get(name)
        if run is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"Resource '{name}' was not found")
        assert run is not None
        return run

    def _get(self, request: Any, context: grpc.ServicerContext) -> wf.Execution:
        self._record("workflows", "GetExecution", request.name, request)
        if self.unavailable_gets > 0:
            self.unavailable_gets -= 1
            context.abort(grpc.StatusCode.UNAVAILABLE, "stand-in: try again")
        run = self._run(request.name, context)
        frame = self.frames[min(run.gets, len(self.frames) - 1)]
        run.gets += 1
        if run.cancelled:
            frame = Frame(state="CANCELLED", steps=frame.steps)
        return _execution(run, frame)

    def _cancel(self, request: Any, context: grpc.ServicerContext) -> wf.Execution:
        self._record("workflows", "CancelExecution", request.name, request)
        run = self._run(request.name, context)
        run.cancelled = True
        return _execution(run, Frame(state="CANCELLED"))

    # --- Cloud Run Admin v2 over REST ---
    def handle_rest(self, method: str, path: str, body: Any) -> tuple[int, dict[str, Any]]:
        """One REST call: (HTTP status, JSON response)."""
        self._record("run", method, path, body)
        if method == "POST" and (m := RUN_RE.match(path)):
            return self._run_job(m.group(1), m.group(4), body or {})
        if method == "GET" and (m := OP_RE.match(path)):
            return self._get_operation(m.group(1))
        if method == "GET" and (m := EXEC_RE.match(path)):
            return self._get_execution(m.group(1))
        return _http_error(404, f"stand-in: no method {method} {path}")

    def _run_job(self, location: str, job: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        script = self.jobs.get(job)
        if script is None:
            return _http_error(404, f"Resource '{location}/jobs/{job}' was not found")
        with self._lock:
            n = len(self._ops) + 1
            run = _JobRun(
                script=script,
                execution=f"{location}/jobs/{job}/executions/{job}-x{n:04d}",
                job=job,
                task_count=int(body.get("overrides", {}).get("taskCount", 1)),
            )
            op_name = f"{location}/operations/op-{n}"
            self._ops[op_name] = run
            self._job_runs[run.execution] = run
        return 200, {"name": op_name, "metadata": run.execution_json(), "done": False}

    def _get_operation(self, name: str) -> tuple[int, dict[str, Any]]:
        run = self._ops.get(name)
        if run is None:
            return _http_error(404, f"operation {name} was not found")
        run.polls += 1
        op: dict[str, Any] = {"name": name, "metadata": run.execution_json(), "done": run.done}
        if run.done and run.script.error is not None:
            code, message = run.script.error
            op["error"] = {"code": code, "message": message}
        elif run.done:
            op["response"] = run.execution_json()
        return 200, op

    def _get_execution(self, name: str) -> tuple[int, dict[str, Any]]:
        run = self._job_runs.get(name)
        if run is None:
            return _http_error(404, f"Resource '{name}' was not found")
        body = run.execution_json()
        del body["@type"]
        return 200, body


def _execution(run: _WorkflowRun, frame: Frame) -> wf.Execution:
    steps = [wf.Execution.Status.Step(routine=r, step=s) for r, s in frame.steps]
    execution = wf.Execution(
        name=run.name,
        state=frame.state,
        argument=run.argument,
        status=wf.Execution.Status(current_steps=steps),
    )
    if frame.state == "SUCCEEDED":
        execution.result = json.dumps(frame.result)
    if frame.error is not None:
        payload = frame.error if isinstance(frame.error, str) else json.dumps(frame.error)
        execution.error = wf.Execution.Error(payload=payload, context="Traceback-like context")
    return execution


def _http_error(code: int, message: str) -> tuple[int, dict[str, Any]]:
    status = {404: "NOT_FOUND", 403: "PERMISSION_DENIED"}.get(code, "UNKNOWN")
    return code, {"error": {"code": code, "message": message, "status": status}}


def _handler(standin: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            status, payload = standin.handle_rest(method, self.path.split("?", 1)[0], body)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    return Handler
