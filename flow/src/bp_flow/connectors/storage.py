"""``googleapis.storage.v1.objects.{get,list,insert,delete}`` on the SDK's ``Storage``.

The workflow names a bucket; the interpreter is given which :class:`Storage` root stands
for each bucket name (``file://`` locally, ``gs://bucket`` against GCS or its
emulator). Results and errors have the JSON API's shapes: object resources with string
``generation``/``size``, ``items``/``prefixes``/``nextPageToken`` lists (keys left out
when empty, as GCS does), and HTTP errors as ``HttpError`` maps with ``code``.

As on GCP, ``object`` (a path parameter of get and delete) arrives URL-encoded
(``text.url_encode``); ``name`` and ``prefix`` (query parameters) arrive as they are.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from bp_sdk.errors import BPError, NotFoundError, PathError, PreconditionFailed
from bp_sdk.storage import ObjectInfo, Storage

from bp_flow.errors import HTTP_ERROR, WorkflowError
from bp_flow.runtime import Runtime

PREFIX = "googleapis.storage.v1.objects."
MAX_RESULTS = 1000
_CONTENT_TYPES = {
    ".json": "application/json",
    ".html": "text/html",
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".csv": "text/csv",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}


def http_error(code: int, message: str) -> WorkflowError:
    """An ``HttpError`` map as connectors raise it."""
    return WorkflowError(
        {
            "message": f"HTTP server responded with error code {code}",
            "code": code,
            "tags": [HTTP_ERROR],
            "headers": {},
            "body": {"error": {"code": code, "message": message}},
        }
    )


def rfc3339(when: datetime) -> str:
    """``2026-12-06T10:00:00.123Z`` (the JSON API's timestamps)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def content_type(name: str) -> str:
    """The content type GCS would hold for an object we wrote."""
    for suffix, kind in _CONTENT_TYPES.items():
        if name.endswith(suffix):
            return kind
    return "application/octet-stream"


def glob_regex(pattern: str) -> re.Pattern[str]:
    """``matchGlob``: ``**`` any characters, ``*`` any but '/', ``?`` one, ``[..]`` a set."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                raise http_error(400, f"matchGlob {pattern!r}: unclosed '['")
            out.append("[" + pattern[i + 1 : end].replace("\\", "\\\\") + "]")
            i = end + 1
            continue
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z")


class StorageConnectors:
    """The four object methods over buckets mapped to storage roots."""

    def __init__(self, buckets: Mapping[str, Storage]) -> None:
        self.buckets = dict(buckets)

    def functions(self) -> dict[str, Callable[[Runtime, dict[str, Any]], Any]]:
        """Connector name → callable, for the engine."""
        return {
            PREFIX + "get": self.get,
            PREFIX + "list": self.list,
            PREFIX + "insert": self.insert,
            PREFIX + "delete": self.delete,
        }

    # ------------------------------------------------------------------ helpers
    def _bucket(self, args: Mapping[str, Any]) -> tuple[str, Storage]:
        name = args.get("bucket")
        if not isinstance(name, str) or not name:
            raise http_error(400, "Required parameter: bucket")
        storage = self.buckets.get(name)
        if storage is None:
            raise http_error(404, f"The specified bucket does not exist: {name}")
        return name, storage

    def _resource(self, bucket: str, info: ObjectInfo) -> dict[str, Any]:
        gen = str(info.generation or 0)
        return {
            "kind": "storage#object",
            "id": f"{bucket}/{info.path}/{gen}",
            "name": info.path,
            "bucket": bucket,
            "generation": gen,
            "metageneration": "1",
            "contentType": content_type(info.path),
            "size": str(info.size),
            "timeCreated": rfc3339(info.updated),
            "updated": rfc3339(info.updated),
        }

    @staticmethod
    def _mapped(call: Callable[[], Any], what: str) -> Any:
        try:
            return call()
        except NotFoundError:
            raise http_error(404, f"No such object: {what}") from None
        except PreconditionFailed:
            raise http_error(412, f"Precondition failed for {what}") from None
        except PathError as err:
            raise http_error(400, f"Invalid object name {what}: {err.message}") from None
        except BPError as err:
            raise http_error(503, f"{what}: {err.message}") from None

    # ------------------------------------------------------------------ methods
    def get(self, rt: Runtime, args: dict[str, Any]) -> Any:
        """Metadata, or the content with ``alt: media`` (JSON objects come back parsed)."""
        bucket, storage = self._bucket(args)
        name = urllib.parse.unquote(str(args.get("object", "")))
        info = self._mapped(lambda: storage.stat(name), f"{bucket}/{name}")
        if info is None:
            raise http_error(404, f"No such object: {bucket}/{name}")
        if args.get("alt") != "media":
            return self._resource(bucket, info)
        data: bytes = self._mapped(lambda: storage.read_bytes(name), f"{bucket}/{name}")
        kind = content_type(name)
        if kind == "application/json":
            try:
                return json.loads(data)
            except ValueError:
                return data.decode("utf-8", errors="replace")
        if kind.startswith("text/"):
            return data.decode("utf-8", errors="replace")
        return data

    def list(self, rt: Runtime, args: dict[str, Any]) -> Any:
        """One page of objects (and of prefixes with a delimiter), in name order."""
        bucket, storage = self._bucket(args)
        prefix = str(args.get("prefix") or "")
        delimiter = args.get("delimiter")
        limit = int(args.get("maxResults") or MAX_RESULTS)
        glob = glob_regex(str(args["matchGlob"])) if args.get("matchGlob") else None
        after = _decode_token(args.get("pageToken"))
        entries: list[tuple[str, ObjectInfo | None]] = []
        seen_prefixes: set[str] = set()
        listed = self._mapped(lambda: list(storage.list(prefix)), f"{bucket}/{prefix}")
        for info in listed:
            rest = info.path[len(prefix) :]
            if delimiter and delimiter in rest:
                sub = prefix + rest.split(delimiter, 1)[0] + delimiter
                if sub not in seen_prefixes:
                    seen_prefixes.add(sub)
                    entries.append((sub, None))
                continue
            if glob is None or glob.match(info.path):
                entries.append((info.path, info))
        entries.sort(key=lambda e: e[0])
        entries = [e for e in entries if after is None or e[0] > after]
        page, more = entries[:limit], len(entries) > limit
        out: dict[str, Any] = {"kind": "storage#objects"}
        objects = [self._resource(bucket, info) for key, info in page if info is not None]
        prefixes = [key for key, info in page if info is None]
        if objects:
            out["items"] = objects
        if prefixes:
            out["prefixes"] = prefixes
        if more:
            out["nextPageToken"] = _encode_token(page[-1][0])
        return out

    def insert(self, rt: Runtime, args: dict[str, Any]) -> Any:
        """Media upload of ``body``; ``ifGenerationMatch`` makes it compare-and-swap."""
        bucket, storage = self._bucket(args)
        name = str(args.get("name") or "")
        if args.get("uploadType", "media") != "media":
            raise http_error(400, "only uploadType media is supported here")
        body = args.get("body")
        if isinstance(body, bytes):
            data = body
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = json.dumps(body, separators=(",", ":")).encode()
        match = args.get("ifGenerationMatch")
        if match is None:
            self._mapped(lambda: storage.write_bytes(name, data), f"{bucket}/{name}")
        else:
            self._mapped(
                lambda: storage.replace_if_generation(name, data, int(match)), f"{bucket}/{name}"
            )
        info = self._mapped(lambda: storage.stat(name), f"{bucket}/{name}")
        return self._resource(bucket, info)

    def delete(self, rt: Runtime, args: dict[str, Any]) -> Any:
        """Delete; with ``ifGenerationMatch`` only that generation."""
        bucket, storage = self._bucket(args)
        name = urllib.parse.unquote(str(args.get("object", "")))
        match = args.get("ifGenerationMatch")
        if match is not None:
            self._mapped(lambda: storage.delete_if_generation(name, int(match)), f"{bucket}/{name}")
            return None
        if self._mapped(lambda: storage.stat(name), f"{bucket}/{name}") is None:
            raise http_error(404, f"No such object: {bucket}/{name}")
        self._mapped(lambda: storage.delete(name), f"{bucket}/{name}")
        return None


def _encode_token(last: str) -> str:
    return base64.urlsafe_b64encode(last.encode()).decode()


def _decode_token(token: Any) -> str | None:
    if not token:
        return None
    try:
        return base64.urlsafe_b64decode(str(token).encode()).decode()
    except ValueError:
        raise http_error(400, "invalid pageToken") from None
