"""Custom role repository; the built-in roles are in ``domain.capabilities.BUILTIN_ROLES``."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from weir.domain.capabilities import BUILTIN_ROLES
from weir.store.tables import RoleRow


async def list_custom_roles(session: AsyncSession) -> list[RoleRow]:
    return list((await session.scalars(select(RoleRow).order_by(RoleRow.name))).all())


async def known_roles(session: AsyncSession) -> set[str]:
    return set(BUILTIN_ROLES) | {row.name for row in await list_custom_roles(session)}
