"""Folding the coordinator's answers (a call, a session, members) into a ``CallState``.

Client-side parts of a participant (its reaction, local pin and, later, media fields) survive a refresh: a
participant is matched by its session id and only the server's fields are replaced.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import replace

from weir.client.state import CallParticipantPin, CallParticipantState, CallState
from weir.protocol.calls import CallParticipant, CallResponse, CallSessionResponse, CallStateResponse, MemberResponse


def participant(server: CallParticipant, state: CallState) -> CallParticipantState:
    """``server`` as a participant state, keeping what this client already knew about that session."""
    user = server.user
    fields = dict(
        user_id=user.id, session_id=server.user_session_id, roles=(server.role,), name=user.name or "",
        image=user.image or "", custom=dict(user.custom), joined_at=server.joined_at,
        is_local=bool(state.user_session_id) and server.user_session_id == state.user_session_id,
    )
    known = next((p for p in state.call_participants if p.session_id == server.user_session_id), None)
    return replace(known, **fields) if known is not None else CallParticipantState(**fields)  # type: ignore[arg-type]


def with_pins(state: CallState) -> CallState:
    """Recompute each participant's ``pin``: a local pin wins over a pin for everyone."""
    everyone = {pin.session_id: pin.pinned_at for pin in state.pins}

    def pin_of(session_id: str) -> CallParticipantPin | None:
        if session_id in state.local_pins:
            return CallParticipantPin(True, state.local_pins[session_id])
        if session_id in everyone:
            return CallParticipantPin(False, everyone[session_id])
        return None

    return replace(state, call_participants=tuple(
        replace(p, pin=pin_of(p.session_id)) for p in state.call_participants))


def with_participants(state: CallState, participants: Iterable[CallParticipant]) -> CallState:
    return with_pins(replace(state, call_participants=tuple(participant(p, state) for p in participants)))


def with_session(state: CallState, session: CallSessionResponse | None) -> CallState:
    if session is None:
        return state
    live = session.ended_at is None
    state = replace(
        state, session_id=session.id if live else "", started_at=session.started_at,
        live_started_at=session.live_started_at, live_ended_at=session.live_ended_at,
        timer_ends_at=session.timer_ends_at, accepted_by=dict(session.accepted_by),
        rejected_by=dict(session.rejected_by), missed_by=dict(session.missed_by), pins=tuple(session.pins),
        participant_count=sum(session.participants_count_by_role.values()) + session.anonymous_participant_count,
        anonymous_participant_count=session.anonymous_participant_count,
    )
    return with_participants(state, session.participants)


def with_call(state: CallState, call: CallResponse) -> CallState:
    """Everything a ``CallResponse`` says: the call's fields and its latest session."""
    state = replace(
        state, created_by_user=call.created_by, created_by_user_id=call.created_by.id, custom=dict(call.custom),
        settings=dict(call.settings), team=call.team, is_backstage=call.backstage, is_recording=call.recording,
        is_transcribing=call.transcribing, is_captioning=call.captioning, is_broadcasting=call.broadcasting,
        blocked_user_ids=tuple(call.blocked_user_ids), created_at=call.created_at, updated_at=call.updated_at,
        starts_at=call.starts_at, ended_at=call.ended_at, rtmp_ingress=call.ingress.rtmp.address or None,
        egress=_playlist_url(call),
    )
    return with_session(state, call.session)


def _playlist_url(call: CallResponse) -> str | None:
    """The HLS master playlist while the call broadcasts to HLS (the state's ``egress``)."""
    hls = call.egress.hls
    return hls.playlist_url if hls is not None and hls.status == "running" else None


def without_sessions(state: CallState, session_ids: Collection[str]) -> CallState:
    """``state`` without the participants of these sessions (this client's former ones)."""
    kept = tuple(p for p in state.call_participants if p.session_id not in session_ids)
    return state if len(kept) == len(state.call_participants) else replace(state, call_participants=kept)


def with_members(state: CallState, members: Iterable[MemberResponse]) -> CallState:
    """Add or update these members, keeping the order of those already known."""
    incoming = {m.user_id: m for m in members}
    kept = tuple(incoming.pop(m.user_id, m) for m in state.call_members)
    return replace(state, call_members=kept + tuple(incoming.values()))


def without_members(state: CallState, user_ids: Iterable[str]) -> CallState:
    gone = set(user_ids)
    return replace(state, call_members=tuple(m for m in state.call_members if m.user_id not in gone))


def with_state_response(state: CallState, response: CallStateResponse) -> CallState:
    """A full answer (get, get-or-create, join, update): the call, its members and this user's capabilities."""
    state = with_call(state, response.call)
    return replace(state, call_members=tuple(response.members), own_capabilities=tuple(response.own_capabilities))


def with_capabilities_by_role(state: CallState, by_role: Mapping[str, list[str]]) -> CallState:
    return replace(state, capabilities_by_role={role: tuple(caps) for role, caps in by_role.items()})

