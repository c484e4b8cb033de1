"""Engine and sessions; migrations run at start-up so a new data folder is ready at once."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from weir.store.calltypes import CACHE as CALL_TYPES
from weir.store.calltypes import CallTypeCache

MIGRATIONS = Path(__file__).parent / "migrations"
AFTER_COMMIT = "weir.after_commit"
WRITES = "weir_writes"  # execution option of the engine that write transactions use

log = logging.getLogger("weir.store")


def after_commit(session: AsyncSession, hook: Callable[[], Awaitable[None]]) -> None:
    """Run ``hook`` once the session's transaction has committed (never if it rolls back)."""
    session.info.setdefault(AFTER_COMMIT, []).append(hook)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # SQLAlchemy's recipe for pysqlite/aiosqlite: the driver must not open or commit transactions itself (it
    # would turn the first SAVEPOINT of ``begin_nested()`` into a commit of its own); ``_sqlite_begin`` does.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _sqlite_begin(connection) -> None:  # type: ignore[no-untyped-def]
    # A write transaction takes the write lock at once (waiting up to the busy timeout): one that read first
    # and wrote later would fail outright if another connection had written in between.
    writes = connection.get_execution_options().get(WRITES, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


def _dump_json(value: Any) -> str:
    """NaN and Infinity are not JSON: writing them would leave rows no query can read back."""
    return json.dumps(value, allow_nan=False)


def _load_json(text: str | bytes) -> Any:
    """A stored JSON value; one that can't be parsed (written by hand, or before the checks held) reads as None
    and is logged, so that one bad row fails no query for everyone."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        log.warning("unreadable JSON in the database (%d characters) read as null", len(text))
        return None


def make_engine(url: str) -> AsyncEngine:
    codecs: dict[str, Any] = {"json_serializer": _dump_json, "json_deserializer": _load_json}
    if url.startswith("sqlite"):
        engine = create_async_engine(url, **codecs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    return create_async_engine(url, pool_size=20, max_overflow=20, pool_pre_ping=True, **codecs)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest Alembic revision."""

    def upgrade(sync_connection) -> None:  # type: ignore[no-untyped-def]
        config = alembic_config(str(engine.url))
        config.attributes["connection"] = sync_connection
        command.upgrade(config, "heads")  # migrations written side by side branch from one revision

    async with engine.begin() as connection:
        await connection.run_sync(upgrade)


class Database:
    """One engine and its session factory; ``transaction()`` commits on success and rolls back on error."""

    def __init__(self, url: str, call_types: CallTypeCache | None = None) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.call_types = call_types or CallTypeCache()
        info: dict[str, object] = {CALL_TYPES: self.call_types}  # copied into each session's info
        self.info = info  # what the app adds here reaches the sessions made from then on
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, info=info)
        self._writers = async_sessionmaker(self.engine.execution_options(**{WRITES: True}), expire_on_commit=False,
                                           info=info)
        # SQLite allows one writer; serialising writes here avoids 'database is locked' under load.
        self._write_lock = asyncio.Lock() if url.startswith("sqlite") else None

    async def start(self) -> None:
        await migrate(self.engine)

    async def close(self) -> None:
        await self.engine.dispose()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """Commit on success, roll back on error; then run the session's ``after_commit`` hooks."""
        async with self._write_lock or contextlib.nullcontext():
            async with self._writers.begin() as session:
                yield session
        for hook in session.info.pop(AFTER_COMMIT, ()):
            await hook()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            yield session
