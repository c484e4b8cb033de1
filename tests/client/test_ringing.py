"""Ringing between two clients: incoming and outgoing state, accept, reject, cancel, dropping a call when
alone, and the single/multiple active call modes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
import pytest

from tests.client.conftest import WAIT
from weir.client import (
    Call,
    CallStatusConnected,
    CallStatusDisconnected,
    CallStatusIdle,
    CallStatusIncoming,
    CallStatusOutgoing,
    DisconnectReasonCancelled,
    DisconnectReasonLastParticipantLeft,
    DisconnectReasonRejected,
    DisconnectReasonReplaced,
    StreamVideo,
    VideoError,
)
from weir.protocol import events as ev

MakeClient = Callable[..., Awaitable[StreamVideo]]


async def ring(caller: StreamVideo, callee: StreamVideo, call_id: str) -> tuple[Call, Call]:
    """The caller rings the callee; returns both sides' call once the callee's client shows it incoming."""
    incoming = callee.state.incoming_call.partial(lambda call: call)
    await incoming.next(WAIT)
    outgoing = caller.make_call(id=call_id)
    await outgoing.get_or_create(member_ids=[callee.current_user.id], ringing=True, video=True)
    rung = await incoming.first(lambda call: call is not None, WAIT)
    assert rung is not None
    return outgoing, rung


async def test_ring_accept_and_join(clients: MakeClient, uid: Callable[[str], str]) -> None:
    alice_id, bob_id = uid("alice"), uid("bob")
    alice, bob = await clients(alice_id), await clients(bob_id)
    async with bob.events.subscribe() as bob_events:
        outgoing, incoming = await ring(alice, bob, uid("c"))
        ringing = await bob_events.first(lambda e: isinstance(e, ev.CallRingEvent), WAIT)
    assert ringing.video is True and ringing.user.id == alice_id

    assert outgoing.state.value.status == CallStatusOutgoing(video=True)
    assert alice.state.outgoing_call.value is outgoing
    assert [m.user_id for m in outgoing.state.value.ringing_members] == [bob_id]
    state = incoming.state.value
    assert incoming.cid == outgoing.cid and state.status == CallStatusIncoming(video=True)
    assert state.is_ringing_flow and state.created_by_user_id == alice_id
    assert [m.user_id for m in state.ringing_members] == [bob_id]

    async with outgoing.events.subscribe() as alice_events:
        await incoming.accept()
        assert incoming.state.value.status == CallStatusIdle() and bob.state.incoming_call.value is None
        accepted = await alice_events.first(lambda e: isinstance(e, ev.CallAcceptedEvent), WAIT)
    assert accepted.user.id == bob_id and bob_id in outgoing.state.value.accepted_by
    assert outgoing.state.value.ringing_members == ()

    await incoming.join()
    await outgoing.join()
    assert outgoing.state.value.status == CallStatusConnected() and alice.state.outgoing_call.value is None
    assert bob.active_call is incoming and alice.active_call is outgoing
    names = await outgoing.partial_state(lambda s: sorted(p.user_id for p in s.call_participants)).first(
        lambda ids: len(ids) == 2, WAIT)
    assert names == sorted([alice_id, bob_id])


async def test_reject_ends_the_ring_for_the_caller(clients: MakeClient, uid: Callable[[str], str]) -> None:
    alice, bob = await clients(uid("alice")), await clients(uid("bob"))
    outgoing, incoming = await ring(alice, bob, uid("c"))
    await incoming.reject()
    assert incoming.state.value.status == CallStatusDisconnected(DisconnectReasonRejected(bob.current_user.id))
    assert bob.state.incoming_call.value is None
    status = await outgoing.partial_state(lambda s: s.status).first(lambda s: s.is_disconnected, WAIT)
    assert isinstance(status, CallStatusDisconnected) and isinstance(status.reason, DisconnectReasonRejected)
    assert alice.state.outgoing_call.value is None


async def test_caller_cancels_by_leaving(clients: MakeClient, uid: Callable[[str], str]) -> None:
    alice, bob = await clients(uid("alice")), await clients(uid("bob"))
    outgoing, incoming = await ring(alice, bob, uid("c"))
    await outgoing.leave()
    assert outgoing.state.value.status == CallStatusDisconnected(DisconnectReasonCancelled(alice.current_user.id))
    status = await incoming.partial_state(lambda s: s.status).first(lambda s: s.is_disconnected, WAIT)
    assert status == CallStatusDisconnected(DisconnectReasonCancelled(alice.current_user.id))
    assert bob.state.incoming_call.value is None


async def test_ringing_call_drops_when_the_other_leaves(
    clients: MakeClient, api: httpx.Client, uid: Callable[[str], str]
) -> None:
    alice, bob = await clients(uid("alice")), await clients(uid("bob"))
    outgoing, incoming = await ring(alice, bob, uid("c"))
    await incoming.join()  # joining a ringing call accepts it
    assert bob.state.incoming_call.value is None and bob.current_user.id in incoming.state.value.accepted_by
    await outgoing.join()
    await outgoing.partial_state(lambda s: len(s.call_participants)).first(lambda n: n == 2, WAIT)
    await incoming.leave()
    status = await outgoing.partial_state(lambda s: s.status).first(lambda s: s.is_disconnected, WAIT)
    assert status == CallStatusDisconnected(DisconnectReasonLastParticipantLeft())
    for _ in range(100):  # alice's client leaves by itself, which ends the session
        session = api.get(f"/video/call/default/{outgoing.id}").json()["call"]["session"]
        if session["ended_at"] is not None:
            break
        await asyncio.sleep(0.02)
    assert session["participants"] == [] and session["ended_at"] is not None


async def test_ring_an_existing_call(clients: MakeClient, uid: Callable[[str], str]) -> None:
    alice, bob = await clients(uid("alice")), await clients(uid("bob"))
    incoming = bob.state.incoming_call.partial(lambda call: call)
    await incoming.next(WAIT)
    call = alice.make_call(id=uid("c"))
    await call.get_or_create(member_ids=[bob.current_user.id])
    assert call.state.value.status == CallStatusIdle() and alice.state.outgoing_call.value is None
    rung = await call.ring(user_ids=[bob.current_user.id])
    assert rung.members_ids == [bob.current_user.id]
    assert call.state.value.status == CallStatusOutgoing(video=False) and alice.state.outgoing_call.value is call
    ringing = await incoming.first(lambda c: c is not None, WAIT)
    assert ringing is not None and ringing.cid == call.cid
    assert ringing.state.value.status == CallStatusIncoming(video=False)


async def test_single_call_mode_replaces_the_active_call(clients: MakeClient, uid: Callable[[str], str]) -> None:
    alice, bob = await clients(uid("alice")), await clients(uid("bob"))
    active = bob.listen_active_call()
    assert await active.next(WAIT) is None
    current = bob.make_call(id=uid("current"))
    await current.join(create=True)
    assert bob.active_call is current and await active.next(WAIT) is current
    _, incoming = await ring(alice, bob, uid("c"))
    await incoming.accept()
    assert current.state.value.status == CallStatusDisconnected(DisconnectReasonReplaced(incoming.cid))
    await incoming.join()
    assert bob.active_calls == (incoming,) and bob.active_call is incoming


async def test_multiple_call_mode_keeps_both(clients: MakeClient, uid: Callable[[str], str]) -> None:
    alice, bob = await clients(uid("alice")), await clients(uid("bob"), allow_multiple_active_calls=True)
    active = bob.listen_active_calls()
    assert await active.next(WAIT) == ()
    current = bob.make_call(id=uid("current"))
    await current.join(create=True)
    _, incoming = await ring(alice, bob, uid("c"))
    await incoming.join()
    assert current.state.value.status == CallStatusConnected()
    assert set(bob.active_calls) == {current, incoming}
    assert await active.next(WAIT) == (current,) and await active.next(WAIT) == (current, incoming)
    with pytest.raises(VideoError):
        _ = bob.active_call
    with pytest.raises(VideoError):
        bob.listen_active_call()
