"""Tokens don't outlive their users: hard-deleted users' tokens are refused, and revoke_tokens_issued_before
(per user and per app) can be set through the API and is honoured. Token user ids follow the id rules."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import httpx
import pytest

from tests.conftest import RunningServer, _client, assert_error
from tests.tasks import run_task
from weir.protocol.errors import ErrorCode
from weir.server import Client

LATER = 8  # seconds: a token made "later" (its iat is 5 s before its making, see domain.tokens)


def stamp() -> str:
    return datetime.now(UTC).isoformat()


def whoami(server: RunningServer, token: str) -> httpx.Response:
    with _client(server, token) as client:
        return client.get("/video/call/default/no-such-call")  # 404 once authenticated, 401 if refused


def test_hard_deleted_users_tokens_are_refused(server: RunningServer, api: httpx.Client, uid: Callable[[str], str]
                                               ) -> None:
    user = uid("gone")
    old = server.token(user)
    assert whoami(server, old).status_code == 404
    run_task(api, api.post("/users/delete", json={"user_ids": [user], "user": "hard"}))
    assert "revoked" in assert_error(whoami(server, old), 401, ErrorCode.AUTH_FAILED)["message"]
    assert_error(api.post("/users/deactivate", json={"user_ids": [user]}), 404)  # not silently created again
    api.post("/users", json={"users": {user: {"id": user, "name": "Back"}}}).raise_for_status()
    assert_error(whoami(server, old), 401, ErrorCode.AUTH_FAILED)  # nor once the id is used again
    assert whoami(server, server.token(user, now=time.time() + LATER)).status_code == 404


def test_user_revocation_is_set_kept_and_lifted_through_the_api(
    server: RunningServer, api: httpx.Client, uid: Callable[[str], str],
) -> None:
    user = uid("rev")
    old = server.token(user)
    assert whoami(server, old).status_code == 404
    updated = api.patch("/users", json={"users": [{"id": user, "set": {"revoke_tokens_issued_before": stamp()}}]})
    assert updated.json()["users"][user]["revoke_tokens_issued_before"] is not None, updated.text
    assert_error(whoami(server, old), 401, ErrorCode.AUTH_FAILED)
    assert whoami(server, server.token(user, now=time.time() + LATER)).status_code == 404
    api.post("/users", json={"users": {user: {"id": user, "name": "Synced"}}}).raise_for_status()
    assert_error(whoami(server, old), 401, ErrorCode.AUTH_FAILED)  # a profile sync keeps the revocation
    api.patch("/users", json={"users": [{"id": user, "unset": ["revoke_tokens_issued_before"]}]}).raise_for_status()
    assert whoami(server, old).status_code == 404
    api.post("/users", json={"users": {user: {"id": user, "revoke_tokens_issued_before": stamp()}}}
             ).raise_for_status()
    assert_error(whoami(server, old), 401, ErrorCode.AUTH_FAILED)


@pytest.fixture
def app_revocation(api: httpx.Client) -> Iterator[None]:
    yield
    api.patch("/app", json={"revoke_tokens_issued_before": None}).raise_for_status()


def test_app_revocation_refuses_older_user_tokens(
    server: RunningServer, api: httpx.Client, uid: Callable[[str], str], app_revocation: None,
) -> None:
    user = uid("app-rev")
    old, anonymous = server.token(user), server.token("!anon", call_cids=["default:x"])
    assert whoami(server, old).status_code == 404
    with Client(server.api_key, server.api_secret, server.base_url) as sdk:  # the server SDK sets it, typed
        updated = sdk.update_app(revoke_tokens_issued_before=datetime.now(UTC))
    assert updated.data["app"]["revoke_tokens_issued_before"] is not None
    assert api.get("/app").json()["app"]["revoke_tokens_issued_before"] is not None
    assert_error(whoami(server, old), 401, ErrorCode.AUTH_FAILED)
    assert_error(whoami(server, anonymous), 401, ErrorCode.AUTH_FAILED)
    assert whoami(server, server.token(user, now=time.time() + LATER)).status_code == 404
    assert whoami(server, server.token()).status_code == 404  # server tokens rest on the secret alone
    with Client(server.api_key, server.api_secret, server.base_url) as sdk:
        sdk.update_app(revoke_tokens_issued_before=None)
    assert whoami(server, old).status_code == 404


def test_app_revocation_in_the_future_is_refused_and_changes_nothing(api: httpx.Client) -> None:
    """A date ahead would refuse every token issued until then, new ones included: one call could lock out
    everyone for centuries (fuzzing found 2664)."""
    before = api.get("/app").json()["app"]
    response = api.patch("/app", json={"revoke_tokens_issued_before": "2664-02-09T00:00:59Z", "event_hooks": []})
    assert_error(response, 400, 4)
    assert "revoke_tokens_issued_before" in response.text
    assert api.get("/app").json()["app"] == before


@pytest.mark.parametrize("user_id", ["nul\x00id", "x" * 10_000, "tab\tid", "line\n", "", "spa ce"])
def test_token_user_ids_follow_the_id_rules(server: RunningServer, user_id: str) -> None:
    body = assert_error(whoami(server, server.token(user_id)), 401, ErrorCode.AUTH_FAILED)
    assert "user_id" in body["message"]
