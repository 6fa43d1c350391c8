"""The hashicorp/google provider's resource schema, offline.

Source: the prebuilt CDK-for-Terraform bindings ``cdktf-cdktf-provider-google`` (pinned in
``infra/tools/uv.lock``, installed into ``.venv-infra`` by ``scripts/infra_tools_env.sh``).
Its jsii bundle (``_jsii/provider-google@<v>.jsii.tgz``) holds one generated JavaScript file
per resource and data source. Each resource class has ``static tfResourceType`` and a
``synthesizeAttributes()`` that maps every configurable argument to its Terraform name,
and every nested block goes through a generated ``<struct>ToTerraform(struct)`` function
that does the same one level down. Those two shapes are all this module reads:

    CloudRunV2Job.tfResourceType = "google_cloud_run_v2_job";
    synthesizeAttributes() { return { name: cdktf.stringToTerraform(this._name),
        template: cloudRunV2JobTemplateToTerraform(this._template.internalValue), ... } }
    function cloudRunV2JobTemplateTemplateToTerraform(struct) { ... return {
        max_retries: cdktf.numberToTerraform(struct.maxRetries),
        containers: cdktf.listMapper(cloudRunV2JobTemplateTemplateContainersToTerraform, true)(...),

An entry whose value goes through a struct converter is a block; anything else is an
attribute. Computed-only attributes are not in ``synthesizeAttributes`` (they cannot be
set), so a configuration that sets one fails the check, as ``terraform validate`` would.

The extracted schema (about 0.5 MB of JSON for ~1,070 resources and ~390 data sources,
~3 s to build) is cached under ``build/infra/`` keyed by the bundle's name and size.
"""

from __future__ import annotations

import json
import os
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("INFRA_VENV", REPO / ".venv-infra"))
ENV_SCRIPT = "scripts/infra_tools_env.sh"
CACHE = REPO / "build" / "infra"
PACKAGE = "cdktf_cdktf_provider_google"

_FN = re.compile(r"^function (\w+)ToTerraform\(struct\) \{(.*?)^\}", re.S | re.M)
_RETURN = re.compile(r"return \{\n(.*?)\n\s*\};", re.S)
_ENTRY = re.compile(r"^\s*(\w+): (.*),$", re.M)
_CONVERTER = re.compile(r"\b([a-z]\w*)ToTerraform\b")
_TYPE = re.compile(r'^\w+\.tfResourceType = "(\w+)";', re.M)
_SYNTH = re.compile(r"synthesizeAttributes\(\) \{\s*return \{\n(.*?)\n\s*\};", re.S)
_PRIMITIVES = frozenset({"string", "number", "boolean", "list", "hash", "any"})
_PROVIDER_VERSION = re.compile(r"hashicorp/google provider version (\d+\.\d+\.\d+)")


@dataclass(frozen=True)
class Schema:
    """Block schemas by resource type and data source type, and where they came from."""

    package_version: str
    provider_version: str
    resources: dict[str, Any]
    data_sources: dict[str, Any]


def site_packages() -> Path | None:
    """``.venv-infra``'s site-packages, or None when the venv is missing or unfinished."""
    if not (VENV / ".bp-infra-env.stamp").is_file():
        return None
    found = sorted(VENV.glob("lib/python3*/site-packages"))
    return found[0] if found else None


def checkov_bin() -> Path | None:
    """``.venv-infra/bin/checkov`` when the venv is complete."""
    exe = VENV / "bin" / "checkov"
    return exe if site_packages() is not None and exe.is_file() else None


def _entries(body: str) -> dict[str, str | None]:
    """Terraform name -> the struct converter it goes through (None: an attribute)."""
    out: dict[str, str | None] = {}
    for name, value in _ENTRY.findall(body):
        refs = [r for r in _CONVERTER.findall(value) if r not in _PRIMITIVES]
        out[name] = refs[0] if refs else None
    return out


def _block(
    entries: dict[str, str | None], fns: dict[str, dict[str, str | None]], depth: int = 0
) -> dict[str, Any]:
    if depth > 20:
        raise ValueError("block nesting too deep")
    attrs = sorted(k for k, ref in entries.items() if ref is None)
    blocks = {k: _block(fns.get(ref, {}), fns, depth + 1) for k, ref in entries.items() if ref}
    return {"attributes": attrs, "blocks": blocks}


def extract(bundle: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Resource and data-source schemas from the jsii bundle."""
    sources: dict[str, list[str]] = {}
    with tarfile.open(bundle, "r:gz") as tar:
        for member in tar:
            parts = member.name.split("/")
            if (
                member.isfile()
                and len(parts) >= 4
                and parts[1] == "lib"
                and member.name.endswith(".js")
            ):
                data = tar.extractfile(member)
                if data is not None:
                    text = data.read().decode("utf-8").split("//# sourceMappingURL")[0]
                    sources.setdefault(parts[2], []).append(text)
    resources: dict[str, Any] = {}
    data_sources: dict[str, Any] = {}
    for folder, texts in sources.items():
        text = "\n".join(texts)
        kind = _TYPE.search(text)
        synth = _SYNTH.search(text)
        if kind is None or synth is None:
            continue  # the provider itself, index files
        fns = {}
        for name, body in _FN.findall(text):
            ret = _RETURN.search(body)
            fns[name] = _entries(ret.group(1)) if ret else {}
        target = data_sources if folder.startswith("data-") else resources
        target[kind.group(1)] = _block(_entries(synth.group(1)), fns)
    return resources, data_sources


def load_schema() -> Schema | None:
    """The schema from ``.venv-infra`` (cached under build/infra), or None without the venv."""
    site = site_packages()
    if site is None:
        return None
    bundles = sorted((site / PACKAGE / "_jsii").glob("provider-google@*.jsii.tgz"))
    meta = sorted(site.glob("cdktf_cdktf_provider_google-*.dist-info/METADATA"))
    if not bundles or not meta:
        return None
    bundle = bundles[-1]
    package_version = bundle.name.removeprefix("provider-google@").removesuffix(".jsii.tgz")
    found = _PROVIDER_VERSION.search(meta[-1].read_text(encoding="utf-8"))
    provider_version = found.group(1) if found else "unknown"
    cache = CACHE / f"google-schema-{package_version}-{bundle.stat().st_size}.json"
    if cache.is_file():
        doc = json.loads(cache.read_text(encoding="utf-8"))
    else:
        resources, data_sources = extract(bundle)
        doc = {"resources": resources, "data_sources": data_sources}
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(doc, separators=(",", ":"), sort_keys=True), encoding="utf-8")
        tmp.replace(cache)
    return Schema(package_version, provider_version, doc["resources"], doc["data_sources"])
