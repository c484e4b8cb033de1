"""Secrets at rest and in logs: the data folder and its files are the owner's alone from creation, push-provider
keys are stored encrypted, webhook URL passwords stay out of logs, and the banner shows the API secret once."""

from __future__ import annotations

import base64
import logging
import stat
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from tests.conftest import RunningServer, free_port, start_server
from tests.push_fakes import service_account
from tests.test_webhooks import Receiver, create_call, wait_until
from weir.cli.serve import banner_lines
from weir.config import Settings
from weir.sealing import Sealer, SealError
from weir.store.db import Database
from weir.store.tables import PushProviderRow


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_data_folder_and_its_files_are_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh" / "weir"
    settings = Settings(host="127.0.0.1", port=free_port(), data_dir=data_dir, rate_limits_enabled=False)
    assert settings.ensure_credentials()
    uv, thread = start_server(settings)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{settings.port}") as client:
            assert client.get("/api/v1/health").status_code == 200
    finally:
        uv.should_exit = True
        thread.join(timeout=10)
    assert mode(data_dir) == 0o700
    files = sorted(p.name for p in data_dir.iterdir() if p.is_file())
    assert {"credentials.json", "secret.key", "weir.db"} <= set(files), files
    assert {name: mode(data_dir / name) for name in files} == {name: 0o600 for name in files}


def test_the_banner_shows_the_api_secret_only_when_it_was_just_generated(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, api_key="k", api_secret="s" * 40 + "WXYZ")
    assert any(settings.api_secret in line for line in banner_lines(settings, generated=True))
    later = "\n".join(banner_lines(settings, generated=False))
    assert settings.api_secret not in later and "****WXYZ" in later


async def test_push_provider_keys_are_stored_encrypted(server: RunningServer, api: httpx.Client,
                                                       uid: Callable[[str], str]) -> None:
    account, _ = service_account("https://oauth2.googleapis.com/token")
    name = uid("sealed")
    created = api.post("/push_providers", json={"push_provider": {"name": name, "type": "firebase",
                                                                  "firebase_credentials": account}})
    assert created.status_code == 201, created.text
    assert mode(server.data_dir / "secret.key") == 0o600
    db = Database(server.database_url)
    try:
        async with db.read() as session:
            config = (await session.scalar(select(PushProviderRow).where(PushProviderRow.name == name))).config
    finally:
        await db.close()
    assert config["credentials"].startswith("fernet:") and "PRIVATE KEY" not in config["credentials"]
    key = (server.data_dir / "secret.key").read_bytes()
    assert Sealer(key).unseal(config["credentials"]) == account
    listed = {p["name"]: p for p in api.get("/push_providers").json()["push_providers"]}
    assert listed[name]["firebase_project_id"] == "weir-test", "read back through the key"


def test_a_sealed_secret_needs_its_key() -> None:
    sealed = Sealer(Fernet.generate_key()).seal("apns key")
    with pytest.raises(SealError):
        Sealer(Fernet.generate_key()).unseal(sealed)
    with pytest.raises(ValueError, match="WEIR_SECRET_KEY"):
        Sealer("not a key")


def test_webhook_url_passwords_stay_out_of_logs(server: RunningServer, api: httpx.Client,
                                                caplog: pytest.LogCaptureFixture) -> None:
    receiver = Receiver(server.api_secret, statuses=(500,))
    url = receiver.url.replace("http://", "http://hook-user:s3cr%40t-pw@")
    try:
        assert api.patch("/app", json={"event_hooks": [{"webhook_url": url, "event_types": ["call.created"]}]}
                         ).status_code == 200
        with caplog.at_level(logging.INFO):  # `weir serve`'s default level
            cid = create_call(api, uuid.uuid4().hex[:10])
            wait_until(lambda: [r.answer for r in receiver.about(cid)] == [500, 200], "a retried delivery")
        basic = base64.b64encode(b"hook-user:s3cr@t-pw").decode()
        assert {r.headers.get("authorization") for r in receiver.about(cid)} == {f"Basic {basic}"}
        assert "retrying" in caplog.text and "hook-user:****@" in caplog.text
        assert "s3cr" not in caplog.text
    finally:
        api.patch("/app", json={"event_hooks": []})
        receiver.close()


async def test_a_provider_stored_under_another_key_is_listed_as_unreadable_and_can_be_set_again(
        server: RunningServer, api: httpx.Client, uid: Callable[[str], str]) -> None:
    account, _ = service_account("https://oauth2.googleapis.com/token")
    name = uid("rekeyed")
    assert api.post("/push_providers", json={"push_provider": {"name": name, "type": "firebase",
                                                               "firebase_credentials": account}}).status_code == 201
    db = Database(server.database_url)  # as if WEIR_SECRET_KEY had changed since this row was written
    try:
        async with db.transaction() as session:
            row = await session.scalar(select(PushProviderRow).where(PushProviderRow.name == name))
            row.config = {**row.config, "credentials": Sealer(Fernet.generate_key()).seal(account)}
    finally:
        await db.close()
    listing = api.get("/push_providers")
    assert listing.status_code == 200, listing.text
    listed = {p["name"]: p for p in listing.json()["push_providers"]}
    assert listed[name]["firebase_credentials"].startswith("unreadable") and listed[name]["enabled"] is True
    again = api.post("/push_providers", json={"push_provider": {"name": name, "type": "firebase",
                                                                "firebase_credentials": account}})
    assert again.status_code == 200, again.text
    listed = {p["name"]: p for p in api.get("/push_providers").json()["push_providers"]}
    assert listed[name]["firebase_project_id"] == "weir-test"
