"""Pick MuJoCo's OpenGL backend before MuJoCo is first imported (it reads ``MUJOCO_GL`` then).

Imports nothing that imports MuJoCo, so a job's ``main()`` can call it first.
"""

from __future__ import annotations

import os
from collections.abc import Collection

DEFAULT_GL = "egl"


def select_gl(allowed: Collection[str], default: str = DEFAULT_GL) -> dict[str, str]:
    """Set ``MUJOCO_GL`` (default ``egl``) and return the environment as it was given.

    An invalid value is replaced by ``disable`` for the import, and the environment as given
    goes to the settings check, which reports it (exit 2) instead of MuJoCo failing to load.
    """
    environ = dict(os.environ)
    value = environ.get("MUJOCO_GL", default)
    os.environ["MUJOCO_GL"] = value if value in allowed else "disable"
    return environ
