"""How each SFU event changes a ``CallState``: participants with their tracks, speaking, dominant speaker,
connection quality, pins, paused video, capabilities and counts (data only; statuses are the call's job)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from weir.client.snapshot import with_pins
from weir.client.state import (
    CallParticipantState,
    CallState,
    ConnectionQuality,
    SfuParticipantSource,
    SfuTrackType,
)
from weir.protocol.calls import PinResponse
from weir.protocol.sfu import events as sfu
from weir.protocol.sfu.models import Participant, Pin

AUDIO_LEVELS_KEPT = 10  # ``audio_levels``: the latest levels, oldest first


def _fields(server: Participant, state: CallState) -> dict[str, Any]:
    return dict(
        user_id=server.user_id, session_id=server.session_id, name=server.name, image=server.image,
        custom=dict(server.custom), roles=tuple(server.roles), track_id_prefix=server.session_id,
        published_tracks=frozenset(SfuTrackType(t) for t in server.published_tracks),
        is_speaking=server.is_speaking, is_dominant_speaker=server.is_dominant_speaker,
        audio_level=server.audio_level, connection_quality=ConnectionQuality(server.connection_quality),
        participant_source=SfuParticipantSource(server.source), joined_at=server.joined_at,
        is_local=server.session_id == state.user_session_id,
    )


def with_participant(state: CallState, server: Participant) -> CallState:
    """Add ``server``'s session, or update it keeping what only this client knows (reaction, local pin, ...)."""
    fields = _fields(server, state)
    known = next((p for p in state.call_participants if p.session_id == server.session_id), None)
    # the SFU reports levels as they change: a steady speaker's history starts with the level it has now
    if (known is None or not known.audio_levels) and server.audio_level > 0:
        fields["audio_levels"] = (server.audio_level,)
    if known is None:
        participants = (*state.call_participants, CallParticipantState(**fields))
    else:
        participants = tuple(replace(p, **fields) if p is known else p for p in state.call_participants)
    return with_pins(replace(state, call_participants=participants))


def _pins(pins: Iterable[Pin]) -> tuple[PinResponse, ...]:
    return tuple(PinResponse(user_id=p.user_id, session_id=p.session_id, pinned_at=p.pinned_at) for p in pins)


def _each(state: CallState, change: Callable[[CallParticipantState], CallParticipantState | None]) -> CallState:
    changed = tuple(change(p) or p for p in state.call_participants)
    return replace(state, call_participants=changed)


def _join_response(state: CallState, event: sfu.JoinResponseEvent) -> CallState:
    present = {p.session_id for p in event.call_state.participants}
    # the SFU's list is the truth about who is in the media session (at most 250: keep others the coordinator had)
    if event.call_state.participant_count.total <= len(event.call_state.participants):
        state = replace(state, call_participants=tuple(p for p in state.call_participants if p.session_id in present))
    for participant in event.call_state.participants:
        state = with_participant(state, participant)
    state = replace(state, own_capabilities=tuple(event.own_capabilities), pins=_pins(event.call_state.pins),
                    participant_count=event.call_state.participant_count.total,
                    anonymous_participant_count=event.call_state.participant_count.anonymous,
                    started_at=event.call_state.started_at or state.started_at)
    return with_pins(state)


def _left(state: CallState, event: sfu.ParticipantLeftEvent) -> CallState:
    gone = event.participant.session_id
    return replace(state, call_participants=tuple(p for p in state.call_participants if p.session_id != gone))


def _audio_levels(state: CallState, event: sfu.AudioLevelChangedEvent) -> CallState:
    levels = {a.session_id: a for a in event.audio_levels}

    def change(p: CallParticipantState) -> CallParticipantState | None:
        level = levels.get(p.session_id)
        if level is None:
            return None
        return replace(p, audio_level=level.level, is_speaking=level.is_speaking,
                       audio_levels=(*p.audio_levels, level.level)[-AUDIO_LEVELS_KEPT:])

    return _each(state, change)


def _dominant(state: CallState, event: sfu.DominantSpeakerChangedEvent) -> CallState:
    return _each(state, lambda p: replace(p, is_dominant_speaker=p.session_id == event.session_id))


def _quality(state: CallState, event: sfu.ConnectionQualityChangedEvent) -> CallState:
    quality = {u.session_id: ConnectionQuality(u.connection_quality) for u in event.updates}
    return _each(state, lambda p: replace(p, connection_quality=quality[p.session_id])
                 if p.session_id in quality else None)


def _inbound(state: CallState, event: sfu.InboundStateNotificationEvent) -> CallState:
    def change(p: CallParticipantState) -> CallParticipantState | None:
        mine = [s for s in event.inbound_video_states if s.session_id == p.session_id]
        if not mine:
            return None
        paused = set(p.paused_tracks)
        for s in mine:
            (paused.add if s.paused else paused.discard)(SfuTrackType(s.track_type))
        return replace(p, paused_tracks=frozenset(paused))

    return _each(state, change)


HANDLERS: dict[type[Any], Callable[[CallState, Any], CallState]] = {
    sfu.JoinResponseEvent: _join_response,
    sfu.ParticipantJoinedEvent: lambda s, e: with_participant(s, e.participant),
    sfu.ParticipantUpdatedEvent: lambda s, e: with_participant(s, e.participant),
    sfu.TrackPublishedEvent: lambda s, e: with_participant(s, e.participant),
    sfu.TrackUnpublishedEvent: lambda s, e: s if e.cause == "left" else with_participant(s, e.participant),
    sfu.ParticipantLeftEvent: _left,
    sfu.AudioLevelChangedEvent: _audio_levels,
    sfu.DominantSpeakerChangedEvent: _dominant,
    sfu.ConnectionQualityChangedEvent: _quality,
    sfu.InboundStateNotificationEvent: _inbound,
    sfu.PinsUpdatedEvent: lambda s, e: with_pins(replace(s, pins=_pins(e.pins))),
    sfu.CallGrantsUpdatedEvent: lambda s, e: replace(s, own_capabilities=tuple(e.own_capabilities)),
    sfu.HealthCheckResponseEvent: lambda s, e: replace(s, participant_count=e.participant_count.total,
                                                        anonymous_participant_count=e.participant_count.anonymous),
}


def apply_sfu_event(state: CallState, event: sfu.AnyEvent) -> CallState:
    handler = HANDLERS.get(type(event))
    return handler(state, event) if handler is not None else state


__all__ = ["apply_sfu_event", "with_participant"]
