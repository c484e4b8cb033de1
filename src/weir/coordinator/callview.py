"""Build the call state a caller sees: the call, its members, the caller's membership and capabilities."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from weir.coordinator.call_access import CallAccess
from weir.domain.clock import utc
from weir.protocol.calls import CallResponse, CallStateResponse, MemberResponse
from weir.protocol.users import user_response
from weir.store.calls import list_members, users_by_id
from weir.store.tables import CallMemberRow, CallRow, UserRow
from weir.store.users import ensure_user


def member_response(row: CallMemberRow, user: UserRow) -> MemberResponse:
    return MemberResponse(
        user_id=row.user_id, user=user_response(user), role=row.role, custom=row.custom or {},
        created_at=utc(row.created_at), updated_at=utc(row.updated_at),  # type: ignore[arg-type]
    )


def call_response(call: CallRow, creator: UserRow, access: CallAccess) -> CallResponse:
    backstage_settings = access.settings.get("backstage", {})
    return CallResponse(
        type=call.type, id=call.id, cid=call.cid, created_by=user_response(creator), custom=call.custom or {},
        current_session_id=call.current_session_id or "",
        team=call.team, settings=access.settings, backstage=call.backstage, recording=call.recording,
        transcribing=call.transcribing, captioning=call.captioning, broadcasting=call.broadcasting,
        blocked_user_ids=list(call.blocked_user_ids or []), created_at=utc(call.created_at),  # type: ignore[arg-type]
        updated_at=utc(call.updated_at), starts_at=utc(call.starts_at),  # type: ignore[arg-type]
        ended_at=utc(call.ended_at), join_ahead_time_seconds=backstage_settings.get("join_ahead_time_seconds"),
    )


async def call_state_response(
    session: AsyncSession, call: CallRow, access: CallAccess, members_limit: int
) -> CallStateResponse:
    members = await list_members(session, call.cid, members_limit)
    membership = access.membership
    wanted = [call.created_by_id, *(m.user_id for m in members), *([membership.user_id] if membership else [])]
    users = await users_by_id(session, wanted)
    creator = users.get(call.created_by_id) or await ensure_user(session, call.created_by_id)
    return CallStateResponse(
        call=call_response(call, creator, access),
        members=[member_response(m, users[m.user_id]) for m in members if m.user_id in users],
        membership=member_response(membership, users[membership.user_id]) if membership else None,
        own_capabilities=sorted(access.capabilities),
    )
