"""User repository."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from weir.domain.clock import now, utc
from weir.store.tables import UserRow


async def get_user(session: AsyncSession, user_id: str) -> UserRow | None:
    return await session.get(UserRow, user_id)


async def ensure_user(session: AsyncSession, user_id: str, role: str = "user") -> UserRow:
    """Return the user, creating a bare one the first time a valid token names it."""
    user = await session.get(UserRow, user_id)
    if user is None:
        stamp = now()
        user = UserRow(id=user_id, role=role, custom={}, teams=[], language="", created_at=stamp, updated_at=stamp)
        session.add(user)
        await session.flush()
    return user


def is_banned(user: UserRow) -> bool:
    """A ban holds until it is lifted or its timeout passes."""
    if not user.banned:
        return False
    expires = utc(user.ban_expires)
    return expires is None or expires > now()
