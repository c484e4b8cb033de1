"""Call events over the WebSocket: members and watchers receive them, other users don't."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.conftest import RunningServer, assert_error
from tests.realtime import connect_user
from weir.protocol.errors import ErrorCode


async def test_members_watchers_and_strangers(
    server: RunningServer, api: httpx.Client, user_api: Callable[..., httpx.Client], uid: Callable[[str], str]
) -> None:
    member, watcher, stranger = uid("member"), uid("watcher"), uid("stranger")
    member_ws, watcher_ws, stranger_ws = [await connect_user(server, u) for u in (member, watcher, stranger)]
    call_id = uid("c")
    path = f"/video/call/default/{call_id}"
    created = api.post(path, json={"data": {"created_by_id": "owner", "members": [{"user_id": member}]}})
    assert created.status_code == 200, created.text

    event = await member_ws.wait_for("call.created")
    assert event["call_cid"] == f"default:{call_id}" and event["call"]["id"] == call_id
    assert [m["user_id"] for m in event["members"]] == [member]

    watched = user_api(watcher).get(path, params={"connection_id": watcher_ws.connection_id})
    assert watched.status_code == 200, watched.text
    api.patch(path, json={"custom": {"topic": "events"}}).raise_for_status()
    for client in (member_ws, watcher_ws):
        updated = await client.wait_for("call.updated")
        assert updated["call"]["custom"] == {"topic": "events"}
        assert "send-audio" in updated["capabilities_by_role"]["user"]
    await stranger_ws.assert_no("call.updated")

    api.post(f"{path}/mark_ended").raise_for_status()
    for client in (member_ws, watcher_ws):
        assert (await client.wait_for("call.ended"))["call"]["ended_at"] is not None
    await stranger_ws.assert_no("call.ended")
    for client in (member_ws, watcher_ws, stranger_ws):
        await client.close()


async def test_member_and_moderation_events(
    server: RunningServer, api: httpx.Client, uid: Callable[[str], str]
) -> None:
    owner, guest = uid("owner"), uid("guest")
    owner_ws, guest_ws = await connect_user(server, owner), await connect_user(server, guest)
    path = f"/video/call/default/{uid('c')}"
    api.post(path, json={"data": {"created_by_id": owner, "members": [{"user_id": owner, "role": "host"}]}})
    await owner_ws.wait_for("call.created")

    api.post(f"{path}/members", json={"update_members": [{"user_id": guest}]}).raise_for_status()
    added = await guest_ws.wait_for("call.member_added")
    assert [m["user_id"] for m in added["members"]] == [guest]
    assert (await owner_ws.wait_for("call.member_added"))["members"][0]["role"] == "call_member"

    api.post(f"{path}/members", json={"update_members": [{"user_id": guest, "role": "moderator"}]})
    assert (await owner_ws.wait_for("call.member_updated"))["members"][0]["role"] == "moderator"
    permission = await guest_ws.wait_for("call.member_updated_permission")
    assert permission["members"][0]["user_id"] == guest
    assert "mute-users" in permission["capabilities_by_role"]["moderator"]

    api.post(f"{path}/block", json={"user_id": guest}).raise_for_status()
    blocked = await guest_ws.wait_for("call.blocked_user")
    assert blocked["user"]["id"] == guest and blocked["blocked_by_user"] is None, "a server token blocks as nobody"
    api.post(f"{path}/unblock", json={"user_id": guest}).raise_for_status()
    assert (await guest_ws.wait_for("call.unblocked_user"))["user"]["id"] == guest

    api.post(f"{path}/kick", json={"user_id": guest}).raise_for_status()
    assert (await owner_ws.wait_for("call.kicked_user"))["user"]["id"] == guest

    api.post(f"{path}/members", json={"remove_members": [guest]}).raise_for_status()
    removed = await guest_ws.wait_for("call.member_removed")
    assert removed["members"] == [guest], "the removed member is told too"

    api.post(f"{path}/delete").raise_for_status()
    assert (await owner_ws.wait_for("call.deleted"))["call"]["id"] == path.rsplit("/", 1)[1]
    await guest_ws.assert_no("call.deleted")
    await owner_ws.close()
    await guest_ws.close()


async def test_watching_needs_your_own_connection(
    server: RunningServer, api: httpx.Client, user_api: Callable[..., httpx.Client], uid: Callable[[str], str]
) -> None:
    alice, bob = uid("alice"), uid("bob")
    alice_ws = await connect_user(server, alice)
    path = f"/video/call/default/{uid('c')}"
    api.post(path, json={"data": {"created_by_id": alice}}).raise_for_status()
    response = user_api(bob).get(path, params={"connection_id": alice_ws.connection_id})
    assert_error(response, 400, ErrorCode.INPUT_ERROR)
    assert "connection_id" in response.json()["exception_fields"]
    await alice_ws.close()


async def test_a_failed_request_emits_nothing(
    server: RunningServer, api: httpx.Client, user_api: Callable[..., httpx.Client], uid: Callable[[str], str]
) -> None:
    member = uid("member")
    member_ws = await connect_user(server, member)
    path = f"/video/call/default/{uid('c')}"
    api.post(path, json={"data": {"created_by_id": "owner", "members": [{"user_id": member}]}})
    await member_ws.wait_for("call.created")
    assert_error(user_api(member).patch(path, json={"custom": {"x": 1}}), 403, ErrorCode.NOT_ALLOWED)
    await member_ws.assert_no("call.updated")
    await member_ws.close()
