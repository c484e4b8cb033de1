"""Sessions, participants, backstage and the duration timer, through the real server and WebSocket events."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx

from tests.conftest import RunningServer, assert_error
from tests.realtime import connect_user
from weir.protocol.errors import ErrorCode


def join(client: httpx.Client, path: str, **body: object) -> httpx.Response:
    return client.post(f"{path}/join", json=body)


async def test_session_starts_at_first_join_and_ends_with_the_last(
    server: RunningServer, api: httpx.Client, user_api: Callable[..., httpx.Client], uid: Callable[[str], str]
) -> None:
    alice, bob = uid("alice"), uid("bob")
    alice_ws, bob_ws = await connect_user(server, alice), await connect_user(server, bob)
    path = f"/video/call/default/{uid('c')}"
    api.post(path, json={"data": {"created_by_id": alice, "members": [{"user_id": alice}, {"user_id": bob}]}})

    first = join(user_api(alice), path)
    assert first.status_code == 200, first.text
    session_id = first.json()["session_id"]
    assert (await bob_ws.wait_for("call.session_started"))["session_id"] == session_id
    joined = await bob_ws.wait_for("call.session_participant_joined")
    assert joined["participant"]["user"]["id"] == alice and joined["participant"]["role"] == "call_member"
    counts = await bob_ws.wait_for("call.session_participant_count_updated")
    assert counts["participants_count_by_role"] == {"call_member": 1}

    second = join(user_api(bob), path)
    assert second.json()["session_id"] == session_id, "one session while anyone is in the call"
    session = second.json()["call"]["session"]
    assert {p["user"]["id"] for p in session["participants"]} == {alice, bob}
    assert session["started_at"] is not None and session["ended_at"] is None

    user_api(alice).post(f"{path}/leave", json={"user_session_id": first.json()["user_session_id"]}).raise_for_status()
    left = await bob_ws.wait_for("call.session_participant_left")
    assert left["participant"]["user"]["id"] == alice and left["duration_seconds"] >= 0
    await bob_ws.assert_no("call.session_ended")
    assert_error(user_api(alice).post(f"{path}/leave", json={"user_session_id": second.json()["user_session_id"]}),
                 404, ErrorCode.NOT_FOUND)
    user_api(bob).post(f"{path}/leave", json={"user_session_id": second.json()["user_session_id"]}).raise_for_status()
    assert (await alice_ws.wait_for("call.session_ended"))["session_id"] == session_id

    third = join(user_api(bob), path)
    assert third.json()["session_id"] != session_id, "a new session after the last one ended"
    for ws in (alice_ws, bob_ws):
        await ws.close()


async def test_join_checks(
    server: RunningServer, api: httpx.Client, user_api: Callable[..., httpx.Client], uid: Callable[[str], str]
) -> None:
    owner, guest, blocked = uid("owner"), uid("guest"), uid("blocked")
    path = f"/video/call/default/{uid('c')}"
    api.post(path, json={"data": {"created_by_id": owner, "settings_override": {"limits": {"max_participants": 1}}}})
    assert join(user_api(owner), path).status_code == 200
    assert_error(join(user_api(guest), path), 403, ErrorCode.CALL_FULL)
    api.post(f"{path}/block", json={"user_id": blocked}).raise_for_status()
    assert_error(join(user_api(blocked), path), 403, ErrorCode.NOT_ALLOWED)
    assert_error(api.post(f"{path}/join", json={}), 403, ErrorCode.NOT_ALLOWED)
    assert_error(join(user_api(guest), f"/video/call/default/{uid('missing')}"), 404, ErrorCode.NOT_FOUND)
    created = join(user_api(guest), f"/video/call/default/{uid('new')}", create=True)
    assert created.status_code == 200 and created.json()["created"] is True


async def test_a_join_answers_with_the_session_as_stored(
    server: RunningServer, api: httpx.Client, user_api: Callable[..., httpx.Client], uid: Callable[[str], str]
) -> None:
    """The answer's participants are the ones the join counted, as a later read shows them: a repeated join
    replaces the user's earlier one that never reached the SFU."""
    alice, bob = uid("alice"), uid("bob")
    path = f"/video/call/default/{uid('c')}"
    api.post(path, json={"data": {"created_by_id": alice}}).raise_for_status()
    join(user_api(alice), path).raise_for_status()
    join(user_api(bob), path).raise_for_status()
    again = join(user_api(bob), path)
    assert again.status_code == 200, again.text
    answered = again.json()["call"]["session"]
    assert [p["user"]["id"] for p in answered["participants"]] == [alice, bob]
    assert answered["participants"][-1]["user_session_id"] == again.json()["user_session_id"]
    stored = api.get(path).json()["call"]["session"]
    assert answered["participants"] == stored["participants"]
    assert answered["participants_count_by_role"] == stored["participants_count_by_role"]


async def test_a_join_that_fails_creates_no_call(
    server: RunningServer, api: httpx.Client, user_api: Callable[..., httpx.Client], uid: Callable[[str], str]
) -> None:
    """Get-or-create and the join are one transaction: a creator the call type does not let join leaves no call."""
    call_type = uid("nojoin").replace("-", "_")
    api.post("/video/calltypes", json={"name": call_type, "grants": {
        "user": ["create-call", "read-call"], "host": ["read-call"]}}).raise_for_status()
    path = f"/video/call/{call_type}/{uid('c')}"
    assert_error(join(user_api(uid("creator")), path, create=True), 403, ErrorCode.NOT_ALLOWED)
    assert_error(api.get(path), 404, ErrorCode.NOT_FOUND)


async def test_backstage_and_go_live(
    server: RunningServer, api: httpx.Client, user_api: Callable[..., httpx.Client], uid: Callable[[str], str]
) -> None:
    host, viewer = uid("host"), uid("viewer")
    viewer_ws = await connect_user(server, viewer)
    path = f"/video/call/livestream/{uid('c')}"
    created = api.post(path, json={"data": {"created_by_id": host}})
    assert created.json()["call"]["backstage"] is True
    user_api(viewer).get(path, params={"connection_id": viewer_ws.connection_id}).raise_for_status()

    assert join(user_api(host), path).status_code == 200, "the creator (host) joins backstage"
    assert_error(join(user_api(viewer), path), 403, ErrorCode.NOT_ALLOWED)
    assert_error(user_api(viewer).post(f"{path}/go_live"), 403, ErrorCode.NOT_ALLOWED)

    user_api(host).post(f"{path}/go_live").raise_for_status()
    live = await viewer_ws.wait_for("call.live_started")
    assert live["call"]["backstage"] is False and live["call"]["session"]["live_started_at"] is not None
    assert (await viewer_ws.wait_for("call.updated"))["call"]["backstage"] is False
    assert join(user_api(viewer), path).status_code == 200

    user_api(host).post(f"{path}/stop_live").raise_for_status()
    updated = await viewer_ws.wait_for("call.updated")
    assert updated["call"]["backstage"] is True
    await viewer_ws.close()


async def test_join_ahead_of_starts_at(
    api: httpx.Client, user_api: Callable[..., httpx.Client], uid: Callable[[str], str]
) -> None:
    path = f"/video/call/livestream/{uid('c')}"
    api.post(path, json={"data": {
        "created_by_id": uid("host"), "starts_at": "2000-01-01T00:00:00Z",
        "settings_override": {"backstage": {"join_ahead_time_seconds": 300}},
    }}).raise_for_status()
    assert join(user_api(uid("early")), path).status_code == 200, "starts_at minus join-ahead has passed"


async def test_duration_timer_ends_the_call_and_moves_on_update(
    server: RunningServer, api: httpx.Client, user_api: Callable[..., httpx.Client], uid: Callable[[str], str]
) -> None:
    alice = uid("alice")
    alice_ws = await connect_user(server, alice)
    path = f"/video/call/default/{uid('c')}"
    api.post(path, json={"data": {"created_by_id": alice, "members": [{"user_id": alice}],
                                  "settings_override": {"limits": {"max_duration_seconds": 60}}}})
    joined = join(user_api(alice), path).json()
    first_end = joined["call"]["session"]["timer_ends_at"]
    assert first_end is not None
    api.patch(path, json={"settings_override": {"limits": {"max_duration_seconds": 1}}}).raise_for_status()
    updated = await alice_ws.wait_for("call.updated")
    assert updated["call"]["session"]["timer_ends_at"] < first_end, "the timer moved"
    ended = await alice_ws.wait_for("call.ended", timeout=10)
    assert ended["reason"] == "max_duration_reached"
    ended_sessions = [e["session_id"] for e in alice_ws.seen if e["type"] == "call.session_ended"]
    assert ended_sessions == [joined["session_id"]], "the session ends before the call.ended event"
    state = api.get(path).json()["call"]
    assert state["ended_at"] is not None and state["session"]["participants"] == []
    await alice_ws.close()


async def test_mark_ended_removes_everyone(
    server: RunningServer, api: httpx.Client, user_api: Callable[..., httpx.Client], uid: Callable[[str], str]
) -> None:
    alice = uid("alice")
    path = f"/video/call/default/{uid('c')}"
    api.post(path, json={"data": {"created_by_id": alice}})
    join(user_api(alice), path).raise_for_status()
    api.post(f"{path}/mark_ended").raise_for_status()
    session = api.get(path).json()["call"]["session"]
    assert session["ended_at"] is not None and session["participants"] == []


async def test_vanished_participant_is_removed_after_the_inactivity_timeout(
    server: RunningServer, api: httpx.Client, user_api: Callable[..., httpx.Client], uid: Callable[[str], str]
) -> None:
    watcher, ghost = uid("watcher"), uid("ghost")
    watcher_ws = await connect_user(server, watcher)
    path = f"/video/call/default/{uid('c')}"
    api.post(path, json={"data": {"created_by_id": watcher, "members": [{"user_id": watcher}],
                                  "settings_override": {"session": {"inactivity_timeout_seconds": 5}}}})
    join(user_api(watcher), path).raise_for_status()
    join(user_api(ghost), path).raise_for_status()  # the ghost never opens a WebSocket
    left = await watcher_ws.wait_for("call.session_participant_left", timeout=15)
    assert left["participant"]["user"]["id"] == ghost and left["reason"] == "timeout"
    await asyncio.sleep(0)
    participants = api.get(path).json()["call"]["session"]["participants"]
    assert [p["user"]["id"] for p in participants] == [watcher], "the connected participant stays"
    await watcher_ws.close()


async def test_pin_for_everyone(
    server: RunningServer, api: httpx.Client, user_api: Callable[..., httpx.Client], uid: Callable[[str], str]
) -> None:
    host, guest = uid("host"), uid("guest")
    guest_ws = await connect_user(server, guest)
    path = f"/video/call/default/{uid('c')}"
    api.post(path, json={"data": {"created_by_id": host, "members": [{"user_id": guest}]}})
    join(user_api(host), path).raise_for_status()
    guest_session = join(user_api(guest), path).json()["user_session_id"]
    pin = {"session_id": guest_session, "user_id": guest}
    assert_error(user_api(guest).post(f"{path}/pin", json=pin), 403, ErrorCode.NOT_ALLOWED)
    user_api(host).post(f"{path}/pin", json=pin).raise_for_status()
    updated = await guest_ws.wait_for("call.updated")
    assert [p["session_id"] for p in updated["call"]["session"]["pins"]] == [guest_session]
    assert_error(user_api(host).post(f"{path}/pin", json={**pin, "session_id": "nope"}), 400, ErrorCode.INPUT_ERROR)
    user_api(host).post(f"{path}/unpin", json=pin).raise_for_status()
    assert api.get(path).json()["call"]["session"]["pins"] == []
    await guest_ws.close()


async def test_banned_users_cannot_join(
    api: httpx.Client, user_api: Callable[..., httpx.Client], uid: Callable[[str], str]
) -> None:
    banned = uid("banned")
    path = f"/video/call/default/{uid('c')}"
    api.post(path, json={"data": {"created_by_id": uid("owner")}}).raise_for_status()
    user_api(banned).get(path).raise_for_status()
    api.post("/moderation/ban", json={"target_user_id": banned, "timeout": 10}).raise_for_status()
    assert_error(join(user_api(banned), path), 403, ErrorCode.USER_BANNED)
    api.post("/moderation/unban", params={"target_user_id": banned}).raise_for_status()
    assert join(user_api(banned), path).status_code == 200
