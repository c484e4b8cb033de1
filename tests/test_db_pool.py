"""PostgreSQL connections (weir.store.db): the pool hands out live ones without a ping on every checkout, and
reads run without a transaction."""

from __future__ import annotations

import asyncio
import time
import weakref

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import postgres_admin_url
from weir.store import db as store_db
from weir.store.db import Database


async def backend_pid(db: Database) -> int:
    async with db.read() as session:
        return int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def terminate(pid: int) -> None:
    """End a backend from outside, and wait until it is gone."""
    conn = await asyncpg.connect(postgres_admin_url().replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute("SELECT pg_terminate_backend($1)", pid)
        deadline = time.monotonic() + 30
        while await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid):
            assert time.monotonic() < deadline, f"backend {pid} did not end"
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
    await asyncio.sleep(0.1)  # the pool's connection reads the end of its socket


@pytest.mark.parametrize("noticed", [True, False], ids=["closed", "silent"])
async def test_a_connection_the_server_ended_is_replaced(noticed: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """A connection the server closed is replaced at checkout; one whose end went unnoticed (a peer gone without a
    word) is pinged once it has been idle for PING_IDLE_SECONDS, and replaced."""
    hidden: set[int] = set()  # the backend whose end the pool is not to notice
    if not noticed:  # that connection reads as open until closed here; every other one (and asyncpg's check at
        # collection) sees the truth, else a connection collected while this patch holds warns that it is unclosed
        closing: weakref.WeakSet[asyncpg.Connection] = weakref.WeakSet()
        close, is_closed = asyncpg.Connection.close, asyncpg.Connection.is_closed

        async def close_here(self: asyncpg.Connection, *, timeout: float | None = None) -> None:
            closing.add(self)
            await close(self, timeout=timeout)

        def unnoticed(self: asyncpg.Connection) -> bool:
            if self._protocol is not None and self not in closing and self.get_server_pid() in hidden:
                return False
            return bool(is_closed(self))

        monkeypatch.setattr(asyncpg.Connection, "close", close_here)
        monkeypatch.setattr(asyncpg.Connection, "is_closed", unnoticed)
        monkeypatch.setattr(store_db, "PING_IDLE_SECONDS", 0.0)
    db = Database(postgres_admin_url())
    try:
        first = await backend_pid(db)
        hidden.add(first)
        assert await backend_pid(db) == first, "the pool reuses its connection"
        await terminate(first)
        assert await backend_pid(db) != first
    finally:
        hidden.clear()  # the pool has dropped that connection: at its collection it reads as closed, as it is
        await db.close()


async def test_a_read_holds_no_transaction() -> None:
    """Each statement of a read is its own transaction (no BEGIN and ROLLBACK round trips around them): the
    transaction's start time, now(), moves from one statement to the next."""

    async def transaction_starts(session: AsyncSession) -> tuple[object, object]:
        first = (await session.execute(text("SELECT now()"))).scalar_one()
        await session.execute(text("SELECT pg_sleep(0.02)"))
        return first, (await session.execute(text("SELECT now()"))).scalar_one()

    db = Database(postgres_admin_url())
    try:
        async with db.read() as session:
            first, second = await transaction_starts(session)
            assert first != second
        async with db.transaction() as session:
            first, second = await transaction_starts(session)
            assert first == second, "a transaction spans its statements"
    finally:
        await db.close()
