"""Generate large valid blueprints for crash and timing tests."""

from __future__ import annotations

import json
from typing import Any


def big_blueprint(n_tables: int, per_table: int = 20) -> bytes:
    """``n_tables`` tables in a grid, each with ``per_table`` toy blocks on top."""
    objects: list[dict[str, Any]] = []
    for t in range(n_tables):
        tx, ty = (t % 100) * 2.0, (t // 100) * 2.0
        objects.append({"id": f"table_{t}", "category": "table", "size": [1.2, 0.8, 0.75],
                        "pose": {"position": [tx, ty, 0.375]}})
        for k in range(per_table):
            objects.append({"id": f"block_{t}_{k}", "category": "toy_block", "size": [0.05, 0.05, 0.05],
                            "pose": {"position": [tx - 0.5 + 0.05 * k, ty, 0.775]}, "support": f"table_{t}"})
    doc = {"schema_version": "1", "name": "big", "units": "m", "up_axis": "z", "objects": objects}
    return json.dumps(doc).encode()
