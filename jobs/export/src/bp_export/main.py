"""``bp-export``: what the export container runs.

The video encoder processes are started first (``EXPORT_WORKERS`` of them, read here
without validation: the settings check it again and report a bad value), so that their
start-up overlaps this process's imports; the stage's encoder pool takes them.
"""

from __future__ import annotations

import os
import sys

from bp_export.encoding import drop_spares, prestart


def _workers() -> int:
    try:
        return int(os.environ.get("EXPORT_WORKERS", "2"))
    except ValueError:
        return 0


def main() -> None:
    """Entry point: start the encoders, run the export stage with settings from the environment."""
    prestart(_workers())
    from bp_sdk.runner import run_stage  # noqa: PLC0415 - after the encoders started

    from bp_export.stage import ExportStage  # noqa: PLC0415

    try:
        code = run_stage(ExportStage())
    finally:
        drop_spares()
    sys.exit(code)


if __name__ == "__main__":
    main()
