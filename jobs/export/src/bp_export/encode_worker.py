"""``python -m bp_export.encode_worker``: a video encoder process of the export stage.

Reads one JSON request per line on stdin, answers one JSON line on stdout (see
:func:`bp_export.encoding.handle`); no pickle crosses the pipe. An error is answered
as ``{"ok": false, "error": ...}`` and ends the process with status 1; end of input
ends it with status 0.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def main() -> int:
    """Serve requests until stdin closes."""
    from bp_export.encoding import KeyEncoders, handle  # noqa: PLC0415 - keep start-up import light

    state: KeyEncoders | None = None
    out = sys.stdout.buffer
    for line in sys.stdin.buffer:
        if not line.strip():
            continue
        try:
            state, reply = handle(state, json.loads(line))
        except Exception as exc:  # noqa: BLE001 - every failure is answered, then the process ends
            reply_err: dict[str, Any] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            out.write(json.dumps(reply_err).encode() + b"\n")
            out.flush()
            if state is not None:
                state.abort()
            return 1
        out.write(json.dumps(reply).encode() + b"\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
