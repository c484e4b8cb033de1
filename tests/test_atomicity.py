"""A request that fails after its first write leaves nothing behind, on SQLite as on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.conftest import assert_error


def test_failed_create_leaves_no_call_and_no_members(
    api: httpx.Client, user_api: Callable[..., httpx.Client], uid: Callable[[str], str],
) -> None:
    alice, bob, call_id = uid("alice"), uid("bob"), uid("atomic")
    client = user_api(alice)
    assert client.get("/video/call/default/none-such").status_code == 404  # alice's row now exists
    # The call row and its members are written, then the unknown connection_id fails the request.
    body = {"data": {"members": [{"user_id": alice}, {"user_id": bob}], "custom": {"k": 1}}}
    response = client.post(f"/video/call/default/{call_id}", params={"connection_id": "no-such"}, json=body)
    assert_error(response, 400)
    assert "connection_id" in response.json()["message"]
    assert_error(api.get(f"/video/call/default/{call_id}"), 404)
    found = api.post("/video/calls", json={"filter_conditions": {"id": call_id}}).json()
    assert found["calls"] == []
    # Nothing half-written blocks a clean retry either.
    retry = client.post(f"/video/call/default/{call_id}", json=body)
    assert retry.status_code == 201 or retry.status_code == 200, retry.text
    assert retry.json()["created"] is True
    assert sorted(m["user_id"] for m in retry.json()["members"]) == sorted([alice, bob])
