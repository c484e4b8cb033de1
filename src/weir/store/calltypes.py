"""Call type repository."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from weir.domain.calltypes import BUILTIN_CALL_TYPES, default_notification_settings
from weir.domain.clock import now
from weir.store.tables import CallTypeRow


async def get_call_type(session: AsyncSession, name: str) -> CallTypeRow | None:
    return await session.get(CallTypeRow, name)


async def list_call_types(session: AsyncSession) -> list[CallTypeRow]:
    return list((await session.scalars(select(CallTypeRow).order_by(CallTypeRow.name))).all())


async def seed_builtin_call_types(session: AsyncSession) -> None:
    """Insert the built-in call types that are missing (the first start, or after one was deleted)."""
    existing = set((await session.scalars(select(CallTypeRow.name))).all())
    stamp = now()
    for builtin in BUILTIN_CALL_TYPES.values():
        if builtin.name not in existing:
            session.add(CallTypeRow(
                name=builtin.name, settings=builtin.settings, grants=builtin.grants,
                notification_settings=default_notification_settings(), external_storage=None,
                created_at=stamp, updated_at=stamp,
            ))
    await session.flush()
