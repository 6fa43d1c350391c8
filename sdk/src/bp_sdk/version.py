"""Code version of a package, as recorded in commit records and lineage."""

from __future__ import annotations

from importlib import metadata


def package_version(dist: str) -> str:
    """Installed version of distribution ``dist`` (``0+unknown`` when not installed)."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "0+unknown"


def code_version(dist: str, revision: str, image_digest: str | None = None) -> dict[str, str]:
    """``{"package", "version", "sdk_version", "revision"[, "image_digest"]}`` for records."""
    out = {
        "package": dist,
        "version": package_version(dist),
        "sdk_version": package_version("bp-sdk"),
        "revision": revision,
    }
    if image_digest:
        out["image_digest"] = image_digest
    return out
