"""The dashboard's API: sign-in for a short server token, and the webhook outbox's delivery log, test deliveries
and retries (delivered by the real worker to a receiver on loopback)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import jwt
import pytest

from tests.conftest import RunningServer, assert_error
from tests.test_webhooks import Receiver, wait_until
from weir.protocol.dashboard import DASHBOARD_TOKEN_TTL_SECONDS


def _session(server: RunningServer, body: dict[str, object], token: str | None = None,
             api_key: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{server.base_url}/api/v1/dashboard/session", json=body, headers=headers,
                      params={"api_key": api_key or server.api_key}, timeout=30)


def test_sign_in_gives_an_hour_long_server_token_for_the_secret_or_an_admin(
    server: RunningServer, api: httpx.Client, uid: Callable[[str], str],
) -> None:
    answer = _session(server, {"api_secret": server.api_secret})
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["signed_in_as"] == "api_secret" and body["expires_in"] == DASHBOARD_TOKEN_TTL_SECONDS
    claims = jwt.decode(body["token"], server.api_secret, algorithms=["HS256"])
    assert "user_id" not in claims, "a server token"
    assert 0 <= claims["exp"] - time.time() <= DASHBOARD_TOKEN_TTL_SECONDS + 1
    app = httpx.get(f"{server.base_url}/api/v1/app", params={"api_key": server.api_key},
                    headers={"Authorization": body["token"]}, timeout=30)
    assert app.status_code == 200, app.text

    assert_error(_session(server, {"api_secret": server.api_secret + "x"}), 401, 5)
    assert_error(_session(server, {"api_secret": server.api_secret}, api_key="wrong"), 401, 2)
    assert_error(_session(server, {"api_secret": server.api_secret, "user_id": "x"}), 400, 4)

    admin, plain = uid("admin"), uid("plain")
    upsert = api.post("/users", json={"users": {admin: {"id": admin, "role": "admin"}, plain: {"id": plain}}})
    assert upsert.status_code == 200, upsert.text
    as_admin = _session(server, {}, token=server.token(admin))
    assert as_admin.status_code == 200, as_admin.text
    assert as_admin.json()["signed_in_as"] == admin
    assert_error(_session(server, {}, token=server.token(plain)), 403, 17)
    assert_error(_session(server, {}), 401, 5)


@pytest.fixture
def failing_then_ok(server: RunningServer, api: httpx.Client) -> Iterator[tuple[Receiver, str]]:
    """An endpoint that fails a delivery's first three attempts, as the app's only event hook."""
    receiver = Receiver(server.api_secret, statuses=(500, 500, 500))
    answer = api.patch("/app", json={"event_hooks": [{"webhook_url": receiver.url, "event_types": ["call.deleted"]}]})
    assert answer.status_code == 200, answer.text
    try:
        yield receiver, answer.json()["app"]["event_hooks"][0]["id"]
    finally:
        api.patch("/app", json={"event_hooks": []})
        receiver.close()


def test_a_test_delivery_fails_is_logged_and_a_retry_delivers_it(
    api: httpx.Client, failing_then_ok: tuple[Receiver, str],
) -> None:
    receiver, hook_id = failing_then_ok
    answer = api.post(f"/app/event_hooks/{hook_id}/test")
    assert answer.status_code == 201, answer.text
    delivery = answer.json()["delivery"]
    assert delivery["event_type"] == "app.test" and delivery["status"] == "pending"
    assert delivery["endpoint_id"] == hook_id and delivery["url"] == receiver.url

    def logged() -> dict[str, Any]:
        rows = api.get("/app/webhook_deliveries", params={"endpoint_id": hook_id}).json()["deliveries"]
        return next(row for row in rows if row["id"] == delivery["id"])

    wait_until(lambda: logged()["status"] == "failed", "the test delivery to fail three times")
    failed = logged()
    assert failed["attempts"] == 3 and "500" in (failed["last_error"] or ""), failed
    assert failed["next_attempt_at"] is None
    assert [r.answer for r in receiver.received] == [500, 500, 500]
    assert receiver.received[0].event["type"] == "app.test"
    listed = api.get("/app/webhook_deliveries", params={"status": "failed", "limit": 100}).json()["deliveries"]
    assert delivery["id"] in {row["id"] for row in listed}
    assert all(row["status"] == "failed" for row in listed)

    retried = api.post(f"/app/webhook_deliveries/{delivery['id']}/retry")
    assert retried.status_code == 200, retried.text
    assert retried.json()["delivery"]["status"] == "pending"
    wait_until(lambda: logged()["status"] == "delivered", "the retried delivery to arrive")
    assert logged()["attempts"] == 4
    last = receiver.received[-1]
    assert last.answer == 200 and last.attempt == 4 and last.webhook_id == delivery["id"]
    assert_error(api.post(f"/app/webhook_deliveries/{delivery['id']}/retry"), 400, 4)


def test_delivery_log_errors(api: httpx.Client, user_api: Callable[..., httpx.Client],
                             uid: Callable[[str], str]) -> None:
    assert_error(api.post(f"/app/event_hooks/{uid('none')}/test"), 404, 16)
    assert_error(api.post(f"/app/webhook_deliveries/{uid('none')}/retry"), 404, 16)
    assert_error(api.get("/app/webhook_deliveries", params={"limit": 101}), 400, 4)
    assert_error(api.get("/app/webhook_deliveries", params={"status": "lost"}), 400, 4)
    assert_error(user_api(uid("u")).get("/app/webhook_deliveries"), 403, 17)
