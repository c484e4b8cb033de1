"""Call session and participant repository."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from weir.domain.clock import now
from weir.store.tables import CallRow, CallSessionRow, SessionParticipantRow


def new_id() -> str:
    return secrets.token_hex(16)


async def current_session(session: AsyncSession, call: CallRow) -> CallSessionRow | None:
    """The call's session that has not ended, if any."""
    if call.current_session_id is None:
        return None
    row = await session.get(CallSessionRow, call.current_session_id)
    return row if row is not None and row.ended_at is None else None


async def latest_session(session: AsyncSession, call: CallRow) -> CallSessionRow | None:
    """The call's current or last session."""
    return None if call.current_session_id is None else await session.get(CallSessionRow, call.current_session_id)


async def open_session(session: AsyncSession, call: CallRow) -> tuple[CallSessionRow, bool]:
    """The current session, or a new one (not started until someone joins); the flag says it is new."""
    existing = await current_session(session, call)
    if existing is not None:
        return existing, False
    row = CallSessionRow(
        id=new_id(), call_cid=call.cid, created_at=now(), anonymous_participant_count=0, ring={},
        accepted_by={}, rejected_by={}, missed_by={}, pins=[],
    )
    session.add(row)
    call.current_session_id = row.id
    await session.flush()
    return row, True


async def active_participants(session: AsyncSession, session_id: str) -> list[SessionParticipantRow]:
    rows = await session.scalars(
        select(SessionParticipantRow)
        .where(SessionParticipantRow.session_id == session_id, SessionParticipantRow.left_at.is_(None))
        .order_by(SessionParticipantRow.joined_at)
    )
    return list(rows.all())


async def get_participant(session: AsyncSession, user_session_id: str) -> SessionParticipantRow | None:
    return await session.get(SessionParticipantRow, user_session_id)


def add_participant(
    session: AsyncSession, call_session: CallSessionRow, user_id: str, role: str, anonymous: bool,
    stamp: datetime,
) -> SessionParticipantRow:
    row = SessionParticipantRow(
        user_session_id=new_id(), session_id=call_session.id, call_cid=call_session.call_cid, user_id=user_id,
        role=role, anonymous=anonymous, joined_at=stamp, last_seen_at=stamp, left_at=None,
    )
    session.add(row)
    return row
