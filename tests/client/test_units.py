"""Pure parts of the client SDK, no server: sorting comparators and presets, preferences, statuses, options,
observable streams."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from weir.client import (
    CallParticipantPin,
    CallParticipantState,
    CallPreferences,
    CallStatusDisconnected,
    CallStatusJoined,
    CallStatusReconnecting,
    DefaultCallPreferences,
    DisconnectReasonEnded,
    SfuParticipantSource,
    SfuTrackType,
    StateStream,
    StreamCallType,
    StreamVideoOptions,
)
from weir.client.sorting import CallParticipantSortingPresets as Presets
from weir.client.sorting import (
    by_name,
    by_participant_source,
    by_role,
    combine_comparators,
    conditional,
    descending,
    dominant_speaker,
    pinned,
    publishing_audio,
    publishing_video,
    reaction_type,
    screen_sharing,
    sort_participants,
    speaking,
)
from weir.protocol.events import Reaction
from weir.protocol.users import UserResponse

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def person(user_id: str, **fields: object) -> CallParticipantState:
    return CallParticipantState(user_id=user_id, session_id=f"s-{user_id}", name=user_id.title(), **fields)  # type: ignore[arg-type]


def order(participants: list[CallParticipantState], comparator) -> list[str]:  # type: ignore[no-untyped-def]
    return [p.user_id for p in sort_participants(participants, comparator)]


def reaction(kind: str) -> Reaction:
    return Reaction(type=kind, user=UserResponse(id="x", role="user", created_at=T0, updated_at=T0))


@pytest.mark.parametrize(("comparator", "first"), [
    (dominant_speaker, {"is_dominant_speaker": True}),
    (speaking, {"is_speaking": True}),
    (screen_sharing, {"published_tracks": frozenset({SfuTrackType.SCREEN_SHARE})}),
    (publishing_video, {"published_tracks": frozenset({SfuTrackType.VIDEO})}),
    (publishing_audio, {"published_tracks": frozenset({SfuTrackType.AUDIO})}),
    (pinned, {"pin": CallParticipantPin(True, T0)}),
    (reaction_type("raise-hand"), {"reaction": reaction("raise-hand")}),
])
def test_each_flag_comparator_puts_its_participants_first(comparator, first) -> None:  # type: ignore[no-untyped-def]
    plain, marked = person("plain"), person("marked", **first)
    assert comparator(marked, plain) < 0 < comparator(plain, marked)
    assert comparator(plain, person("other")) == 0
    assert order([plain, marked], comparator) == ["marked", "plain"]


def test_reaction_type_ignores_other_reactions() -> None:
    waving, cheering = person("waving", reaction=reaction("wave")), person("cheering", reaction=reaction("cheer"))
    assert order([waving, cheering], reaction_type("cheer")) == ["cheering", "waving"]


def test_pinned_orders_two_pins_newest_first() -> None:
    older = person("older", pin=CallParticipantPin(False, T0))
    newer = person("newer", pin=CallParticipantPin(False, T0 + timedelta(seconds=1)))
    assert order([older, person("none"), newer], pinned) == ["newer", "older", "none"]


def test_by_role_follows_the_order_of_the_roles() -> None:
    people = [person("viewer", roles=("user",)), person("host", roles=("host",)),
              person("admin", roles=("user", "admin"))]
    assert order(people, by_role("admin", "host")) == ["admin", "host", "viewer"]


def test_by_name_and_by_participant_source() -> None:
    people = [person("zed", participant_source=SfuParticipantSource.RTMP), person("amy"),
              person("Bob", participant_source=SfuParticipantSource.WHIP)]
    assert order(people, by_name) == ["amy", "Bob", "zed"]
    assert order(people, by_participant_source()) == ["amy", "Bob", "zed"]  # webrtc, whip, rtmp
    assert order(people, by_participant_source(SfuParticipantSource.RTMP)) == ["zed", "amy", "Bob"]


def test_combining_reversing_and_conditions() -> None:
    people = [person("quiet"), person("talker", is_speaking=True), person("host", roles=("host",))]
    combined = combine_comparators(speaking, by_role("host"), by_name)
    assert order(people, combined) == ["talker", "host", "quiet"]
    assert order(people, descending(combined)) == ["quiet", "host", "talker"]
    enabled = [False]
    switchable = combine_comparators(conditional(lambda: enabled[0], speaking), by_name)
    assert order(people, switchable) == ["host", "quiet", "talker"]
    enabled[0] = True
    assert order(people, switchable) == ["talker", "host", "quiet"]


def test_presets() -> None:
    video = frozenset({SfuTrackType.VIDEO})
    people = [
        person("ann"),
        person("dom", is_dominant_speaker=True),
        person("cam", published_tracks=video),
        person("pin", pin=CallParticipantPin(True, T0)),
        person("share", published_tracks=frozenset({SfuTrackType.SCREEN_SHARE})),
        person("host", roles=("host",)),
    ]
    assert order(people, Presets.regular) == ["pin", "share", "cam", "ann", "dom", "host"]
    assert order(people, Presets.speaker) == ["pin", "share", "dom", "cam", "ann", "host"]
    assert order(people, Presets.livestream_or_audio_room) == [
        "pin", "share", "host", "dom", "cam", "ann"]


def test_preferences_defaults_and_durations() -> None:
    prefs = CallPreferences()
    assert prefs.connect_timeout == timedelta(seconds=60)
    assert prefs.reconnect_timeout == timedelta(seconds=30)
    assert prefs.network_availability_timeout == timedelta(seconds=10)
    assert prefs.reaction_auto_dismiss_time == timedelta(seconds=5)
    assert prefs.call_stats_reporting_interval == timedelta(seconds=2)
    assert prefs.drop_if_alone_in_ringing_flow is True
    assert (prefs.closed_captions_visibility_duration_ms, prefs.closed_captions_visible_captions) == (2700, 2)
    assert prefs.client_publish_options is None
    assert DefaultCallPreferences(connect_timeout=30).connect_timeout == timedelta(seconds=30)
    with pytest.raises(ValueError):
        CallPreferences(reaction_auto_dismiss_time=-1)


def test_statuses_compare_by_value_and_answer_questions() -> None:
    assert CallStatusReconnecting(attempt=2).attempt == 2 and CallStatusReconnecting(2).is_reconnecting
    assert CallStatusJoined().attempt == 0 and CallStatusJoined().is_active and CallStatusJoined().is_joined
    ended = CallStatusDisconnected(DisconnectReasonEnded())
    assert ended == CallStatusDisconnected() and ended.is_disconnected and not ended.is_active
    match ended:
        case CallStatusDisconnected(reason=DisconnectReasonEnded()):
            pass
        case _:
            pytest.fail("pattern matching on statuses")


def test_options_resolve_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEIR_URL", "https://video.example.com/")
    assert StreamVideoOptions().rpc_base() == "https://video.example.com/api/v1"
    assert StreamVideoOptions().ws_url() == "wss://video.example.com/api/v1/connect"
    given = StreamVideoOptions(coordinator_rpc_url="http://h:1", coordinator_ws_url="ws://w:2/api/v1")
    assert (given.rpc_base(), given.ws_url()) == ("http://h:1/api/v1", "ws://w:2/api/v1/connect")
    assert StreamCallType.custom("mine").value == "mine" and str(StreamCallType.audio_room()) == "audio_room"


async def test_state_stream_subscriptions() -> None:
    stream: StateStream[int] = StateStream(1)
    first = stream.subscribe()
    doubled = stream.partial(lambda n: n // 2)
    stream.set(1)  # unchanged: nobody hears of it
    stream.set(2)
    stream.set(3)
    assert [await first.next(1) for _ in range(3)] == [1, 2, 3]
    assert [await doubled.next(1) for _ in range(2)] == [0, 1]  # 2 and 3 both select 1
    first.close()
    with pytest.raises(StopAsyncIteration):
        await first.__anext__()
    seen: list[int] = []
    listener = stream.listen(seen.append)
    stream.set(4)
    listener.cancel()
    stream.set(5)
    assert seen == [4]
    with pytest.raises(asyncio.TimeoutError):
        await doubled.first(lambda n: n > 10, 0.05)



async def test_the_leave_of_a_failed_rejoin_attempts_session_ends_nothing() -> None:
    """A rejoin attempt whose SFU connection failed leaves its new session at the coordinator, and the next attempt
    joins again. The coordinator's ``session_participant_left`` for it must not read as this client removed."""
    from dataclasses import replace

    from weir.client import StreamVideo, User
    from weir.client.call import _Children
    from weir.protocol.calls import CallParticipant
    from weir.protocol.events import CallSessionParticipantLeftEvent

    client = StreamVideo.create("key", user=User.regular("alice"), user_token="t",
                                options=StreamVideoOptions(coordinator_rpc_url="http://127.0.0.1:9"))
    call = client.make_call(id="c")
    call._update(replace(call.state.value, status=CallStatusReconnecting(1), user_session_id="s2"))
    _Children(call).forget_session("s2")  # its leave fails here (nothing listens): only logged
    call._handle_event(CallSessionParticipantLeftEvent(
        call_cid=call.cid, created_at=T0, session_id="cs", duration_seconds=1, reason="left",
        participant=CallParticipant(user=UserResponse(id="alice", role="user", created_at=T0, updated_at=T0),
                                    user_session_id="s2", role="user", joined_at=T0)))
    assert call.state.value.status == CallStatusReconnecting(1)
    await client.disconnect()
