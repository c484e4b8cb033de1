"""Call and member repository."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from weir.domain.clock import now
from weir.store.tables import (
    CallMemberRow,
    CallRow,
    CallUserPermissionRow,
    ScheduledTaskRow,
    UserFeedbackRow,
    UserRow,
)


async def get_call(session: AsyncSession, cid: str, include_deleted: bool = False) -> CallRow | None:
    """The call, or None when it does not exist or (unless asked for) was soft-deleted."""
    row = await session.get(CallRow, cid)
    return None if row is None or (row.deleted_at is not None and not include_deleted) else row


async def insert_call(session: AsyncSession, row: CallRow) -> bool:
    """Insert unless a concurrent request created it first; returns whether this insert won."""
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        return False
    return True


async def list_members(session: AsyncSession, cid: str, limit: int | None = None) -> list[CallMemberRow]:
    stmt = select(CallMemberRow).where(CallMemberRow.call_cid == cid).order_by(
        CallMemberRow.created_at, CallMemberRow.user_id
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return list((await session.scalars(stmt)).all())


async def members_by_id(session: AsyncSession, cid: str, user_ids: Iterable[str]) -> list[CallMemberRow]:
    """The call's members among ``user_ids``, in membership order."""
    stmt = select(CallMemberRow).where(CallMemberRow.call_cid == cid, CallMemberRow.user_id.in_(list(user_ids)))
    return list((await session.scalars(stmt.order_by(CallMemberRow.created_at, CallMemberRow.user_id))).all())


async def get_member(session: AsyncSession, cid: str, user_id: str) -> CallMemberRow | None:
    return await session.get(CallMemberRow, (cid, user_id))


@dataclass
class MemberChanges:
    added: list[CallMemberRow] = field(default_factory=list)
    updated: list[CallMemberRow] = field(default_factory=list)
    role_changed: list[CallMemberRow] = field(default_factory=list)

    @property
    def rows(self) -> list[CallMemberRow]:
        return [*self.added, *self.updated]


async def upsert_members(
    session: AsyncSession, call: CallRow, members: Iterable[tuple[str, str, dict[str, Any] | None]]
) -> MemberChanges:
    """Add or update ``(user_id, role, custom)``; custom None keeps what a member had."""
    stamp = now()
    changes = MemberChanges()
    for user_id, role, custom in members:
        row = await session.get(CallMemberRow, (call.cid, user_id))
        if row is None:
            row = CallMemberRow(call_cid=call.cid, user_id=user_id, role=role, custom=custom or {},
                                created_at=stamp, updated_at=stamp)
            session.add(row)
            changes.added.append(row)
        else:
            if row.role != role:
                changes.role_changed.append(row)
            row.role = role
            if custom is not None:
                row.custom = custom
            row.updated_at = stamp
            changes.updated.append(row)
    await session.flush()
    await _recount(session, call)
    return changes


async def remove_members(session: AsyncSession, call: CallRow, user_ids: Iterable[str]) -> list[str]:
    """Remove those members; returns the ids that were members."""
    removed = await session.scalars(
        delete(CallMemberRow)
        .where(CallMemberRow.call_cid == call.cid, CallMemberRow.user_id.in_(list(user_ids)))
        .returning(CallMemberRow.user_id)
    )
    gone = list(removed.all())
    await _recount(session, call)
    return gone


async def _recount(session: AsyncSession, call: CallRow) -> None:
    count = await session.scalar(select(func.count()).where(CallMemberRow.call_cid == call.cid))
    call.member_count = int(count or 0)


async def users_by_id(session: AsyncSession, user_ids: Iterable[str]) -> dict[str, UserRow]:
    ids = list(set(user_ids))
    if not ids:
        return {}
    rows = (await session.scalars(select(UserRow).where(UserRow.id.in_(ids)))).all()
    return {row.id: row for row in rows}


async def get_user_permissions(session: AsyncSession, cid: str, user_id: str) -> CallUserPermissionRow | None:
    return await session.get(CallUserPermissionRow, (cid, user_id))


def touch(call: CallRow, stamp: datetime | None = None) -> None:
    call.updated_at = stamp or now()


async def purge_deleted_calls_of_type(session: AsyncSession, call_type: str) -> int:
    """Hard-delete the soft-deleted calls of a call type (before the type itself goes); returns the live ones left."""
    rows = (await session.scalars(select(CallRow).where(CallRow.type == call_type))).all()
    live = [row for row in rows if row.deleted_at is None]
    if not live:
        for row in rows:
            await hard_delete_call(session, row)
    return len(live)


async def hard_delete_call(session: AsyncSession, call: CallRow) -> None:
    """Remove the call and everything kept for it (sessions and participants go by cascade)."""
    for table in (CallUserPermissionRow, CallMemberRow, ScheduledTaskRow, UserFeedbackRow):
        await session.execute(delete(table).where(table.call_cid == call.cid))
    # A statement, not ``session.delete``: a concurrent purge (a hard delete's task, a call type's delete) may have
    # removed the row first, and that is no error.
    await session.execute(delete(CallRow).where(CallRow.cid == call.cid))
