"""External storage through the server SDK (``weir.server.Client``) and the CLI (``weir storage``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests.conftest import RunningServer
from tests.storage.servers import LocalServer
from weir.cli import app
from weir.protocol.errors import ErrorCode
from weir.server import Client, WeirAPIError


def test_sdk_operations(server: RunningServer, storage_servers: dict[str, LocalServer],
                        uid: Callable[[str], str]) -> None:
    gcs = storage_servers["gcs"].request()
    name = uid("sdk")
    with Client(server.api_key, server.api_secret, server.base_url) as client:
        assert client.create_external_storage(gcs["bucket"], name, "gcs", gcs_credentials=gcs["gcs_credentials"],
                                              path="sdk/", gcs_custom_endpoint_url=gcs["gcs_custom_endpoint_url"]
                                              ).status_code == 201
        assert client.list_external_storage().data.external_storages[name].path == "sdk/"
        url = client.check_external_storage(name).data.file_url
        assert "Weir storage check" in httpx.get(url, timeout=30).text
        updated = client.update_external_storage(name, gcs["bucket"], "gcs", path="other/")
        assert updated.data.path == "other/"
        client.delete_external_storage(name)
        with pytest.raises(WeirAPIError) as missing:
            client.check_external_storage(name)
        assert missing.value.code == ErrorCode.NOT_FOUND


def test_cli_commands(server: RunningServer, storage_servers: dict[str, LocalServer], tmp_path: Path,
                      uid: Callable[[str], str]) -> None:
    env = {"WEIR_URL": server.base_url, "WEIR_API_KEY": server.api_key, "WEIR_API_SECRET": server.api_secret,
           "COLUMNS": "250"}

    def weir(*args: str, expect: int = 0) -> str:
        result = CliRunner().invoke(app, ["storage", *args], env=env)
        assert result.exit_code == expect, (result.stdout, result.stderr, result.exception)
        return result.stdout if expect == 0 else result.stderr

    gcs = storage_servers["gcs"].request()
    key_file = tmp_path / "service-account.json"
    key_file.write_text(gcs["gcs_credentials"])
    name = uid("cli")
    weir("create", name, "--type", "gcs", "--bucket", gcs["bucket"], "--path", "cli/", "--gcs-credentials",
         str(key_file), "--gcs-endpoint", gcs["gcs_custom_endpoint_url"])
    listing = weir("list")
    assert name in listing and "cli/" in listing and "PRIVATE KEY" not in listing
    assert "/cli/weir-" in json.loads(weir("check", name))["file_url"]
    weir("update", name, "--type", "gcs", "--bucket", gcs["bucket"], "--path", "moved/")
    assert "moved/" in weir("list")
    weir("delete", name)
    assert "does not exist" in weir("check", name, expect=1)
    assert "s3_region" in weir("create", uid("bad"), "--type", "s3", "--bucket", "b-1", "--aws-s3", "{}", expect=1)
