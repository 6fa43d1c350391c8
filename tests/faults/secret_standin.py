"""A local stand-in for Secret Manager's one method the SDK calls, ``AccessSecretVersion``,
over REST (``GET /v1/projects/*/secrets/*/versions/*:access``), for the real
``SecretManagerServiceClient`` pointed at it (``SECRET_MANAGER_ENDPOINT=http://127.0.0.1:PORT``).

It answers like the service: the payload base64-encoded with its CRC32C, 404 ``NOT_FOUND``
for an unknown secret, and whatever status a test scripts; every request is recorded.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import google_crc32c

ACCESS = re.compile(r"^/v1/projects/([^/]+)/secrets/([^/]+)/versions/([^/:]+):access$")
STATUS = {403: "PERMISSION_DENIED", 404: "NOT_FOUND", 503: "UNAVAILABLE"}


@dataclass
class Request:
    """One request as received: method, path, the Authorization header (if any)."""

    method: str
    path: str
    authorization: str | None


@dataclass
class StandIn:
    """Secrets by ``(project, name)``; scripted failures by name; the requests received."""

    secrets: dict[tuple[str, str], bytes] = field(default_factory=dict)
    fail: dict[str, int] = field(default_factory=dict)  # secret name -> HTTP status
    bad_crc: set[str] = field(default_factory=set)
    requests: list[Request] = field(default_factory=list)
    endpoint: str = ""

    def answer(self, path: str) -> tuple[int, dict[str, object]]:
        m = ACCESS.match(path.split("?", 1)[0])
        if m is None:
            return 404, _error(404, f"no such method: {path}")
        project, name, _version = m.groups()
        if name in self.fail:
            return self.fail[name], _error(self.fail[name], f"scripted failure for {name}")
        data = self.secrets.get((project, name))
        if data is None:
            return 404, _error(404, f"Secret [projects/{project}/secrets/{name}] not found")
        crc = google_crc32c.value(data) ^ (1 if name in self.bad_crc else 0)
        return 200, {
            "name": f"projects/{project}/secrets/{name}/versions/1",
            "payload": {"data": base64.b64encode(data).decode(), "dataCrc32c": str(crc)},
        }


def _error(code: int, message: str) -> dict[str, object]:
    return {"error": {"code": code, "message": message, "status": STATUS.get(code, "UNKNOWN")}}


@contextmanager
def secret_manager() -> Iterator[StandIn]:
    """A running stand-in on 127.0.0.1 (a free port), stopped when the block ends."""
    state = StandIn()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(Request("GET", self.path, self.headers.get("Authorization")))
            code, body = state.answer(self.path)
            raw = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
