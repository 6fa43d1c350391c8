"""``bp-ingest``: what the ingest container runs. Settings come from the environment only."""

from __future__ import annotations

from bp_sdk.runner import main_for

from bp_ingest.stage import IngestStage


def main() -> None:
    """Entry point of the ``bp-ingest`` console script."""
    main_for(IngestStage())


if __name__ == "__main__":
    main()
