"""Record file-system and network I/O through Python's audit hooks (PEP 578).

``with recording_io() as events:`` collects the I/O audit events raised by the
current thread inside the block. Audit hooks cannot be removed, so one hook is
installed on first use and does nothing while no recording is active.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from typing import Any

IO_EVENTS = frozenset({
    "open", "os.mkdir", "os.rename", "os.remove", "os.rmdir", "os.link", "os.symlink",
    "os.scandir", "os.listdir", "os.truncate", "os.chmod", "os.utime", "tempfile.mkstemp",
    "tempfile.mkdtemp", "shutil.copyfile", "shutil.rmtree", "socket.connect",
    "socket.getaddrinfo", "socket.sendto", "socket.bind",
})

_state = threading.local()
_installed = False
_lock = threading.Lock()


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if event not in IO_EVENTS:
        return
    events = getattr(_state, "events", None)
    if events is not None:
        events.append((event, repr(args)[:200]))


@contextlib.contextmanager
def recording_io() -> Iterator[list[tuple[str, str]]]:
    """Collect ``(event, args)`` for every I/O audit event of this thread in the block."""
    global _installed  # noqa: PLW0603 - one process-wide hook, installed once
    with _lock:
        if not _installed:
            sys.addaudithook(_hook)
            _installed = True
    events: list[tuple[str, str]] = []
    _state.events = events
    try:
        yield events
    finally:
        _state.events = None
