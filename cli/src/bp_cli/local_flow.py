"""Run ``workflows/*.yaml`` on this machine: the interpreter, wired to local executors.

What Terraform and Cloud Run provide in the cloud, this provides locally:

- each ``<prefix>-<stage>`` job is the stage's console script as a subprocess (or its
  image with ``--docker``), with the job settings Terraform would set (``STORAGE_URI``,
  ``LOG_FORMAT``) beneath the workflow's overrides;
- the storage connector reads and writes the same ``Storage`` root the jobs use: a
  ``file://`` root is the bucket ``bp-local``; ``gs://bucket/prefix`` is that bucket;
- ``pipeline`` and ``batch`` are deployed side by side, so ``batch`` starts child
  executions of ``pipeline``;
- the workflows' environment (``BP_BUCKET``, ``BP_PREFIX``, ``BP_JOB_PREFIX``,
  ``BP_PIPELINE_WORKFLOW``) is set as Terraform sets it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bp_flow.connectors.jobs import LocalJobs
from bp_flow.connectors.storage import StorageConnectors
from bp_flow.launch.base import Launcher, TaskEvents
from bp_flow.launch.docker import DockerLauncher
from bp_flow.launch.local import SubprocessLauncher
from bp_flow.local import LocalWorkflows
from bp_flow.runtime import Clock, RealClock
from bp_sdk.storage import Storage, open_storage, parse_storage_uri

from bp_cli.stages import available_stages
from bp_cli.workflow_files import BATCH, PIPELINE, workflow_file

LOCAL_BUCKET = "bp-local"
JOB_PREFIX = "bp"


@dataclass(frozen=True)
class Place:
    """Where the jobs store, as the workflows see it: bucket, prefix, and the root."""

    bucket: str
    prefix: str
    storage_uri: str


def place_of(storage_uri: str) -> Place:
    """The bucket/prefix a storage URI stands for in the workflows."""
    scheme, bucket, prefix = parse_storage_uri(storage_uri)
    if scheme == "gs":
        return Place(bucket, prefix.strip("/"), storage_uri)
    return Place(LOCAL_BUCKET, "", storage_uri)


def bucket_storage(place: Place) -> Storage:
    """The storage root the connector maps the bucket to (the bucket's root on GCS)."""
    if place.bucket == LOCAL_BUCKET:
        return open_storage(place.storage_uri)
    return open_storage(f"gs://{place.bucket}")


@dataclass
class LocalSetup:
    """Options for a local deployment of the workflows."""

    storage_uri: str
    docker: bool = False
    events: TaskEvents = field(default_factory=TaskEvents)
    log_dir: Path | None = None
    job_env: Mapping[str, str] = field(default_factory=dict)
    commands: Mapping[str, list[str]] = field(default_factory=dict)
    images: Mapping[str, str] = field(default_factory=dict)
    clock: Clock = field(default_factory=RealClock)
    task_retries: int = 0


# host variables a container needs to reach what the host reaches (a local GCS emulator)
PASSTHROUGH = ("STORAGE_EMULATOR_HOST",)


def make_launcher(setup: LocalSetup) -> Launcher:
    """Subprocesses (the embedded default) or containers (``--docker``)."""
    base = {"STORAGE_URI": setup.storage_uri, "LOG_FORMAT": "json", **setup.job_env}
    if setup.docker:
        base.update({k: os.environ[k] for k in PASSTHROUGH if k in os.environ})
        return DockerLauncher(
            base,
            images=setup.images,
            log_dir=setup.log_dir,
            events=setup.events,
            max_retries=setup.task_retries,
        )
    return SubprocessLauncher(
        base,
        commands=setup.commands,
        log_dir=setup.log_dir,
        events=setup.events,
        max_retries=setup.task_retries,
    )


def deploy(setup: LocalSetup) -> tuple[LocalWorkflows, Launcher]:
    """``pipeline`` and ``batch`` with their connectors, ready to execute."""
    place = place_of(setup.storage_uri)
    launcher = make_launcher(setup)
    stages = {f"{JOB_PREFIX}-{s}": s for s in available_stages()}
    deployment = LocalWorkflows.from_files(
        {PIPELINE: workflow_file(PIPELINE), BATCH: workflow_file(BATCH)},
        env={
            "BP_BUCKET": place.bucket,
            "BP_PREFIX": place.prefix,
            "BP_JOB_PREFIX": JOB_PREFIX,
            "BP_PIPELINE_WORKFLOW": PIPELINE,
        },
        clock=setup.clock,
    )
    deployment.connectors.update(LocalJobs(launcher, stages).functions())
    deployment.connectors.update(
        StorageConnectors({place.bucket: bucket_storage(place)}).functions()
    )
    return deployment, launcher
