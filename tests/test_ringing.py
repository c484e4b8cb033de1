"""Ringing: ring, accept, reject, cancel, timeouts and missed calls, blocked callers, notify."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.conftest import RunningServer, assert_error
from tests.realtime import connect_user
from weir.protocol.errors import ErrorCode

# The shortest timeouts the API allows, staggered: the callee's ring times out, then the caller gives up,
# then whoever never answered has missed the call.
FAST_RING = {"ring": {"incoming_call_timeout_ms": 5000, "auto_cancel_timeout_ms": 5500,
                      "missed_call_timeout_ms": 6000}}


def ring_call(client: httpx.Client, path: str, members: list[str], **flags: object) -> httpx.Response:
    body = {"ring": True, "video": True, **flags, "data": {"members": [{"user_id": m} for m in members]}}
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    return response


async def test_ring_and_accept(
    server: RunningServer, user_api: Callable[..., httpx.Client], uid: Callable[[str], str]
) -> None:
    caller, bob, carol = uid("caller"), uid("bob"), uid("carol")
    caller_ws, bob_ws, carol_ws = [await connect_user(server, u) for u in (caller, bob, carol)]
    path = f"/video/call/default/{uid('c')}"
    ring_call(user_api(caller), path, [caller, bob, carol])
    for ws in (bob_ws, carol_ws):
        ring = await ws.wait_for("call.ring")
        assert ring["user"]["id"] == caller and ring["video"] is True and ring["session_id"]
        assert {m["user_id"] for m in ring["members"]} == {bob, carol}
    await caller_ws.assert_no("call.ring")
    user_api(bob).post(f"{path}/accept").raise_for_status()
    accepted = await caller_ws.wait_for("call.accepted")
    assert accepted["user"]["id"] == bob
    session = user_api(caller).get(path).json()["call"]["session"]
    assert set(session["accepted_by"]) == {bob}
    assert_error(user_api(uid("stranger")).post(f"{path}/accept"), 400, ErrorCode.INPUT_ERROR)
    for ws in (caller_ws, bob_ws, carol_ws):
        await ws.close()


async def test_every_callee_rejects_and_the_call_ends(
    server: RunningServer, user_api: Callable[..., httpx.Client], uid: Callable[[str], str]
) -> None:
    caller, bob = uid("caller"), uid("bob")
    caller_ws, bob_ws = await connect_user(server, caller), await connect_user(server, bob)
    path = f"/video/call/default/{uid('c')}"
    ring_call(user_api(caller), path, [caller, bob])
    await bob_ws.wait_for("call.ring")
    user_api(bob).post(f"{path}/reject", json={"reason": "busy"}).raise_for_status()
    rejected = await caller_ws.wait_for("call.rejected")
    assert rejected["user"]["id"] == bob and rejected["reason"] == "busy"
    ended = await caller_ws.wait_for("call.ended")
    assert ended["reason"] == "rejected"
    assert_error(user_api(bob).post(f"{path}/reject", json={"reason": "nope"}), 400, ErrorCode.INPUT_ERROR)
    await caller_ws.close()
    await bob_ws.close()


async def test_caller_cancels(
    server: RunningServer, user_api: Callable[..., httpx.Client], uid: Callable[[str], str]
) -> None:
    caller, bob = uid("caller"), uid("bob")
    bob_ws = await connect_user(server, bob)
    path = f"/video/call/default/{uid('c')}"
    ring_call(user_api(caller), path, [caller, bob])
    await bob_ws.wait_for("call.ring")
    user_api(caller).post(f"{path}/reject", json={"reason": "cancel"}).raise_for_status()
    cancelled = await bob_ws.wait_for("call.rejected")
    assert cancelled["user"]["id"] == caller and cancelled["reason"] == "cancel"
    await bob_ws.assert_no("call.ended")
    await bob_ws.close()


async def test_blocked_callers_and_self_rings(
    server: RunningServer, api: httpx.Client, user_api: Callable[..., httpx.Client], uid: Callable[[str], str]
) -> None:
    caller, bob, carol = uid("caller"), uid("bob"), uid("carol")
    carol_ws = await connect_user(server, carol)
    path = f"/video/call/default/{uid('c')}"
    ring_call(user_api(caller), path, [caller, bob, carol], ring=False)
    user_api(carol).post("/users/block", json={"blocked_user_id": caller}).raise_for_status()
    rung = user_api(caller).post(f"{path}/ring", json={"video": False})
    assert rung.status_code == 200, rung.text
    assert rung.json()["members_ids"] == [bob], "carol blocked the caller; the caller isn't rung"
    await carol_ws.assert_no("call.ring")
    assert_error(user_api(caller).post(f"{path}/ring", json={"user_ids": [caller]}), 400, ErrorCode.INPUT_ERROR)
    assert_error(user_api(caller).post(f"{path}/ring", json={"user_ids": [uid("x")]}), 400, ErrorCode.INPUT_ERROR)
    await carol_ws.close()


async def test_ring_once_per_get_or_create_and_ring_again(
    server: RunningServer, user_api: Callable[..., httpx.Client], uid: Callable[[str], str]
) -> None:
    caller, bob = uid("caller"), uid("bob")
    bob_ws = await connect_user(server, bob)
    path = f"/video/call/default/{uid('c')}"
    ring_call(user_api(caller), path, [caller, bob])
    first = await bob_ws.wait_for("call.ring")
    ring_call(user_api(caller), path, [caller, bob])
    await bob_ws.assert_no("call.ring")
    user_api(caller).post(f"{path}/ring", json={"user_ids": [bob]}).raise_for_status()
    again = await bob_ws.wait_for("call.ring")
    assert again["session_id"] == first["session_id"] and again["video"] is False
    await bob_ws.close()


async def test_notify_sends_call_notification(
    server: RunningServer, user_api: Callable[..., httpx.Client], uid: Callable[[str], str]
) -> None:
    caller, bob = uid("caller"), uid("bob")
    caller_ws, bob_ws = await connect_user(server, caller), await connect_user(server, bob)
    path = f"/video/call/livestream/{uid('c')}"
    ring_call(user_api(caller), path, [caller, bob], ring=False, notify=True)
    note = await bob_ws.wait_for("call.notification")
    assert note["user"]["id"] == caller and [m["user_id"] for m in note["members"]] == [bob]
    await bob_ws.assert_no("call.ring")
    await caller_ws.assert_no("call.notification")
    await caller_ws.close()
    await bob_ws.close()


async def test_timeouts_and_missed_calls(
    server: RunningServer, api: httpx.Client, user_api: Callable[..., httpx.Client], uid: Callable[[str], str]
) -> None:
    call_type = uid("ring").replace("-", "_")
    api.post("/video/calltypes", json={"name": call_type, "settings": FAST_RING}).raise_for_status()
    caller, online, offline = uid("caller"), uid("online"), uid("offline")
    caller_ws, online_ws = await connect_user(server, caller), await connect_user(server, online)
    path = f"/video/call/{call_type}/{uid('c')}"
    ring_call(user_api(caller), path, [caller, online, offline])
    await online_ws.wait_for("call.ring")

    missed = await online_ws.wait_for("call.missed", timeout=12)
    assert missed["user"]["id"] == caller and missed["notify_user"] is True
    assert {m["user_id"] for m in missed["members"]} == {online, offline}
    timeouts = {(e["user"]["id"], e["reason"]) for e in online_ws.seen if e["type"] == "call.rejected"}
    assert (online, "timeout") in timeouts, "the online callee's ring timed out"
    assert (caller, "timeout") in timeouts, "the caller gave up: auto-cancel"
    assert (offline, "timeout") not in timeouts, "only online callees time out"
    session = api.get(path).json()["call"]["session"]
    assert set(session["missed_by"]) == {online, offline} and session["rejected_by"] == {}
    await caller_ws.close()
    await online_ws.close()


async def test_strangers_cannot_ring_and_a_ring_cannot_be_taken_over(
    server: RunningServer, api: httpx.Client, user_api: Callable[..., httpx.Client], uid: Callable[[str], str]
) -> None:
    caller, bob, carol, stranger = uid("caller"), uid("bob"), uid("carol"), uid("stranger")
    bob_ws = await connect_user(server, bob)
    path = f"/video/call/default/{uid('c')}"
    ring_call(user_api(caller), path, [caller, bob, carol])
    assert (await bob_ws.wait_for("call.ring"))["user"]["id"] == caller
    # A stranger may join a default call, but neither rings it nor takes the ring over, by either route.
    assert_error(user_api(stranger).post(f"{path}/ring", json={}), 403, ErrorCode.NOT_ALLOWED)
    assert_error(user_api(stranger).post(f"{path}/ring", json={"user_ids": [bob]}), 403, ErrorCode.NOT_ALLOWED)
    other = f"/video/call/default/{uid('c2')}"
    ring_call(user_api(caller), other, [caller, bob], ring=False)
    assert_error(user_api(stranger).post(other, json={"ring": True}), 403, ErrorCode.NOT_ALLOWED)
    # A member doesn't take over a ring in progress either, and only its caller cancels it.
    assert_error(user_api(carol).post(f"{path}/ring", json={"user_ids": [bob]}), 403, ErrorCode.NOT_ALLOWED)
    assert_error(user_api(stranger).post(f"{path}/reject", json={"reason": "cancel"}), 400, ErrorCode.INPUT_ERROR)
    await bob_ws.assert_no("call.ring")
    await bob_ws.assert_no("call.rejected")
    user_api(bob).post(f"{path}/accept").raise_for_status()
    assert api.get(path).json()["call"]["session"]["accepted_by"].keys() == {bob}
    # Once everyone rung has answered, a member may ring (carol rings bob into the call again).
    user_api(carol).post(f"{path}/reject", json={"reason": "busy"}).raise_for_status()
    user_api(carol).post(f"{path}/ring", json={"user_ids": [bob]}).raise_for_status()
    assert (await bob_ws.wait_for("call.ring"))["user"]["id"] == carol
    await bob_ws.close()
