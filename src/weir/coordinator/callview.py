"""Build the call state a caller sees: the call, its session, its members, the caller's membership and capabilities."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from weir.coordinator.call_access import CallAccess
from weir.domain.clock import utc
from weir.domain.sessions import participant_counts
from weir.protocol.calls import (
    CallParticipant,
    CallResponse,
    CallSessionResponse,
    CallStateResponse,
    MemberResponse,
    PinResponse,
)
from weir.coordinator.userview import user_response
from weir.protocol.users import UserResponse
from weir.store.calls import list_members, users_by_id
from weir.store.sessions import active_participants, latest_session
from weir.store.tables import CallMemberRow, CallRow, SessionParticipantRow, UserRow
from weir.store.users import ensure_user


def member_response(row: CallMemberRow, user: UserRow) -> MemberResponse:
    return MemberResponse(
        user_id=row.user_id, user=user_response(user), role=row.role, custom=row.custom or {},
        created_at=utc(row.created_at), updated_at=utc(row.updated_at),  # type: ignore[arg-type]
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


async def session_response(session: AsyncSession, call: CallRow) -> CallSessionResponse | None:
    row = await latest_session(session, call)
    if row is None:
        return None
    participants = await active_participants(session, row.id)
    users = await users_by_id(session, [p.user_id for p in participants if not p.anonymous])
    by_role, anonymous = participant_counts(participants)
    return CallSessionResponse(
        id=row.id, participants=[participant_response(p, users.get(p.user_id)) for p in participants],
        participants_count_by_role=by_role, anonymous_participant_count=anonymous,
        accepted_by=_times(row.accepted_by), rejected_by=_times(row.rejected_by), missed_by=_times(row.missed_by),
        started_at=utc(row.started_at), ended_at=utc(row.ended_at), live_started_at=utc(row.live_started_at),
        live_ended_at=utc(row.live_ended_at), timer_ends_at=utc(row.timer_ends_at),
        pins=[PinResponse.model_validate(pin) for pin in row.pins or []],
    )


async def call_response(session: AsyncSession, call: CallRow, access: CallAccess) -> CallResponse:
    creator = await ensure_user(session, call.created_by_id)
    backstage_settings = access.settings.get("backstage", {})
    return CallResponse(
        type=call.type, id=call.id, cid=call.cid, created_by=user_response(creator), custom=call.custom or {},
        current_session_id=call.current_session_id or "",
        team=call.team, settings=access.settings, backstage=call.backstage, recording=call.recording,
        transcribing=call.transcribing, captioning=call.captioning, broadcasting=call.broadcasting,
        blocked_user_ids=list(call.blocked_user_ids or []), created_at=utc(call.created_at),  # type: ignore[arg-type]
        updated_at=utc(call.updated_at), starts_at=utc(call.starts_at),  # type: ignore[arg-type]
        ended_at=utc(call.ended_at), join_ahead_time_seconds=backstage_settings.get("join_ahead_time_seconds"),
        session=await session_response(session, call),
    )


async def call_state_response(
    session: AsyncSession, call: CallRow, access: CallAccess, members_limit: int
) -> CallStateResponse:
    members = await list_members(session, call.cid, members_limit)
    membership = access.membership
    wanted = [*(m.user_id for m in members), *([membership.user_id] if membership else [])]
    users = await users_by_id(session, wanted)
    return CallStateResponse(
        call=await call_response(session, call, access),
        members=[member_response(m, users[m.user_id]) for m in members if m.user_id in users],
        membership=member_response(membership, users[membership.user_id]) if membership else None,
        own_capabilities=sorted(access.capabilities),
    )
