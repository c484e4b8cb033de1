"""User repository: profiles, deletion, user-to-user blocks and bans."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from weir.domain.clock import now, utc
from weir.store.calls import remove_members
from weir.store.tables import (
    CallMemberRow,
    CallRow,
    CallUserPermissionRow,
    DeletedUserRow,
    DeviceRow,
    SessionParticipantRow,
    UserBlockRow,
    UserFeedbackRow,
    UserRow,
)

# What each profile field becomes when it is left out of an upsert, set to null or unset.
PROFILE_DEFAULTS: dict[str, Any] = {
    "name": None, "image": None, "role": "user", "teams": [], "language": "", "invisible": False, "custom": {},
    "revoke_tokens_issued_before": None,
}


async def get_user(session: AsyncSession, user_id: str) -> UserRow | None:
    return await session.get(UserRow, user_id)


async def deleted_at(session: AsyncSession, user_id: str) -> datetime | None:
    """When a user of this id was last hard-deleted, if ever (and not created again since)."""
    row = await session.get(DeletedUserRow, user_id)
    return None if row is None else utc(row.deleted_at)


async def ensure_user(session: AsyncSession, user_id: str, role: str = "user") -> UserRow:
    """Return the user, creating a bare one the first time it is named. A user created again after a hard delete
    starts with the tokens issued before that delete revoked."""
    user = await session.get(UserRow, user_id)
    if user is None:
        stamp = now()
        tombstone = await session.get(DeletedUserRow, user_id)
        user = UserRow(id=user_id, role=role, custom={}, teams=[], language="", created_at=stamp, updated_at=stamp,
                       revoke_tokens_issued_before=tombstone.deleted_at if tombstone else None)
        if tombstone is not None:
            await session.delete(tombstone)
        session.add(user)
        await session.flush()
    return user


async def create_or_get_user(session: AsyncSession, user_id: str) -> UserRow:
    """Like ``ensure_user``, but a concurrent request creating the same user is not an error."""
    try:
        async with session.begin_nested():
            return await ensure_user(session, user_id)
    except IntegrityError:
        user = await session.get(UserRow, user_id)
        assert user is not None
        return user


def is_banned(user: UserRow) -> bool:
    """A ban holds until it is lifted or its timeout passes."""
    if not user.banned:
        return False
    expires = utc(user.ban_expires)
    return expires is None or expires > now()


def set_profile(user: UserRow, values: dict[str, Any], stamp: datetime) -> None:
    """Write profile fields; ``None`` resets a field to its default."""
    for field, value in values.items():
        setattr(user, field, PROFILE_DEFAULTS[field] if value is None else value)
    user.updated_at = stamp


async def blocked_user_ids(session: AsyncSession, user_ids: Iterable[str]) -> dict[str, list[str]]:
    """For each user, the ids they block (oldest block first)."""
    ids = list(set(user_ids))
    result: dict[str, list[str]] = {user_id: [] for user_id in ids}
    if ids:
        rows = await session.scalars(
            select(UserBlockRow).where(UserBlockRow.user_id.in_(ids)).order_by(
                UserBlockRow.created_at, UserBlockRow.blocked_user_id)
        )
        for row in rows:
            result[row.user_id].append(row.blocked_user_id)
    return result


async def list_blocks(session: AsyncSession, user_id: str) -> list[UserBlockRow]:
    stmt = select(UserBlockRow).where(UserBlockRow.user_id == user_id).order_by(
        UserBlockRow.created_at, UserBlockRow.blocked_user_id)
    return list((await session.scalars(stmt)).all())


async def block_user(session: AsyncSession, user_id: str, blocked_user_id: str) -> UserBlockRow:
    """Add the block, or return the one that exists (blocking twice is not an error)."""
    existing = await session.get(UserBlockRow, (user_id, blocked_user_id))
    if existing is not None:
        return existing
    row = UserBlockRow(user_id=user_id, blocked_user_id=blocked_user_id, created_at=now())
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        existing = await session.get(UserBlockRow, (user_id, blocked_user_id))
        assert existing is not None
        return existing
    return row


async def unblock_user(session: AsyncSession, user_id: str, blocked_user_id: str) -> None:
    await session.execute(
        delete(UserBlockRow).where(UserBlockRow.user_id == user_id, UserBlockRow.blocked_user_id == blocked_user_id)
    )


def ban(user: UserRow, banned_by_id: str | None, reason: str | None, timeout_minutes: int | None) -> None:
    stamp = now()
    user.banned = True
    user.banned_by_id = banned_by_id
    user.ban_reason = reason
    user.ban_expires = stamp + timedelta(minutes=timeout_minutes) if timeout_minutes is not None else None
    user.updated_at = stamp


def unban(user: UserRow) -> None:
    user.banned = False
    user.banned_by_id = user.ban_reason = user.ban_expires = None
    user.updated_at = now()


async def call_cids_of(session: AsyncSession, user_id: str) -> set[str]:
    """The calls a user took part in: created, was a member of, joined, or rated."""
    queries = (select(CallRow.cid).where(CallRow.created_by_id == user_id),
               select(CallMemberRow.call_cid).where(CallMemberRow.user_id == user_id),
               select(SessionParticipantRow.call_cid).where(SessionParticipantRow.user_id == user_id),
               select(UserFeedbackRow.call_cid).where(UserFeedbackRow.user_id == user_id))
    return {cid for query in queries for cid in (await session.scalars(query)).all()}


async def one_to_one_calls(session: AsyncSession, user_id: str) -> list[CallRow]:
    """The user's calls with nobody but them and at most one other user (creator, members and participants)."""
    found = []
    for cid in sorted(await call_cids_of(session, user_id)):
        call = await session.get(CallRow, cid)
        if call is None:
            continue
        members = await session.scalars(select(CallMemberRow.user_id).where(CallMemberRow.call_cid == cid))
        joined = await session.scalars(select(SessionParticipantRow.user_id).where(
            SessionParticipantRow.call_cid == cid, SessionParticipantRow.anonymous.is_(False)))
        if len({call.created_by_id, user_id, *members.all(), *joined.all()}) <= 2:
            found.append(call)
    return found


def prune(user: UserRow, stamp: datetime) -> None:
    """Null the user's details (name, image, custom data, teams, language), keeping the id and role."""
    set_profile(user, dict.fromkeys(("name", "image", "custom", "teams", "language", "invisible")), stamp)


async def delete_devices(session: AsyncSession, user_id: str) -> None:
    await session.execute(delete(DeviceRow).where(DeviceRow.user_id == user_id))


async def hard_delete_users(session: AsyncSession, users: list[UserRow]) -> None:
    """Remove the users with their blocks (both ways), call memberships and call permissions."""
    ids = [user.id for user in users]
    cids = await session.scalars(select(CallMemberRow.call_cid).where(CallMemberRow.user_id.in_(ids)).distinct())
    for cid in cids.all():
        call = await session.get(CallRow, cid)
        if call is not None:
            await remove_members(session, call, ids)
    await session.execute(delete(CallUserPermissionRow).where(CallUserPermissionRow.user_id.in_(ids)))
    await session.execute(
        delete(UserBlockRow).where(or_(UserBlockRow.user_id.in_(ids), UserBlockRow.blocked_user_id.in_(ids)))
    )
    stamp = now()
    for user in users:
        await session.delete(user)
        await session.merge(DeletedUserRow(id=user.id, deleted_at=stamp))
