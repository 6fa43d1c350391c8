"""``bp-tasks``: what the tasks container runs. Settings come from the environment only."""

from __future__ import annotations

from bp_sdk.runner import main_for

from bp_tasks.stage import TasksStage


def main() -> None:
    """Entry point of the ``bp-tasks`` console script."""
    main_for(TasksStage())


if __name__ == "__main__":
    main()
