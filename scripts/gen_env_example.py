"""Regenerate .env.example from every installed stage's settings class.

Usage: uv run python scripts/gen_env_example.py [--check]
"""

from __future__ import annotations

import sys
from pathlib import Path

from bp_sdk.envdoc import installed_settings, render

TARGET = Path(__file__).resolve().parents[1] / ".env.example"


def main() -> int:
    """Write the file, or with --check exit 1 if it is stale."""
    text = render(installed_settings())
    if "--check" in sys.argv:
        if TARGET.read_text(encoding="utf-8") != text:
            sys.stderr.write(".env.example is stale: run `uv run python scripts/gen_env_example.py`\n")
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
