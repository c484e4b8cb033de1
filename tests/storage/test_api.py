"""The external storage API through the real server on both databases, with each backend's real local server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import RunningServer, assert_error
from tests.push_fakes import service_account
from tests.storage.servers import LocalServer
from weir.protocol.errors import APIError, ErrorCode
from weir.protocol.external_storage import CreateExternalStorageRequest
from weir.storage.external import merge_config
from weir.store.db import Database
from weir.store.tables import ExternalStorageRow


def stored_config(server: RunningServer, name: str) -> str:
    async def read() -> str:
        db = Database(server.database_url)
        try:
            async with db.read() as session:
                row = await session.scalar(select(ExternalStorageRow).where(ExternalStorageRow.name == name))
                assert row is not None
                return json.dumps(row.config)
        finally:
            await db.close()

    return asyncio.run(read())


def secrets_of(request: dict) -> list[str]:
    """The credential values of a request (the parts that must never be shown or stored in the clear)."""
    if request["storage_type"] == "gcs":
        return [json.loads(request["gcs_credentials"])["private_key"].splitlines()[1]]
    if request["storage_type"] == "abs":
        return [request["azure_blob"]["abs_account_key"]]
    return [request["aws_s3"]["s3_secret"], request["aws_s3"]["s3_api_key"]]


def test_lifecycle_and_check(api: httpx.Client, server: RunningServer, storage_server: LocalServer,
                             uid: Callable[[str], str]) -> None:
    name = uid("store")
    request = {"name": name, "path": "weir/checks/", **storage_server.request()}
    created = api.post("/external_storage", json=request)
    assert created.status_code == 201, created.text

    listed = api.get("/external_storage")
    assert listed.status_code == 200, listed.text
    assert listed.json()["external_storages"][name] == {
        "name": name, "type": request["storage_type"], "bucket": request["bucket"], "path": "weir/checks/"}
    config = stored_config(server, name)
    for secret in secrets_of(request):
        assert secret not in listed.text and secret not in created.text
        assert secret not in config, "credentials are sealed at rest"

    checked = api.get(f"/external_storage/{name}/check")
    assert checked.status_code == 200, checked.text
    url = checked.json()["file_url"]
    assert "/weir/checks/weir-" in url and ".md" in url
    assert "Weir storage check" in httpx.get(url, timeout=30).text
    second = api.get(f"/external_storage/{name}/check").json()["file_url"]
    assert second.split("?")[0] != url.split("?")[0], "each check writes a new file"

    # An update without credentials keeps them: the check still writes.
    update = {k: v for k, v in request.items() if k in ("storage_type", "bucket")} | {"path": "moved"}
    updated = api.put(f"/external_storage/{name}", json=update)
    assert updated.status_code == 200, updated.text
    assert updated.json()["path"] == "moved"
    moved = api.get(f"/external_storage/{name}/check")
    assert moved.status_code == 200, moved.text
    assert "/moved/weir-" in moved.json()["file_url"]

    assert api.delete(f"/external_storage/{name}").status_code == 200
    assert name not in api.get("/external_storage").json()["external_storages"]
    assert_error(api.get(f"/external_storage/{name}/check"), 404, ErrorCode.NOT_FOUND)
    assert_error(api.delete(f"/external_storage/{name}"), 404, ErrorCode.NOT_FOUND)


def test_check_reports_an_unreachable_storage(api: httpx.Client, uid: Callable[[str], str]) -> None:
    name = uid("down")
    request = {"name": name, "storage_type": "s3", "bucket": "nowhere", "aws_s3": {
        "s3_region": "us-east-1", "s3_api_key": "k", "s3_secret": "s",
        "s3_custom_endpoint_url": "http://127.0.0.1:9"}}  # the discard port: nothing listens
    assert api.post("/external_storage", json=request).status_code == 201
    try:
        body = assert_error(api.get(f"/external_storage/{name}/check"), 400, ErrorCode.INPUT_ERROR)
        assert f"external storage '{name}' failed the check" in body["message"]
    finally:
        api.delete(f"/external_storage/{name}")


S3 = {"storage_type": "s3", "bucket": "b-1", "aws_s3": {"s3_region": "us-east-1"}}


def test_at_most_ten_per_app(api: httpx.Client, uid: Callable[[str], str]) -> None:
    existing = len(api.get("/external_storage").json()["external_storages"])
    names = [uid("ten") for _ in range(10 - existing)]
    try:
        for name in names:
            assert api.post("/external_storage", json={"name": name, **S3}).status_code == 201
        body = assert_error(api.post("/external_storage", json={"name": uid("eleventh"), **S3}), 400,
                            ErrorCode.INPUT_ERROR)
        assert "at most 10" in body["message"]
        assert len(api.get("/external_storage").json()["external_storages"]) == 10
    finally:
        for name in names:
            api.delete(f"/external_storage/{name}")


@pytest.mark.parametrize(("change", "field"), [
    ({"bucket": None}, "bucket"),
    ({"bucket": "UPPER"}, "bucket"),
    ({"storage_type": "ftp"}, "storage_type"),
    ({"aws_s3": None}, "aws_s3"),
    ({"aws_s3": {"s3_region": "us-east-1", "s3_api_key": "only-the-key"}}, "aws_s3.s3_secret"),
    ({"aws_s3": {"s3_region": "us-east-1", "s3_custom_endpoint_url": "http://minio.example:9000"}},
     "aws_s3.s3_api_key"),
    ({"azure_blob": {"abs_account_name": "acct", "abs_account_key": "k"}}, "azure_blob"),
    ({"storage_type": "gcs", "aws_s3": None, "gcs_credentials": "{\"type\": \"user\"}"}, "gcs_credentials"),
    ({"storage_type": "gcs", "aws_s3": None}, "gcs_credentials"),
    ({"storage_type": "abs", "aws_s3": None, "azure_blob": {"abs_account_name": "acct", "abs_client_id": "c"}},
     "azure_blob"),
    ({"name": "stream-s3"}, "name"),
    ({"name": "has space"}, "name"),
    ({"unknown": 1}, "unknown"),
])
def test_bad_input_is_a_400_that_writes_nothing(api: httpx.Client, uid: Callable[[str], str], change: dict,
                                                field: str) -> None:
    request = {"name": uid("bad"), **S3, **change}
    request = {k: v for k, v in request.items() if v is not None}
    body = assert_error(api.post("/external_storage", json=request), 400, ErrorCode.INPUT_ERROR)
    assert field in body["message"], body
    assert request.get("name") not in api.get("/external_storage").json()["external_storages"]


@pytest.mark.parametrize(("request_fields", "field"), [
    ({"storage_type": "s3", "aws_s3": {"s3_region": "us-east-1", "s3_api_key": "k", "s3_secret": "s",
                                       "s3_custom_endpoint_url": "http://127.0.0.1:9000"}}, "s3_custom_endpoint_url"),
    ({"storage_type": "abs", "azure_blob": {"abs_account_name": "acct", "abs_account_key": "k",
                                            "abs_custom_endpoint_url": "http://10.0.0.1/acct"}},
     "abs_custom_endpoint_url"),
    ({"storage_type": "gcs", "gcs_credentials": service_account("http://localhost:9/token")[0]}, "gcs_credentials"),
])
def test_private_endpoints_need_the_operators_consent(request_fields: dict, field: str) -> None:
    """Weir uploads only to public addresses unless WEIR_ALLOW_PRIVATE_DESTINATIONS says otherwise (the test
    server allows them, for the local storage servers)."""
    body = CreateExternalStorageRequest(name="private", bucket="b-1", **request_fields)
    with pytest.raises(APIError) as refused:
        merge_config(body, None, allow_private=False)
    assert refused.value.code == ErrorCode.INPUT_ERROR and field in refused.value.message
    assert merge_config(body, None, allow_private=True)


def test_conflicts_and_permissions(api: httpx.Client, user_api: Callable[..., httpx.Client],
                                   uid: Callable[[str], str]) -> None:
    name = uid("dup")
    assert api.post("/external_storage", json={"name": name, **S3}).status_code == 201
    try:
        assert_error(api.post("/external_storage", json={"name": name, **S3}), 409, ErrorCode.CONFLICT)
        assert_error(api.put(f"/external_storage/{uid('missing')}", json=S3), 404, ErrorCode.NOT_FOUND)
        # A type change needs the new type's credentials; the failed update leaves the storage as it was.
        assert_error(api.put(f"/external_storage/{name}", json={"storage_type": "gcs", "bucket": "b-2"}), 400)
        assert api.get("/external_storage").json()["external_storages"][name]["bucket"] == "b-1"
        user = user_api(uid("user"))
        assert_error(user.get("/external_storage"), 403, ErrorCode.NOT_ALLOWED)
        assert_error(user.post("/external_storage", json={"name": uid("u"), **S3}), 403, ErrorCode.NOT_ALLOWED)
    finally:
        api.delete(f"/external_storage/{name}")
