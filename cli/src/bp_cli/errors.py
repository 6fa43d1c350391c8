"""The CLI's own error: a bad argument (its fix is on the command line, not in the environment)."""

from __future__ import annotations

from bp_sdk.errors import ConfigError


class UsageError(ConfigError):
    """A command-line argument is wrong. Exit 2, like every configuration error."""

    next_step = "Fix the command's arguments (see `bp <command> --help`) and run again."
