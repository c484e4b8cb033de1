"""How each coordinator event changes a ``CallState`` (data only; the status is ``transitions.py``'s job)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from weir.client.snapshot import (
    participant,
    with_call,
    with_capabilities_by_role,
    with_members,
    with_pins,
    without_members,
)
from weir.client.state import CallState
from weir.protocol import events as ev
from weir.protocol.transcriptions import CallClosedCaption

# Events that carry no call but switch one of its flags (egress workers emit them).
FLAGS: dict[str, tuple[str, bool]] = {
    "call.recording_started": ("is_recording", True),
    "call.recording_stopped": ("is_recording", False),
    "call.recording_failed": ("is_recording", False),
    "call.hls_broadcasting_stopped": ("is_broadcasting", False),
    "call.hls_broadcasting_failed": ("is_broadcasting", False),
    "call.transcription_started": ("is_transcribing", True),
    "call.transcription_stopped": ("is_transcribing", False),
    "call.transcription_failed": ("is_transcribing", False),
    "call.closed_captions_started": ("is_captioning", True),
    "call.closed_captions_stopped": ("is_captioning", False),
    "call.closed_captions_failed": ("is_captioning", False),
}


def _members(state: CallState, event: ev.Event) -> CallState:
    if isinstance(event, ev.CallMemberRemovedEvent):
        return without_members(state, event.members)
    if isinstance(event, (ev.CallMemberAddedEvent, ev.CallMemberUpdatedEvent, ev.CallMemberUpdatedPermissionEvent,
                          ev.CallRingEvent)):
        state = with_members(state, event.members)
    if isinstance(event, (ev.CallUpdatedEvent, ev.CallMemberUpdatedPermissionEvent)):
        state = with_capabilities_by_role(state, event.capabilities_by_role)
    return state


def _participant_joined(state: CallState, event: ev.CallSessionParticipantJoinedEvent) -> CallState:
    if any(p.session_id == event.participant.user_session_id for p in state.call_participants):
        return state
    joined = participant(event.participant, state)
    return with_pins(replace(state, session_id=event.session_id, call_participants=(*state.call_participants, joined)))


def _participant_left(state: CallState, event: ev.CallSessionParticipantLeftEvent) -> CallState:
    gone = event.participant.user_session_id
    return replace(state, call_participants=tuple(p for p in state.call_participants if p.session_id != gone))


def _counts(state: CallState, event: ev.CallSessionParticipantCountsUpdatedEvent) -> CallState:
    anonymous = event.anonymous_participant_count
    return replace(state, anonymous_participant_count=anonymous,
                   participant_count=sum(event.participants_count_by_role.values()) + anonymous)


def _blocked(state: CallState, event: ev.BlockedUserEvent) -> CallState:
    if event.user.id in state.blocked_user_ids:
        return state
    return replace(state, blocked_user_ids=(*state.blocked_user_ids, event.user.id))


def _unblocked(state: CallState, event: ev.UnblockedUserEvent) -> CallState:
    return replace(state, blocked_user_ids=tuple(u for u in state.blocked_user_ids if u != event.user.id))


def _permissions(state: CallState, event: ev.UpdatedCallPermissionsEvent) -> CallState:
    if event.user.id != state.current_user_id:
        return state
    return replace(state, own_capabilities=tuple(event.own_capabilities))


def _reaction(state: CallState, event: ev.CallReactionEvent) -> CallState:
    sender = event.reaction.user.id
    return replace(state, call_participants=tuple(
        replace(p, reaction=event.reaction) if p.user_id == sender else p for p in state.call_participants))


def _caption(state: CallState, event: ev.ClosedCaptionEvent) -> CallState:
    """The caption joins the queue, which keeps the newest ``closed_captions_visible_captions``."""
    keep = max(state.preferences.closed_captions_visible_captions, 0)
    captions = (*state.closed_captions, CallClosedCaption.model_validate(event.closed_caption))
    return replace(state, closed_captions=captions[len(captions) - keep:] if keep else ())


def _broadcast_started(state: CallState, event: ev.CallHLSBroadcastingStartedEvent) -> CallState:
    return replace(state, is_broadcasting=True, egress=event.hls_playlist_url)


def _broadcast_ended(state: CallState, event: ev.Event) -> CallState:
    return replace(state, egress=None)  # the playlist is gone with the broadcast


HANDLERS: dict[type[ev.Event], Callable[[CallState, ev.Event], CallState]] = {
    ev.CallSessionParticipantJoinedEvent: _participant_joined,  # type: ignore[dict-item]
    ev.CallSessionParticipantLeftEvent: _participant_left,  # type: ignore[dict-item]
    ev.CallSessionParticipantCountsUpdatedEvent: _counts,  # type: ignore[dict-item]
    ev.BlockedUserEvent: _blocked,  # type: ignore[dict-item]
    ev.UnblockedUserEvent: _unblocked,  # type: ignore[dict-item]
    ev.UpdatedCallPermissionsEvent: _permissions,  # type: ignore[dict-item]
    ev.CallReactionEvent: _reaction,  # type: ignore[dict-item]
    ev.CallHLSBroadcastingStartedEvent: _broadcast_started,  # type: ignore[dict-item]
    ev.ClosedCaptionEvent: _caption,  # type: ignore[dict-item]
    ev.CallHLSBroadcastingStoppedEvent: _broadcast_ended,
    ev.CallHLSBroadcastingFailedEvent: _broadcast_ended,
}


def apply_event(state: CallState, event: ev.Event) -> CallState:
    """The state after ``event``; events that don't concern the state leave it as it is."""
    if isinstance(event, ev.WithCall):
        state = with_call(state, event.call)
    if isinstance(event, ev.CallRingEvent):
        state = replace(state, is_ringing_flow=True, ringing_caller_id=event.user.id)
    state = _members(state, event)
    handler = HANDLERS.get(type(event))
    if handler is not None:
        state = handler(state, event)
    flag = FLAGS.get(event.type)
    if flag is not None:
        changes: dict[str, Any] = {flag[0]: flag[1]}
        state = replace(state, **changes)
    return state
