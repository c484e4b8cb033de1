"""``user.*`` events reach the user's own sockets; deactivation and deletion close them."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.conftest import RunningServer
from tests.realtime import connect_user


async def test_profile_ban_and_deactivation_events(
    server: RunningServer, api: httpx.Client, uid: Callable[[str], str]
) -> None:
    user_id, other = uid("u"), uid("other")
    me, bystander = await connect_user(server, user_id), await connect_user(server, other)
    api.post("/users", json={"users": {user_id: {"id": user_id, "name": "New Name"}}}).raise_for_status()
    assert (await me.wait_for("user.updated"))["user"]["name"] == "New Name"
    api.post("/moderation/ban", json={"target_user_id": user_id, "reason": "spam", "timeout": 5}).raise_for_status()
    banned = await me.wait_for("user.banned")
    assert banned["reason"] == "spam" and banned["expiration"] is not None
    api.post("/moderation/unban", params={"target_user_id": user_id}).raise_for_status()
    await me.wait_for("user.unbanned")
    await bystander.assert_no("user.banned")

    api.post(f"/users/{user_id}/deactivate").raise_for_status()
    assert (await me.wait_for("user.deactivated"))["user"]["id"] == user_id
    with pytest.raises(ConnectionClosed):
        await me.next_event()
    assert me.ws.close_code == 1008
    await bystander.close()


async def test_deleted_users_are_disconnected(
    server: RunningServer, api: httpx.Client, uid: Callable[[str], str]
) -> None:
    user_id = uid("u")
    me = await connect_user(server, user_id)
    api.post("/users/delete", json={"user_ids": [user_id]}).raise_for_status()
    deleted = await me.wait_for("user.deleted")
    assert deleted["hard_delete"] is False
    with pytest.raises(ConnectionClosed):
        await me.next_event()
