"""Call state as a stream: partial state emits only on change, reactions dismiss themselves, events are typed
and reach ``client.events``, ``call.events`` and ``call.events.on(...)`` handlers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tests.client.conftest import WAIT, Pair
from weir.client import CallPreferences, StreamVideo, UserInfo
from weir.protocol import events as ev

MakeClient = Callable[..., Awaitable[StreamVideo]]
MakePair = Callable[..., Awaitable[Pair]]


async def test_partial_state_emits_only_when_the_selection_changes(
    clients: MakeClient, uid: Callable[[str], str]
) -> None:
    client = await clients(uid("alice"))
    call = client.make_call(id=uid("c"))
    await call.get_or_create()
    everything = call.state.value_stream
    custom = call.partial_state(lambda s: s.custom)
    assert await custom.next(WAIT) == {}
    await everything.next(WAIT)

    await call.add_members([UserInfo(uid("bob"))])  # the state changes, the custom data doesn't
    assert len((await everything.next(WAIT)).call_members) == 1
    await call.update(custom={"topic": "x"})
    assert await custom.next(WAIT) == {"topic": "x"}  # the members change produced nothing here
    await call.update(custom={"topic": "x"})  # the same value again: nothing either
    await call.update(custom={"topic": "y"})
    assert await custom.next(WAIT) == {"topic": "y"}
    custom.close()
    everything.close()


async def test_reactions_appear_on_the_participant_and_dismiss_themselves(pair: MakePair) -> None:
    both = await pair()
    mine, theirs = both.mine, both.theirs
    theirs.update_call_preferences(CallPreferences(reaction_auto_dismiss_time=0.3))
    assert theirs.state.value.preferences.reaction_auto_dismiss_time.total_seconds() == 0.3
    reaction = theirs.partial_state(
        lambda s: next((p.reaction for p in s.call_participants if p.user_id == both.alice_id), None))
    assert await reaction.next(WAIT) is None

    sent = await mine.send_reaction("raise-hand", emoji_code=":hand:", custom={"row": 3})
    assert sent.reaction.type == "raise-hand"
    shown = await reaction.next(WAIT)
    assert shown is not None and shown.type == "raise-hand" and shown.emoji_code == ":hand:"
    assert shown.custom == {"row": 3}
    assert await reaction.next(WAIT) is None  # dismissed after 0.3 s
    # alice keeps the default 5 s: her own reaction is still shown on her side
    assert mine.state.value.local_participant.reaction is not None  # type: ignore[union-attr]


async def test_events_are_typed_on_every_stream(pair: MakePair) -> None:
    both = await pair(alice_joins=False, bob_joins=False)
    handled: list[ev.CustomVideoEvent] = []
    listener = both.theirs.events.on(ev.CustomVideoEvent, handled.append)
    async with both.bob.events.subscribe() as everything:
        await both.mine.send_custom_event("my-custom-event", {"key": "value"})
        received = await everything.first(lambda e: isinstance(e, ev.CustomVideoEvent), WAIT)
    assert received.custom == {"type": "my-custom-event", "key": "value"} and received.user.id == both.alice_id
    assert handled == [received]
    listener.cancel()
    async with both.theirs.events.subscribe() as call_events:
        await both.mine.send_custom_event(custom={"again": True})
        again = await call_events.first(lambda e: isinstance(e, ev.CustomVideoEvent), WAIT)
    assert again.custom == {"again": True} and handled == [received]