"""Identifier rules shared by settings, storage paths and schemas."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import StringConstraints

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$"
ID_RE = re.compile(ID_PATTERN)
ID_HINT = "use 1-128 characters: letters, digits, '_' and '-', starting with a letter or digit"

Identifier = Annotated[str, StringConstraints(pattern=ID_PATTERN)]


def is_valid_id(value: str) -> bool:
    """True if ``value`` is a valid scene/run/object identifier."""
    return bool(ID_RE.fullmatch(value))
