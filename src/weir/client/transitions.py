"""How coordinator events move this user's ``CallStatus``: ringing answers, endings, blocks, kicks, drops.

``status_after(before, after, event)`` is pure: ``before`` and ``after`` are the states either side of
``apply_event``; it returns the new status, or None when the event doesn't move it. The loss of this client's
session by the SFU (``session_lost``) moves no status: the call reconnects instead.
"""

from __future__ import annotations

from weir.client.state import CallState
from weir.client.status import (
    CallStatus,
    CallStatusDisconnected,
    CallStatusIdle,
    CallStatusIncoming,
    CallStatusOutgoing,
    DisconnectReasonBlocked,
    DisconnectReasonCancelled,
    DisconnectReasonEnded,
    DisconnectReasonKicked,
    DisconnectReasonLastParticipantLeft,
    DisconnectReasonRejected,
    DisconnectReasonTimeout,
)
from weir.protocol import events as ev
from weir.protocol.leave_reasons import SESSION_LOST_REASONS

REJECTED_BY_EVERYONE = "rejected"  # the server's call.ended reason when every callee rejected


def _ringing(status: CallStatus) -> bool:
    return isinstance(status, (CallStatusIncoming, CallStatusOutgoing))


def _in_call_or_ringing(status: CallStatus) -> bool:
    return status.is_active or _ringing(status)


def _ended(state: CallState, event: ev.CallEndedEvent | ev.CallDeletedEvent) -> CallStatus | None:
    if not _in_call_or_ringing(state.status):
        return None
    if isinstance(event, ev.CallEndedEvent) and event.reason == REJECTED_BY_EVERYONE:
        return CallStatusDisconnected(DisconnectReasonRejected())
    return CallStatusDisconnected(DisconnectReasonEnded())


def _rejected(before: CallState, after: CallState, event: ev.CallRejectedEvent) -> CallStatus | None:
    me, by = before.current_user_id, event.user.id
    timeout = event.reason == "timeout"
    if isinstance(before.status, CallStatusIncoming):
        if by == me:  # answered on another device, or the server timed this user's ring out
            return CallStatusDisconnected(DisconnectReasonTimeout() if timeout else DisconnectReasonRejected(me))
        if by == (before.ringing_caller_id or before.created_by_user_id):  # the caller gave up
            return CallStatusDisconnected(DisconnectReasonTimeout() if timeout else DisconnectReasonCancelled(by))
        return None
    if isinstance(before.status, CallStatusOutgoing):
        if by == me:
            return CallStatusDisconnected(DisconnectReasonTimeout() if timeout else DisconnectReasonCancelled(me))
        callees = [m.user_id for m in after.call_members if m.user_id != me]
        if callees and not after.accepted_by and all(c in after.rejected_by for c in callees):
            return CallStatusDisconnected(DisconnectReasonRejected(by))
    return None


def session_lost(before: CallState, event: ev.Event) -> bool:
    """Did the SFU lose this client's session (its worker died, ...)? The call goes on: the client rejoins."""
    return (isinstance(event, ev.CallSessionParticipantLeftEvent) and before.status.is_active
            and bool(before.user_session_id) and event.participant.user_session_id == before.user_session_id
            and event.reason in SESSION_LOST_REASONS)


def _left(before: CallState, after: CallState, event: ev.CallSessionParticipantLeftEvent) -> CallStatus | None:
    if not before.status.is_active or session_lost(before, event):
        return None
    if event.participant.user_session_id == before.user_session_id:  # the server removed this client
        return CallStatusDisconnected(DisconnectReasonTimeout() if event.reason == "timeout"
                                      else DisconnectReasonEnded())
    someone_else = event.participant.user.id != before.current_user_id
    alone = all(p.user_id == before.current_user_id for p in after.call_participants)
    if someone_else and alone and before.is_ringing_flow and before.preferences.drop_if_alone_in_ringing_flow:
        return CallStatusDisconnected(DisconnectReasonLastParticipantLeft())
    return None


def status_after(before: CallState, after: CallState, event: ev.Event) -> CallStatus | None:
    me = before.current_user_id
    status = before.status
    if isinstance(event, ev.CallRingEvent):
        return CallStatusIncoming(video=event.video) if not status.is_active else None
    if isinstance(event, (ev.CallEndedEvent, ev.CallDeletedEvent)):
        return _ended(before, event)
    if isinstance(event, ev.CallRejectedEvent):
        return _rejected(before, after, event)
    if isinstance(event, ev.CallAcceptedEvent):  # accepted on another of this user's devices
        return CallStatusIdle() if event.user.id == me and isinstance(status, CallStatusIncoming) else None
    if isinstance(event, ev.CallMissedEvent):
        return CallStatusDisconnected(DisconnectReasonTimeout()) if isinstance(status, CallStatusIncoming) else None
    if isinstance(event, ev.BlockedUserEvent) and event.user.id == me and _in_call_or_ringing(status):
        by = event.blocked_by_user.id if event.blocked_by_user else None
        return CallStatusDisconnected(DisconnectReasonBlocked(by))
    if isinstance(event, ev.KickedUserEvent) and event.user.id == me and status.is_active:
        by = event.kicked_by_user.id if event.kicked_by_user else None
        return CallStatusDisconnected(DisconnectReasonKicked(by))
    if isinstance(event, ev.CallSessionParticipantLeftEvent):
        return _left(before, after, event)
    return None
