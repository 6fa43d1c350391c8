"""Fixtures: the local stand-in of the Cloud APIs, clients pointed at it, a captured console."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from bp_cli.cloud import CloudClients, make_clients
from rich.console import Console

from tests.cloud.standin import StandIn


@dataclass
class Captured:
    """A console writing into a buffer, as a terminal-less user would see it."""

    console: Console
    buffer: io.StringIO

    @property
    def text(self) -> str:
        return self.buffer.getvalue()

    def lines(self) -> list[str]:
        return [line.rstrip() for line in self.text.splitlines()]


@pytest.fixture
def standin() -> Iterator[StandIn]:
    """Both stand-in servers, started; stopped after the test."""
    with StandIn() as server:
        yield server


@pytest.fixture
def workflow_clients(standin: StandIn) -> CloudClients:
    """Real clients whose Workflows Executions client talks to the gRPC stand-in."""
    return make_clients(standin.grpc_endpoint)


@pytest.fixture
def run_clients(standin: StandIn) -> CloudClients:
    """Real clients whose Cloud Run clients talk to the REST stand-in."""
    return make_clients(standin.rest_endpoint)


@pytest.fixture
def out() -> Captured:
    """A wide, colourless console into a buffer."""
    buffer = io.StringIO()
    return Captured(
        Console(file=buffer, width=240, color_system=None, force_terminal=False), buffer
    )


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
