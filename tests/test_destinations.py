"""SSRF: webhook and push-provider destinations on loopback, private, link-local or multicast addresses are
refused when set (400) and, after the name is resolved, when sent; WEIR_ALLOW_PRIVATE_DESTINATIONS allows them."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import RunningServer, assert_error, free_port, start_server
from tests.push_fakes import service_account
from tests.test_webhooks import Receiver
from weir.config import Settings
from weir.destinations import outbound_client, refused_host
from weir.domain.clock import now
from weir.protocol.app_settings import EventHook
from weir.protocol.errors import ErrorCode
from weir.store.db import Database
from weir.store.tables import WebhookDeliveryRow
from weir.webhooks.config import locked_settings, store_hooks
from weir.webhooks.policy import Outcome, RetryPolicy


@pytest.mark.parametrize("host", [
    "127.0.0.1", "127.1", "2130706433", "0x7f.0.0.1", "[::1]", "::ffff:127.0.0.1", "169.254.169.254", "10.1.2.3",
    "172.16.0.1", "192.168.1.1", "224.0.0.251", "0.0.0.0", "localhost", "LocalHost.", "api.localhost", "fe80::1",
])
def test_non_public_hosts_are_refused_before_any_lookup(host: str) -> None:
    assert refused_host(host)


@pytest.mark.parametrize("host", ["8.8.8.8", "example.com", "hooks.example.org", "2001:4860:4860::8888"])
def test_public_hosts_and_names_pass(host: str) -> None:
    assert refused_host(host) is None


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server with the default: private destinations refused."""
    data_dir: Path = tmp_path_factory.mktemp("weir-guarded")
    settings = Settings(host="127.0.0.1", port=free_port(), data_dir=data_dir, api_key="g-key",
                        api_secret="g-secret-" + uuid.uuid4().hex, rate_limits_enabled=False)
    assert not settings.private_destinations_allowed
    uv, thread = start_server(settings)
    try:
        yield RunningServer(f"http://127.0.0.1:{settings.port}", "g-key", settings.api_secret or "", data_dir,
                            "sqlite", settings.resolved_database_url)
    finally:
        uv.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def admin(guarded: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=guarded.base_url + "/api/v1", params={"api_key": guarded.api_key}, timeout=30,
                      headers={"Authorization": f"Bearer {guarded.token()}"}) as client:
        yield client


@pytest.mark.parametrize(("body", "field"), [
    ({"webhook_url": "http://169.254.169.254/latest/meta-data"}, "webhook_url"),
    ({"event_hooks": [{"webhook_url": "https://example.com/ok"}, {"webhook_url": "http://127.1:8080/x"}]},
     "event_hooks.1.webhook_url"),
    ({"event_hooks": [{"webhook_url": "http://[::1]/x"}]}, "event_hooks.0.webhook_url"),
    ({"event_hooks": [{"webhook_url": "http://localhost:5432/"}]}, "event_hooks.0.webhook_url"),
])
def test_private_webhook_urls_are_refused(admin: httpx.Client, body: dict, field: str) -> None:
    error = assert_error(admin.patch("/app", json=body), 400, ErrorCode.INPUT_ERROR)
    assert field in error["exception_fields"], error
    assert admin.get("/app").json()["app"]["event_hooks"] == []


def test_public_webhook_urls_are_kept(admin: httpx.Client) -> None:
    app = admin.patch("/app", json={"event_hooks": [{"webhook_url": "https://example.com/hook"}]})
    assert app.status_code == 200, app.text
    assert admin.patch("/app", json={"event_hooks": []}).status_code == 200


def test_private_push_destinations_are_refused(admin: httpx.Client) -> None:
    account, _ = service_account("https://oauth2.googleapis.com/token")
    private_token_uri, _ = service_account("http://10.0.0.7/token")
    for provider, field in [
        ({"type": "firebase", "firebase_credentials": account, "firebase_host": "http://192.168.0.10"},
         "push_provider.firebase_host"),
        ({"type": "firebase", "firebase_credentials": private_token_uri}, "push_provider.firebase_credentials"),
        ({"type": "apn", "apn_key": "x", "apn_key_id": "K", "apn_team_id": "T", "apn_topic": "t",
          "apn_host": "http://localhost:2197"}, None),  # refused too (its key is checked first)
    ]:
        response = admin.post("/push_providers", json={"push_provider": {"name": "p-" + uuid.uuid4().hex[:6],
                                                                         **provider}})
        error = assert_error(response, 400, ErrorCode.INPUT_ERROR)
        if field:
            assert field in error["exception_fields"], error
    assert admin.get("/push_providers").json()["push_providers"] == []


async def test_a_delivery_is_checked_after_resolution_and_fails(guarded: RunningServer, admin: httpx.Client) -> None:
    """A stored URL that leads to a loopback address (as a name resolving there would) is never sent to: the
    delivery fails after the retry policy's attempts."""
    receiver = Receiver(guarded.api_secret)
    db = Database(guarded.database_url)
    try:
        async with db.transaction() as session:  # as if set while allowed, or a name that resolves privately now
            stamp = now()
            store_hooks(await locked_settings(session), [EventHook(
                id="sneaky", webhook_url=receiver.url, enabled=True, event_types=["call.created"], created_at=stamp,
                updated_at=stamp)], stamp)
        call_id = uuid.uuid4().hex[:10]
        admin.post(f"/video/call/default/{call_id}", json={"data": {"created_by_id": "ssrf"}}).raise_for_status()
        deadline = time.monotonic() + 30
        while True:
            async with db.read() as session:
                rows = (await session.scalars(select(WebhookDeliveryRow).where(
                    WebhookDeliveryRow.endpoint_id == "sneaky"))).all()
            if rows and all(row.status == "failed" for row in rows):
                break
            assert time.monotonic() < deadline, "the delivery did not fail"
            await asyncio.sleep(0.1)
        retries = RetryPolicy().max_attempts(Outcome(error="network"))
        assert [(row.attempts, "loopback address: not sent" in (row.last_error or "")) for row in rows] == [
            (retries, True)], "a network error's attempts, then failed"
        assert receiver.received == []
    finally:
        admin.patch("/app", json={"event_hooks": []})
        receiver.close()
        await db.close()


async def test_the_outbound_client_resolves_then_checks() -> None:
    """``localhost`` resolves to loopback: refused by default, reached when private destinations are allowed."""
    receiver = Receiver("secret")
    url = receiver.url.replace("127.0.0.1", "localhost")
    try:
        async with outbound_client(allow_private=False) as client:
            with pytest.raises(httpx.ConnectError, match="loopback address: not sent"):
                await client.post(url, content=b"{}")
        async with outbound_client(allow_private=True) as client:
            assert (await client.post(url, content=b"{}")).status_code == 401  # reached: the signature is wrong
    finally:
        receiver.close()
