"""Cloud mode of ``bp``: the functions ``bp run --cloud`` and ``bp stage --cloud`` call.

- ``make_clients(api_endpoint)``: the real Workflows Executions and Cloud Run v2 clients.
- ``run_workflow_cloud(...)``: start the deployed ``pipeline`` workflow and follow it.
- ``run_job_cloud(...)``: run a stage's deployed Cloud Run job and wait for it.

Failures to reach or use an API raise ``CloudError`` (a ``BPError``: one line, a next
step and an exit code), which ``bp`` prints like every other error.
"""

from __future__ import annotations

from bp_cli.cloud_clients import CloudClients, CloudError, make_clients
from bp_cli.cloud_job import run_job_cloud
from bp_cli.cloud_workflow import run_workflow_cloud

__all__ = ["CloudClients", "CloudError", "make_clients", "run_job_cloud", "run_workflow_cloud"]
