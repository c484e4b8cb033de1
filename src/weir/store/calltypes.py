"""Call type repository."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession


async def seed_builtin_call_types(session: AsyncSession) -> None:
    """Insert the four built-in call types the first time a database is used."""
