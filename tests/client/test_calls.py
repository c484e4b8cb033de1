"""Call operations against the server: create and read, update, members, join and leave, end, backstage,
queries, moderation, permissions, pins, feedback. Each checks the effect on the server or on another client."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest

from tests.client.conftest import WAIT, Pair
from weir.client import (
    CallPermission,
    CallState,
    CallStatusConnected,
    CallStatusDisconnected,
    CallStatusIdle,
    DisconnectReasonBlocked,
    DisconnectReasonEnded,
    DisconnectReasonFailure,
    DisconnectReasonKicked,
    SortParamRequest,
    StreamCallType,
    StreamVideo,
    UserInfo,
    WeirAPIError,
)
from weir.protocol import events as ev

MakeClient = Callable[..., Awaitable[StreamVideo]]
MakePair = Callable[..., Awaitable[Pair]]


def member_ids(state: CallState) -> set[str]:
    return {m.user_id for m in state.call_members}


async def test_get_or_create_fills_the_state(clients: MakeClient, uid: Callable[[str], str]) -> None:
    alice_id, bob_id, call_id = uid("alice"), uid("bob"), uid("c")
    alice, bob = await clients(alice_id), await clients(bob_id)
    call = alice.make_call(StreamCallType.default_type(), call_id)
    assert alice.make_call(id=call_id) is call
    created = await call.get_or_create(member_ids=[bob_id], custom={"topic": "plans"}, team="blue")
    assert created.created is True and created.call.cid == f"default:{call_id}"
    state = call.state.value
    assert state.call_cid == call.cid and state.status == CallStatusIdle()
    assert state.created_by_user_id == alice_id and state.created_by_me
    assert state.custom == {"topic": "plans"} and state.team == "blue"
    assert member_ids(call.state.value) == {bob_id}
    assert CallPermission.JOIN_CALL.value in state.own_capabilities and call.has_permission(CallPermission.END_CALL)
    assert state.settings["audio"]["access_request_enabled"] is True and state.created_at is not None
    assert (await call.get_or_create()).created is False

    seen = bob.make_call(id=call_id)
    await seen.get()
    assert seen.state.value.created_by_user_id == alice_id and not seen.state.value.created_by_me
    assert not seen.has_permission(CallPermission.END_CALL)


async def test_update_reaches_a_watching_client(clients: MakeClient, uid: Callable[[str], str]) -> None:
    alice, bob = await clients(uid("alice")), await clients(uid("bob"))
    call_id = uid("c")
    mine = alice.make_call(id=call_id)
    await mine.get_or_create()
    watched = bob.make_call(id=call_id)
    await watched.get()
    updated = await mine.update(custom={"topic": "new"})
    assert updated.call.custom == {"topic": "new"} and mine.state.value.custom == {"topic": "new"}
    assert await watched.partial_state(lambda s: s.custom).first(lambda c: c == {"topic": "new"}, WAIT)


async def test_member_changes_reach_the_other_client(clients: MakeClient, uid: Callable[[str], str]) -> None:
    alice_id, bob_id, carol_id = uid("alice"), uid("bob"), uid("carol")
    alice, bob = await clients(alice_id), await clients(bob_id)
    call_id = uid("c")
    mine = alice.make_call(id=call_id)
    await mine.get_or_create(member_ids=[bob_id])
    theirs = bob.make_call(id=call_id)
    await theirs.get()
    members = theirs.partial_state(member_ids)
    assert await members.next(WAIT) == {bob_id}

    await mine.add_members([UserInfo(carol_id, role="call_member")])
    assert member_ids(mine.state.value) == {bob_id, carol_id}
    assert await members.next(WAIT) == {bob_id, carol_id}
    page = await mine.query_members(filter_conditions={"user_id": carol_id},
                                    sorts=[SortParamRequest(field="created_at", direction=-1)], limit=5)
    assert [m.user_id for m in page.members] == [carol_id] and page.members[0].role == "call_member"

    await mine.update_call_members(update_members=[UserInfo(carol_id, role="moderator")])
    role = await theirs.partial_state(lambda s: {m.user_id: m.role for m in s.call_members}.get(carol_id)).first(
        lambda r: r == "moderator", WAIT)
    assert role == "moderator"
    await mine.remove_members([carol_id])
    assert member_ids(mine.state.value) == {bob_id}
    assert await members.first(lambda m: carol_id not in m, WAIT) == {bob_id}


async def test_join_and_leave(pair: MakePair, api: httpx.Client) -> None:
    both = await pair(bob_joins=False)
    mine, theirs = both.mine, both.theirs
    state = mine.state.value
    assert state.status == CallStatusConnected() and state.session_id and state.user_session_id
    assert state.participant_count == 1 and state.started_at is not None
    assert state.local_participant is not None and state.local_participant.user_id == both.alice_id
    assert both.alice.active_call is mine and both.alice.active_calls == (mine,)

    others = mine.partial_state(lambda s: [p.user_id for p in s.other_participants])
    joined = await theirs.join()
    assert joined.session_id == state.session_id and theirs.state.value.user_session_id == joined.user_session_id
    assert await others.first(lambda ids: ids == [both.bob_id], WAIT) == [both.bob_id]

    await theirs.leave()
    assert theirs.state.value.status == CallStatusDisconnected(DisconnectReasonEnded())
    assert both.bob.active_call is None
    assert await others.first(lambda ids: ids == [], WAIT) == []
    await mine.leave()
    session = api.get(f"/video/call/default/{mine.id}").json()["call"]["session"]
    assert session["participants"] == [] and session["ended_at"] is not None


async def test_refused_join_is_a_failure(clients: MakeClient, uid: Callable[[str], str]) -> None:
    client = await clients(uid("alice"))
    call = client.make_call(id=uid("missing"))
    with pytest.raises(WeirAPIError) as refused:
        await call.join()
    assert refused.value.status_code == 404
    status = call.state.value.status
    assert isinstance(status, CallStatusDisconnected) and isinstance(status.reason, DisconnectReasonFailure)
    assert client.active_call is None


async def test_join_can_create_the_call(clients: MakeClient, uid: Callable[[str], str]) -> None:
    client = await clients(uid("alice"))
    call = client.make_call(id="")
    assert call.id  # an empty id is generated locally
    joined = await call.join(create=True)
    assert joined.created is True and call.state.value.status == CallStatusConnected()


async def test_end_disconnects_everyone(pair: MakePair) -> None:
    both = await pair()
    await both.mine.end()
    assert both.mine.state.value.status == CallStatusDisconnected(DisconnectReasonEnded())
    status = await both.theirs.partial_state(lambda s: s.status).first(lambda s: s.is_disconnected, WAIT)
    assert status == CallStatusDisconnected(DisconnectReasonEnded())
    assert both.theirs.state.value.ended_at is not None and both.bob.active_call is None


async def test_go_live_and_stop_live(clients: MakeClient, uid: Callable[[str], str]) -> None:
    host = await clients(uid("host"))
    call = host.make_call(StreamCallType.livestream(), uid("show"))
    await call.get_or_create()
    backstage = call.partial_state(lambda s: s.is_backstage)
    assert await backstage.next(WAIT) is True
    await call.go_live()
    assert await backstage.next(WAIT) is False
    assert call.state.value.live_started_at is not None
    await call.stop_live()
    assert await backstage.next(WAIT) is True


async def test_query_calls_loads_and_watches(clients: MakeClient, uid: Callable[[str], str]) -> None:
    alice, bob = await clients(uid("alice")), await clients(uid("bob"))
    tag = uid("tag")
    first, second = alice.make_call(id=uid("q1")), alice.make_call(id=uid("q2"))
    for call in (first, second):
        await call.get_or_create(custom={"tag": tag}, watch=False)
    found = await bob.query_calls(filter_conditions={"custom.tag": tag},
                                  sorts=[SortParamRequest(field="created_at", direction=-1)], limit=1, watch=True)
    assert [c.id for c in found.calls] == [second.id] and found.next is not None
    rest = await bob.query_calls(filter_conditions={"custom.tag": tag},
                                 sorts=[SortParamRequest(field="created_at", direction=-1)], limit=1,
                                 next=found.next)
    assert [c.id for c in rest.calls] == [first.id]
    listed = found.calls[0]
    assert listed.state.value.custom == {"tag": tag}
    await second.update(custom={"tag": tag, "seen": True})
    assert await listed.partial_state(lambda s: s.custom.get("seen")).first(bool, WAIT)


async def test_block_unblock_and_kick(pair: MakePair) -> None:
    both = await pair()
    mine, theirs, alice_id, bob_id = both.mine, both.theirs, both.alice_id, both.bob_id
    count = mine.partial_state(lambda s: len(s.call_participants))
    assert await count.first(lambda n: n == 2, WAIT)

    await mine.block_user(bob_id)
    assert mine.state.value.blocked_user_ids == (bob_id,)
    status = await theirs.partial_state(lambda s: s.status).first(lambda s: s.is_disconnected, WAIT)
    assert status == CallStatusDisconnected(DisconnectReasonBlocked(alice_id))
    assert await count.first(lambda n: n == 1, WAIT)  # bob's client left by itself
    with pytest.raises(WeirAPIError):
        await theirs.join()

    await mine.unblock_user(bob_id)
    assert await theirs.partial_state(lambda s: s.blocked_user_ids).first(lambda ids: ids == (), WAIT) == ()
    await theirs.join()
    assert await count.first(lambda n: n == 2, WAIT)
    await mine.kick_user(bob_id)
    status = await theirs.partial_state(lambda s: s.status).first(lambda s: s.is_disconnected, WAIT)
    assert status == CallStatusDisconnected(DisconnectReasonKicked(alice_id))
    assert await count.first(lambda n: n == 1, WAIT)

    await theirs.join()
    await mine.kick_user(bob_id, block=True)
    assert bob_id in mine.state.value.blocked_user_ids
    assert await theirs.partial_state(lambda s: s.status).first(lambda s: s.is_disconnected, WAIT)


async def test_mute_users_and_everyone(pair: MakePair) -> None:
    both = await pair(alice_joins=False)
    async with both.theirs.events.subscribe() as events:
        await both.mine.mute_users([both.bob_id], video=True)
        muted = await events.first(lambda e: isinstance(e, ev.CallUserMutedEvent), WAIT)
        assert muted.muted_user_ids == [both.bob_id] and muted.reason == "audio,video"
        await both.mine.mute_all_users()
        muted = await events.first(lambda e: isinstance(e, ev.CallUserMutedEvent), WAIT)
        assert muted.muted_user_ids == [both.bob_id] and muted.reason == "audio"


async def test_permission_request_grant_and_revoke(clients: MakeClient, uid: Callable[[str], str]) -> None:
    host_id, listener_id, call_id = uid("host"), uid("listener"), uid("room")
    host, listener = await clients(host_id), await clients(listener_id)
    room = host.make_call(StreamCallType.audio_room(), call_id)
    await room.get_or_create()
    requests: list[ev.PermissionRequestEvent] = []
    room.on_permission_request = requests.append
    seat = listener.make_call(StreamCallType.audio_room(), call_id)
    await seat.get()
    assert not seat.has_permission(CallPermission.SEND_AUDIO)

    async with room.events.subscribe() as events:
        await seat.request_permissions([CallPermission.SEND_AUDIO])
        await events.first(lambda e: isinstance(e, ev.PermissionRequestEvent), WAIT)
    assert requests[0].user.id == listener_id and requests[0].permissions == ["send-audio"]

    capabilities = seat.partial_state(lambda s: CallPermission.SEND_AUDIO.value in s.own_capabilities)
    assert await capabilities.next(WAIT) is False
    await room.grant_permissions(listener_id, [CallPermission.SEND_AUDIO])
    assert await capabilities.next(WAIT) is True and seat.has_permission(CallPermission.SEND_AUDIO)
    await room.revoke_permissions(listener_id, [CallPermission.SEND_AUDIO])
    assert await capabilities.next(WAIT) is False


async def test_pin_locally_and_for_everyone(pair: MakePair) -> None:
    both = await pair()
    mine, theirs = both.mine, both.theirs
    bob_session = theirs.state.value.user_session_id
    pin_on_bob = mine.partial_state(
        lambda s: next((p.pin for p in s.call_participants if p.session_id == bob_session), None))
    await pin_on_bob.next(WAIT)
    await mine.pin(bob_session)
    local = await pin_on_bob.first(lambda pin: pin is not None, WAIT)
    assert local.is_local and theirs.state.value.local_participant.pin is None  # type: ignore[union-attr]
    await mine.unpin(bob_session)
    assert await pin_on_bob.next(WAIT) is None

    await mine.pin(bob_session, for_everyone=True)
    everyone = await theirs.partial_state(lambda s: s.local_participant.pin if s.local_participant else None).first(
        lambda pin: pin is not None, WAIT)
    assert everyone.is_local is False
    await mine.unpin(bob_session, for_everyone=True)
    assert await pin_on_bob.first(lambda pin: pin is None, WAIT) is None


async def test_feedback_reaches_the_call(pair: MakePair) -> None:
    both = await pair(bob_joins=False)
    async with both.theirs.events.subscribe() as events:
        await both.mine.collect_user_feedback(4, reason="clear audio", custom={"device": "bot"})
        feedback = await events.first(lambda e: isinstance(e, ev.CallUserFeedbackSubmittedEvent), WAIT)
    assert feedback.user.id == both.alice_id and feedback.rating == 4 and feedback.reason == "clear audio"
    assert feedback.sdk == "weir-python" and feedback.custom == {"device": "bot"}