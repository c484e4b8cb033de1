"""Build the call state a caller sees: the call, its session, its members, the caller's membership and capabilities."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from weir.coordinator.call_access import CallAccess
from weir.coordinator.ingress import ingress_of, ingress_response
from weir.coordinator.userview import user_response
from weir.domain.clock import utc
from weir.domain.ingress import IngressBases
from weir.domain.sessions import participant_counts
from weir.protocol.calls import (
    CallParticipant,
    CallResponse,
    CallSessionResponse,
    CallStateResponse,
    MemberResponse,
    PinResponse,
)
from weir.protocol.freeform import readable_custom
from weir.protocol.recordings import egress_response
from weir.protocol.users import UserResponse
from weir.store.calls import users_by_id
from weir.store.tables import CallMemberRow, CallRow, CallSessionRow, SessionParticipantRow, UserRow


def member_response(row: CallMemberRow, user: UserRow) -> MemberResponse:
    return MemberResponse(
        user_id=row.user_id, user=user_response(user), role=row.role,
        custom=readable_custom(row.custom, f"member {row.user_id} of {row.call_cid}"),
        created_at=utc(row.created_at), updated_at=utc(row.updated_at),
    )


def participant_response(row: SessionParticipantRow, user: UserRow | None) -> CallParticipant:
    joined = utc(row.joined_at)
    assert joined is not None
    if user is None:  # anonymous viewers have no user record
        person = UserResponse(id=row.user_id, role=row.role, created_at=joined, updated_at=joined)
    else:
        person = user_response(user)
    return CallParticipant(user=person, user_session_id=row.user_session_id, role=row.role, joined_at=joined)


def _times(answers: dict[str, Any]) -> dict[str, datetime]:
    return {user_id: datetime.fromisoformat(stamp) for user_id, stamp in answers.items()}


KnownSession = tuple[CallSessionRow, list[SessionParticipantRow]]


@dataclass
class Loaded:
    """What the responses for a set of calls need, read in a few queries whatever the number of calls."""

    members: dict[str, list[CallMemberRow]] = field(default_factory=dict)
    sessions: dict[str, CallSessionRow] = field(default_factory=dict)
    participants: dict[str, list[SessionParticipantRow]] = field(default_factory=dict)
    users: dict[str, UserRow] = field(default_factory=dict)
    ingress: IngressBases | None = None


async def load(session: AsyncSession, calls: list[CallRow], members_limit: int,
               extra_user_ids: Iterable[str] = (), known: KnownSession | None = None) -> Loaded:
    """``known``: a session and its active participants already read in this transaction (a join's)."""
    loaded = Loaded(ingress=ingress_of(session))
    cids = [call.cid for call in calls]
    if members_limit > 0 and cids:
        rows = await session.scalars(select(CallMemberRow).where(CallMemberRow.call_cid.in_(cids))
                                     .order_by(CallMemberRow.created_at, CallMemberRow.user_id))
        for row in rows.all():
            kept = loaded.members.setdefault(row.call_cid, [])
            if len(kept) < members_limit:
                kept.append(row)
    if known is not None:
        loaded.sessions[known[0].id], loaded.participants[known[0].id] = known[0], list(known[1])
    session_ids = [call.current_session_id for call in calls
                   if call.current_session_id and call.current_session_id not in loaded.sessions]
    if session_ids:
        loaded.sessions.update({row.id: row for row in (await session.scalars(
            select(CallSessionRow).where(CallSessionRow.id.in_(session_ids)))).all()})
        participants = await session.scalars(
            select(SessionParticipantRow)
            .where(SessionParticipantRow.session_id.in_(session_ids), SessionParticipantRow.left_at.is_(None))
            .order_by(SessionParticipantRow.joined_at))
        for participant in participants.all():
            loaded.participants.setdefault(participant.session_id, []).append(participant)
    wanted = {call.created_by_id for call in calls} | set(extra_user_ids)
    wanted |= {m.user_id for rows in loaded.members.values() for m in rows}
    wanted |= {p.user_id for rows in loaded.participants.values() for p in rows if not p.anonymous}
    loaded.users = await users_by_id(session, wanted)
    return loaded


def _session(row: CallSessionRow, participants: list[SessionParticipantRow], users: dict[str, UserRow]
             ) -> CallSessionResponse:
    by_role, anonymous = participant_counts(participants)
    return CallSessionResponse(
        id=row.id, participants=[participant_response(p, users.get(p.user_id)) for p in participants],
        participants_count_by_role=by_role, anonymous_participant_count=anonymous,
        accepted_by=_times(row.accepted_by), rejected_by=_times(row.rejected_by), missed_by=_times(row.missed_by),
        started_at=utc(row.started_at), ended_at=utc(row.ended_at), live_started_at=utc(row.live_started_at),
        live_ended_at=utc(row.live_ended_at), timer_ends_at=utc(row.timer_ends_at),
        pins=[PinResponse.model_validate(pin) for pin in row.pins or []],
    )


def _user(users: dict[str, UserRow], user_id: str, since: datetime) -> UserResponse:
    """A user as stored; one that was hard-deleted shows as a bare record rather than failing the call."""
    row = users.get(user_id)
    return user_response(row) if row is not None else UserResponse(id=user_id, role="user", created_at=since,
                                                                    updated_at=since)


def _call(call: CallRow, access: CallAccess, loaded: Loaded) -> CallResponse:
    created = utc(call.created_at)
    assert created is not None
    session_row = loaded.sessions.get(call.current_session_id or "")
    return CallResponse(
        type=call.type, id=call.id, cid=call.cid, created_by=_user(loaded.users, call.created_by_id, created),
        custom=readable_custom(call.custom, f"call {call.cid}"), current_session_id=call.current_session_id or "",
        team=call.team, settings=access.settings.raw, backstage=call.backstage, recording=call.recording,
        transcribing=call.transcribing, captioning=call.captioning, broadcasting=call.broadcasting,
        blocked_user_ids=list(call.blocked_user_ids or []), created_at=created,
        updated_at=utc(call.updated_at), starts_at=utc(call.starts_at),
        ended_at=utc(call.ended_at), join_ahead_time_seconds=access.settings.join_ahead_time_seconds,
        session=None if session_row is None else _session(
            session_row, loaded.participants.get(session_row.id, []), loaded.users),
        egress=egress_response(call.egress_status or {}, call.broadcasting),
        ingress=ingress_response(loaded.ingress, call.type, call.id),
    )


async def call_response(session: AsyncSession, call: CallRow, access: CallAccess) -> CallResponse:
    return _call(call, access, await load(session, [call], 0))


async def call_states(
    session: AsyncSession, calls: list[CallRow], accesses: list[CallAccess], members_limit: int,
    known: KnownSession | None = None,
) -> list[CallStateResponse]:
    """The state of each call as its caller sees it (``accesses`` pairs with ``calls``)."""
    memberships = [access.membership for access in accesses]
    loaded = await load(session, calls, members_limit, (m.user_id for m in memberships if m is not None), known)
    states = []
    for call, access, membership in zip(calls, accesses, memberships, strict=True):
        members = loaded.members.get(call.cid, [])
        states.append(CallStateResponse(
            call=_call(call, access, loaded),
            members=[member_response(m, loaded.users[m.user_id]) for m in members if m.user_id in loaded.users],
            membership=member_response(membership, loaded.users[membership.user_id])
            if membership is not None and membership.user_id in loaded.users else None,
            own_capabilities=sorted(access.capabilities),
        ))
    return states


async def call_state_response(
    session: AsyncSession, call: CallRow, access: CallAccess, members_limit: int, known: KnownSession | None = None,
) -> CallStateResponse:
    return (await call_states(session, [call], [access], members_limit, known))[0]
