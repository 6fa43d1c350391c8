"""Secret redaction and traceback sanitising for everything that leaves a job.

Log lines, failure markers and commit records all pass through :class:`Redactor`, so a
secret value never appears in them however it got into a message.
"""

from __future__ import annotations

import json
import re
import threading
import traceback
from collections.abc import Iterable
from types import TracebackType
from typing import Any

REDACTED = "**redacted**"
_MIN_SECRET_LEN = 4

# an absolute path, up to a package root we can keep, e.g. /home/u/.venv/lib/python3.11/site-packages/
_SITE = re.compile(r"(?:[A-Za-z]:)?[/\\][^\s\"']*?(?:site-packages|dist-packages|src)[/\\]")
_ABS = re.compile(r"(?<![\w.])/(?:[\w.@+-]+/)+([\w.@+-]+)")


class Redactor:
    """Holds the secret values of this process and strips them from text."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self.add(values)

    def add(self, values: Iterable[str]) -> None:
        """Register secret values (short values are ignored: they would blank innocent text)."""
        with self._lock:
            for v in values:
                if v and len(v) >= _MIN_SECRET_LEN:
                    self._values.add(v)
                    # the JSON-escaped form, in case the value is inside a JSON string
                    self._values.add(json.dumps(v)[1:-1])

    def text(self, text: str) -> str:
        """``text`` with every secret value replaced."""
        with self._lock:
            values = sorted(self._values, key=len, reverse=True)
        for v in values:
            if v in text:
                text = text.replace(v, REDACTED)
        return text

    def value(self, value: Any) -> Any:
        """Redact strings inside nested dicts/lists."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        return value


# keys of a structured (JSON) secret whose values leak the secret on their own
SENSITIVE_KEYS = frozenset(
    {
        "private_key",
        "private_key_id",
        "client_secret",
        "secret",
        "key",
        "password",
        "token",
        "access_token",
        "refresh_token",
        "api_key",
    }
)
_PEM_LINE = re.compile(r"^[A-Za-z0-9+/=]{16,}$")


def secret_fragments(value: str) -> list[str]:
    """``value`` and the parts of it that would leak it on their own: for a JSON secret (a
    service-account key), the string fields named like secrets; for a PEM block, every
    base64 line and the lines joined. Each is registered for redaction."""
    out = [value]
    try:
        doc = json.loads(value)
    except ValueError:
        doc = None
    if isinstance(doc, dict):
        for k, v in doc.items():
            if isinstance(v, str) and k.lower() in SENSITIVE_KEYS and v != value:
                out += secret_fragments(v)
    if "-----BEGIN" in value:
        lines = [line.strip() for line in value.replace("\\n", "\n").splitlines()]
        body = [line for line in lines if _PEM_LINE.match(line)]
        out += body
        if body:
            out.append("".join(body))
    return out


def sanitize_paths(text: str) -> str:
    """Replace absolute paths by package-relative ones (or the bare file name)."""
    text = _SITE.sub("", text)
    return _ABS.sub(lambda m: f"<path>/{m.group(1)}", text)


def format_traceback(
    exc_type: type[BaseException] | None,
    exc: BaseException | None,
    tb: TracebackType | None,
    redactor: Redactor | None = None,
) -> str:
    """A traceback without absolute paths of the user's machine and without secrets."""
    text = "".join(traceback.format_exception(exc_type, exc, tb))
    text = sanitize_paths(text)
    return redactor.text(text) if redactor else text
