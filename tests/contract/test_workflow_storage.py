"""The Cloud Storage connector of the workflow interpreter on both backends (file:// and
the GCS emulator), and batch.yaml's lease subworkflows on top of it."""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from bp_flow.connectors import SUPPORTED
from bp_flow.connectors.storage import StorageConnectors
from bp_flow.engine import Execution
from bp_flow.errors import WorkflowError
from bp_flow.loader import load_file
from bp_flow.runtime import FakeClock, Runtime
from bp_sdk.storage import Storage

REPO = Path(__file__).resolve().parents[2]
BUCKET = "data-bucket"


def conn(storage: Storage) -> dict[str, Any]:
    """The connector functions over ``storage`` as bucket ``data-bucket``."""
    return StorageConnectors({BUCKET: storage}).functions()


def call(storage: Storage, method: str, **args: Any) -> Any:
    """Call ``googleapis.storage.v1.objects.<method>``."""
    return conn(storage)["googleapis.storage.v1.objects." + method](
        Runtime(), {"bucket": BUCKET, **args}
    )


def http_code(fn: Any) -> int:
    """The HttpError code ``fn`` raises."""
    with pytest.raises(WorkflowError) as err:
        fn()
    assert "HttpError" in err.value.tags
    return int(err.value.value["code"])


def test_insert_then_get_metadata_and_media(storage: Storage) -> None:
    """A map body is stored as JSON; metadata has string generation/size; media parses JSON."""
    meta = call(storage, "insert", name="a/b/lease.json", uploadType="media", body={"k": [1, 2]})
    assert meta["name"] == "a/b/lease.json" and meta["contentType"] == "application/json"
    assert isinstance(meta["generation"], str) and int(meta["generation"]) > 0
    encoded = urllib.parse.quote("a/b/lease.json", safe="")
    again = call(storage, "get", object=encoded)
    assert again["generation"] == meta["generation"] and again["size"] == str(len(b'{"k":[1,2]}'))
    assert call(storage, "get", object=encoded, alt="media") == {"k": [1, 2]}
    call(storage, "insert", name="notes.txt", uploadType="media", body="hello")
    assert call(storage, "get", object="notes.txt", alt="media") == "hello"


def test_missing_object_and_bucket_are_404(storage: Storage) -> None:
    """Reading a missing object or an unknown bucket raises HttpError 404."""
    assert http_code(lambda: call(storage, "get", object="nope.json")) == 404
    assert (
        http_code(
            lambda: conn(storage)["googleapis.storage.v1.objects.get"](
                Runtime(), {"bucket": "other", "object": "x"}
            )
        )
        == 404
    )
    assert http_code(lambda: call(storage, "delete", object="nope.json")) == 404


def test_if_generation_match_zero_and_compare_and_swap(storage: Storage) -> None:
    """ifGenerationMatch 0 creates once (then 412); a stale generation is 412; the current one swaps."""
    first = call(
        storage, "insert", name="l.json", uploadType="media", body={"v": 1}, ifGenerationMatch=0
    )
    assert (
        http_code(
            lambda: call(
                storage,
                "insert",
                name="l.json",
                uploadType="media",
                body={"v": 2},
                ifGenerationMatch=0,
            )
        )
        == 412
    )
    second = call(
        storage,
        "insert",
        name="l.json",
        uploadType="media",
        body={"v": 3},
        ifGenerationMatch=first["generation"],
    )
    assert (
        http_code(
            lambda: call(
                storage,
                "insert",
                name="l.json",
                uploadType="media",
                body={"v": 4},
                ifGenerationMatch=first["generation"],
            )
        )
        == 412
    )
    assert call(storage, "get", object="l.json", alt="media") == {"v": 3}
    assert (
        http_code(
            lambda: call(storage, "delete", object="l.json", ifGenerationMatch=first["generation"])
        )
        == 412
    )
    call(storage, "delete", object="l.json", ifGenerationMatch=second["generation"])
    assert http_code(lambda: call(storage, "get", object="l.json")) == 404


def test_list_with_delimiter_pages_and_glob(storage: Storage) -> None:
    """Prefixes with a delimiter, pages of maxResults with nextPageToken, and matchGlob."""
    for scene in ("s1", "s2", "s3", "s4", "s5"):
        storage.write_bytes(f"scenes/{scene}/input/scene.json", b"{}")
    storage.write_bytes("scenes/s1/runs/r/ingest/attempts/x-a0/_FAILURE.json", b"{}")
    storage.write_bytes("scenes/s1/runs/r/ingest/attempts/x-a0/other.json", b"{}")
    seen, token, pages = [], None, 0
    while True:
        page = call(storage, "list", prefix="scenes/", delimiter="/", maxResults=2, pageToken=token)
        pages += 1
        seen += page.get("prefixes", [])
        assert "items" not in page
        token = page.get("nextPageToken")
        if token is None:
            break
    assert seen == [f"scenes/s{k}/" for k in range(1, 6)] and pages == 3
    found = call(storage, "list", prefix="scenes/s1/runs/r/ingest/", matchGlob="**/_FAILURE.json")
    assert [i["name"] for i in found["items"]] == [
        "scenes/s1/runs/r/ingest/attempts/x-a0/_FAILURE.json"
    ]


# ------------------------------------------------------------------ batch.yaml's leases
def lease_call(storage: Storage, sub: str, clock: FakeClock, holder: str, **args: Any) -> Any:
    """Run one subworkflow of batch.yaml against ``storage``."""
    wf = load_file(REPO / "workflows" / "batch.yaml", SUPPORTED)
    rt = Runtime(env={"GOOGLE_CLOUD_WORKFLOW_EXECUTION_ID": holder}, clock=clock)
    cfg = {"bucket": BUCKET, "root": "", "run_id": "r1", "holder": holder, "lease_seconds": 100}
    return Execution(wf, rt, conn(storage)).call_subworkflow(
        wf.subworkflows[sub], {"cfg": cfg, **args}, None
    )


def test_lease_claimed_once_taken_over_after_expiry_released_by_owner(storage: Storage) -> None:
    """A second batch cannot claim a live lease; after expiry it takes it over; only the
    owner's generation is deleted on release."""
    clock = FakeClock()
    first = lease_call(storage, "claim_lease", clock, "batch-A", scene_id="s1")
    assert first["claimed"] is True
    second = lease_call(storage, "claim_lease", clock, "batch-B", scene_id="s1")
    assert second == {"claimed": False, "generation": None, "holder": "batch-A"}
    clock.sleep(101)  # the lease expires
    third = lease_call(storage, "claim_lease", clock, "batch-B", scene_id="s1")
    assert third["claimed"] is True and third["generation"] != first["generation"]
    lease_call(
        storage, "release_lease", clock, "batch-A", scene_id="s1", generation=first["generation"]
    )
    assert storage.exists("scenes/s1/runs/r1/_LEASE.json")  # A's release does not remove B's lease
    lease_call(
        storage, "release_lease", clock, "batch-B", scene_id="s1", generation=third["generation"]
    )
    assert not storage.exists("scenes/s1/runs/r1/_LEASE.json")
