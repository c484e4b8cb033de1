"""The coordinator-side options and methods test_calls.py / test_ringing.py leave out: every ``get_or_create`` and
``update`` option, ``get`` without watching, the join's status sequence, each reject reason, ``ring(video=)``,
going live seen by a viewer, paging back through ``query_calls``, the development call type, profile changes made
on the server, a refused request and resetting the singleton. Each checks the effect on the server or on the
other client."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.client.conftest import WAIT, options_for
from tests.client.test_ringing import ring
from tests.conftest import RunningServer
from weir.client import (
    CallPreferences,
    CallRejectReason,
    CallState,
    CallStatus,
    CallStatusConnected,
    CallStatusConnecting,
    CallStatusDisconnected,
    CallStatusIncoming,
    CallStatusJoined,
    CallStatusJoining,
    ClientState,
    ConnectionState,
    DisconnectReasonCancelled,
    DisconnectReasonRejected,
    DisconnectReasonTimeout,
    EventStream,
    Listener,
    QueryCallsResult,
    Selected,
    SortParamRequest,
    StreamBackstageSettings,
    StreamCallType,
    StreamLimitsSettings,
    StreamTranscriptionSettings,
    StreamVideo,
    Subscription,
    User,
    UserInfo,
    WeirAPIError,
)
from weir.protocol import events as ev
from weir.protocol.users import UserResponse

MakeClient = Callable[..., Awaitable[StreamVideo]]
Uid = Callable[[str], str]
QUIET = 1.0  # seconds in which an event that should not come would have come


def server_call(api: httpx.Client, call_type: str, call_id: str) -> dict:
    response = api.get(f"/video/call/{call_type}/{call_id}")
    response.raise_for_status()
    return response.json()


async def admin(clients: MakeClient, api: httpx.Client, user_id: str) -> StreamVideo:
    """A connected client whose user is an admin (settings overrides need ``update-call-settings``)."""
    api.post("/users", json={"users": {user_id: {"id": user_id, "role": "admin"}}}).raise_for_status()
    return await clients(user_id)


def server_members(api: httpx.Client, call_type: str, call_id: str) -> dict[str, dict]:
    found = api.post("/video/call/members", json={"type": call_type, "id": call_id}).json()["members"]
    return {m["user_id"]: m for m in found}


async def test_get_or_create_sends_every_option(clients: MakeClient, api: httpx.Client, uid: Uid) -> None:
    alice, bob = await admin(clients, api, uid("alice")), await clients(uid("bob"))
    bob_id, carol_id, call_id = bob.current_user.id, uid("carol"), uid("c")
    starts_at = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    carol = UserInfo(carol_id, role="moderator", custom={"seat": 1})
    assert carol.member_request() == {"user_id": carol_id, "role": "moderator", "custom": {"seat": 1}}
    call = alice.make_call(id=call_id)
    async with bob.events.subscribe() as bob_events:
        await call.get_or_create(
            member_ids=[bob_id], members=[carol], notify=True, starts_at=starts_at,
            backstage=StreamBackstageSettings(enabled=True, join_ahead_time_seconds=60),
            limits=StreamLimitsSettings(max_duration_seconds=600),
            transcription=StreamTranscriptionSettings(mode="available"),
            settings_override={"audio": {"mic_default_on": False}})
        notified = await bob_events.first(lambda e: isinstance(e, ev.CallNotificationEvent), WAIT)
    assert notified.user.id == alice.current_user.id and notified.call_cid == call.cid

    stored = server_call(api, "default", call_id)["call"]
    assert datetime.fromisoformat(stored["starts_at"]) == starts_at
    settings = stored["settings"]
    assert settings["backstage"] == {"enabled": True, "join_ahead_time_seconds": 60}
    assert settings["limits"]["max_duration_seconds"] == 600 and settings["transcription"]["mode"] == "available"
    assert settings["audio"]["mic_default_on"] is False
    members = server_members(api, "default", call_id)
    assert members[carol_id]["role"] == "moderator" and members[carol_id]["custom"] == {"seat": 1}
    assert set(members) == {bob_id, carol_id}

    again = await alice.make_call(id=call_id).get_or_create(members_limit=1)
    assert again.created is False and len(again.members) == 1 and len(call.state.value.call_members) == 1


async def test_update_sends_the_schedule_and_settings(clients: MakeClient, api: httpx.Client, uid: Uid) -> None:
    alice, bob = await admin(clients, api, uid("alice")), await clients(uid("bob"))
    call_id = uid("c")
    mine = alice.make_call(id=call_id)
    await mine.get_or_create()
    watched = bob.make_call(id=call_id)
    await watched.get()
    starts_at = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    await mine.update(starts_at=starts_at, backstage=StreamBackstageSettings(enabled=True),
                      limits=StreamLimitsSettings(max_participants=3),
                      transcription=StreamTranscriptionSettings(closed_caption_mode="disabled"),
                      settings_override={"audio": {"speaker_default_on": False}})
    stored = server_call(api, "default", call_id)["call"]
    assert datetime.fromisoformat(stored["starts_at"]) == starts_at
    assert stored["settings"]["backstage"]["enabled"] is True
    assert stored["settings"]["limits"]["max_participants"] == 3
    assert stored["settings"]["transcription"]["closed_caption_mode"] == "disabled"
    assert stored["settings"]["audio"]["speaker_default_on"] is False
    seen = await watched.partial_state(lambda s: (s.starts_at, s.settings["backstage"]["enabled"])).first(
        lambda pair: pair == (starts_at, True), WAIT)
    assert seen == (starts_at, True) and watched.state.value.settings["limits"]["max_participants"] == 3


async def test_get_without_watching_receives_no_events(clients: MakeClient, uid: Uid) -> None:
    alice, bob = await clients(uid("alice")), await clients(uid("bob"))
    call_id = uid("c")
    mine = alice.make_call(id=call_id)
    await mine.get_or_create(member_ids=[uid("m1"), uid("m2")])
    theirs = bob.make_call(id=call_id)  # bob is not a member: only watching brings him the call's events
    loaded = await theirs.get(watch=False, members_limit=1)
    assert len(loaded.members) == 1 and len(theirs.state.value.call_members) == 1
    assert isinstance(theirs.events, EventStream)
    async with theirs.events.subscribe() as events:
        assert isinstance(events, Subscription)
        await mine.send_custom_event("unwatched")
        with pytest.raises(TimeoutError):
            await events.first(lambda e: isinstance(e, ev.CustomVideoEvent), QUIET)
        await theirs.get()
        await mine.send_custom_event("watched")
        received = await events.first(lambda e: isinstance(e, ev.CustomVideoEvent), WAIT)
    assert received.custom == {"type": "watched"}


async def test_join_goes_through_each_status_and_reaches_the_server(
    clients: MakeClient, api: httpx.Client, uid: Uid
) -> None:
    client = await clients(uid("alice"))
    assert isinstance(client.state, ClientState) and isinstance(client.state.connection.value, ConnectionState)
    call = client.make_call(id=uid("c"))
    seen: list[CallStatus] = []
    listener = call.state.listen(lambda state: seen.append(state.status))
    assert isinstance(listener, Listener)
    await call.join(create=True)
    listener.cancel()
    statuses = [s for i, s in enumerate(seen) if i == 0 or s != seen[i - 1]]
    assert statuses == [CallStatusJoining(), CallStatusJoined(), CallStatusConnecting(), CallStatusConnected()]
    assert [s.is_joining for s in statuses] == [True, False, False, False]
    assert [s.is_connecting for s in statuses] == [False, False, True, False]
    participants = server_call(api, "default", call.id)["call"]["session"]["participants"]
    assert [(p["user"]["id"], p["user_session_id"]) for p in participants] == [
        (client.current_user.id, call.state.value.user_session_id)]


async def test_each_reject_reason_reaches_the_caller(clients: MakeClient, api: httpx.Client, uid: Uid) -> None:
    alice, bob = await clients(uid("alice")), await clients(uid("bob"))
    bob_id = bob.current_user.id
    for reason, callee_status in ((CallRejectReason.busy(), DisconnectReasonRejected(bob_id)),
                                  (CallRejectReason.decline(), DisconnectReasonRejected(bob_id)),
                                  (CallRejectReason.timeout(), DisconnectReasonTimeout())):
        async with alice.events.subscribe() as alice_events:
            outgoing, incoming = await ring(alice, bob, uid("c"))
            assert outgoing.state.value.status.is_outgoing and incoming.state.value.status.is_incoming
            await incoming.reject(reason)
            rejected = await alice_events.first(lambda e: isinstance(e, ev.CallRejectedEvent), WAIT)
        assert rejected.user.id == bob_id and rejected.reason == reason.value
        assert incoming.state.value.status == CallStatusDisconnected(callee_status)
        assert bob_id in server_call(api, "default", outgoing.id)["call"]["session"]["rejected_by"]

    outgoing, incoming = await ring(alice, bob, uid("c"))
    await outgoing.reject(CallRejectReason.cancel())
    status = await incoming.partial_state(lambda s: s.status).first(lambda s: s.is_disconnected, WAIT)
    assert status == CallStatusDisconnected(DisconnectReasonCancelled(alice.current_user.id))


async def test_ring_with_video_reaches_the_callee(clients: MakeClient, uid: Uid) -> None:
    alice, bob = await clients(uid("alice")), await clients(uid("bob"))
    call = alice.make_call(id=uid("c"))
    await call.get_or_create(member_ids=[bob.current_user.id])
    async with bob.events.subscribe() as bob_events:
        await call.ring(video=True)
        rung = await bob_events.first(lambda e: isinstance(e, ev.CallRingEvent), WAIT)
    assert rung.video is True and rung.call_cid == call.cid
    incoming = bob.state.incoming_call.value
    assert incoming is not None and incoming.state.value.status == CallStatusIncoming(video=True)


async def test_going_live_reaches_a_viewer_and_the_server(clients: MakeClient, api: httpx.Client, uid: Uid) -> None:
    host, viewer = await clients(uid("host")), await clients(uid("viewer"))
    call_id = uid("show")
    show = host.make_call(StreamCallType.livestream(), call_id)
    await show.get_or_create()
    watching = viewer.make_call(StreamCallType.livestream(), call_id)
    await watching.get()
    backstage = watching.partial_state(lambda s: s.is_backstage)
    assert isinstance(backstage, Selected) and await backstage.next(WAIT) is True
    await show.go_live()
    assert await backstage.next(WAIT) is False and server_call(api, "livestream", call_id)["call"]["backstage"] is False
    await show.stop_live()
    assert await backstage.next(WAIT) is True and server_call(api, "livestream", call_id)["call"]["backstage"] is True


async def test_query_calls_pages_forward_and_back(clients: MakeClient, uid: Uid) -> None:
    alice = await clients(uid("alice"))
    tag, newest_first = uid("tag"), [SortParamRequest(field="created_at", direction=-1)]
    made = [alice.make_call(id=uid(f"q{n}")) for n in range(3)]
    for call in made:
        await call.get_or_create(custom={"tag": tag}, watch=False)
    first = await alice.query_calls({"custom.tag": tag}, newest_first, limit=1)
    assert isinstance(first, QueryCallsResult) and [c.id for c in first.calls] == [made[2].id]
    second = await alice.query_calls({"custom.tag": tag}, newest_first, limit=1, next=first.next)
    assert [c.id for c in second.calls] == [made[1].id] and second.prev is not None
    back = await alice.query_calls({"custom.tag": tag}, newest_first, limit=1, prev=second.prev)
    assert [c.id for c in back.calls] == [made[2].id]


async def test_a_development_call(clients: MakeClient, api: httpx.Client, uid: Uid) -> None:
    client = await clients(uid("dev"))
    call_id = uid("c")
    call = client.make_call(StreamCallType.development(), call_id)
    await call.get_or_create()
    state: CallState = call.state.value
    assert (state.call_type, state.call_id) == ("development", call_id)
    assert server_call(api, "development", call_id)["call"]["type"] == "development"


async def test_make_call_with_preferences_applies_them(clients: MakeClient, uid: Uid) -> None:
    alice, bob = await clients(uid("alice")), await clients(uid("bob"))
    call_id = uid("c")
    await alice.make_call(id=call_id).join(create=True)
    theirs = bob.make_call(id=call_id)
    await theirs.join()
    assert bob.make_call(id=call_id, preferences=CallPreferences(reaction_auto_dismiss_time=0.3)) is theirs
    reaction = theirs.partial_state(
        lambda s: next((p.reaction for p in s.call_participants if p.user_id == alice.current_user.id), None))
    assert await reaction.next(WAIT) is None
    await alice.make_call(id=call_id).send_reaction("like")
    assert (await reaction.next(WAIT)) is not None
    assert await reaction.next(WAIT) is None  # dismissed after 0.3 s, not the default 5 s


async def test_the_user_is_what_the_server_stores_and_follows_its_changes(
    clients: MakeClient, api: httpx.Client, uid: Uid
) -> None:
    user_id = uid("alice")
    user = User.regular(user_id, name="Alice", language="fr", custom={"team": "blue"})
    client = await clients(user_id, user=user)
    stored = api.post("/users/query", json={"filter_conditions": {"id": user_id}}).json()["users"][0]
    assert {k: stored[k] for k in user.details()} == user.details()  # the handshake's profile is stored
    assert client.current_user == user.adopt(UserResponse.model_validate(stored))  # and adopted as stored
    names = client.state.user.partial(lambda me: me.name)
    assert await names.next(WAIT) == "Alice"
    async with client.events.subscribe() as events:
        api.patch("/users", json={"users": [{"id": user_id, "set": {"name": "Alice B."}}]}).raise_for_status()
        await events.first(lambda e: isinstance(e, ev.UserUpdatedEvent), WAIT)
    assert await names.next(WAIT) == "Alice B."  # adopted from the server's event
    assert client.current_user.custom == {"team": "blue"} and client.current_user.language == "fr"


async def test_a_refused_request_names_the_field_and_changes_nothing(
    clients: MakeClient, api: httpx.Client, uid: Uid
) -> None:
    alice, bob = await clients(uid("alice")), await clients(uid("bob"))
    call_id = uid("c")
    mine = alice.make_call(id=call_id)
    await mine.get_or_create(member_ids=[bob.current_user.id])
    theirs = bob.make_call(id=call_id)
    await theirs.get()
    async with theirs.events.subscribe() as events:
        with pytest.raises(WeirAPIError) as refused:
            await mine.collect_user_feedback(9)
        assert refused.value.status_code == 400 and "rating" in refused.value.exception_fields
        with pytest.raises(WeirAPIError) as not_a_member:
            await mine.ring(user_ids=[uid("stranger")])
        assert not_a_member.value.status_code == 400
        with pytest.raises(TimeoutError):
            await events.first(lambda e: isinstance(e, (ev.CallUserFeedbackSubmittedEvent, ev.CallRingEvent)), QUIET)
    assert mine.state.value.status.is_idle and alice.state.outgoing_call.value is None
    assert set(server_members(api, "default", call_id)) == {bob.current_user.id}


async def test_reset_disconnects_the_singleton(server: RunningServer, api: httpx.Client, uid: Uid) -> None:
    user = User.regular(uid("single"))
    client = StreamVideo(server.api_key, user=user, user_token=server.token(user.id), options=options_for(server))
    try:
        await client.connect()
        assert online(api, user.id) is True
    finally:
        await StreamVideo.reset()
    assert client.connection_id is None
    for _ in range(50):  # the server marks the user offline once it notices the socket closed
        if not online(api, user.id):
            break
        await asyncio.sleep(0.05)
    assert online(api, user.id) is False


def online(api: httpx.Client, user_id: str) -> bool:
    return api.post("/users/query", json={"filter_conditions": {"id": user_id}}).json()["users"][0]["online"]
