"""Engine and sessions; migrations run at start-up so a new data folder is ready at once."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from weir.store.calltypes import CACHE as CALL_TYPES
from weir.store.calltypes import CallTypeCache

MIGRATIONS = Path(__file__).parent / "migrations"
AFTER_COMMIT = "weir.after_commit"
WRITES = "weir_writes"  # execution option of the engine that write transactions use
CHECKED_IN = "weir.checked_in"  # pool record info: when the connection last went back to the pool
PING_IDLE_SECONDS = 10.0

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


def _note_checkin(_dbapi_connection, record) -> None:  # type: ignore[no-untyped-def]
    record.info[CHECKED_IN] = time.monotonic()


def _check_on_checkout(dbapi_connection, record, _proxy) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL connections leave the pool alive. Instead of ``pool_pre_ping``'s three round trips on every
    checkout (BEGIN, a query, ROLLBACK with asyncpg), a connection the server closed is replaced at once, and one
    idle for ``PING_IDLE_SECONDS`` (a peer may be gone without a word) is pinged first."""
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the server closed the connection")
    idle_since = record.info.get(CHECKED_IN)
    if idle_since is not None and time.monotonic() - idle_since > PING_IDLE_SECONDS:
        try:
            dbapi_connection.ping()
        except Exception as error:
            raise DisconnectionError("the connection does not answer") from error


def make_engine(url: str) -> AsyncEngine:
    codecs: dict[str, Any] = {"json_serializer": _dump_json, "json_deserializer": _load_json}
    if url.startswith("sqlite"):
        engine = create_async_engine(url, **codecs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    engine = create_async_engine(url, pool_size=20, max_overflow=20, **codecs)
    event.listen(engine.sync_engine, "checkin", _note_checkin)
    event.listen(engine.sync_engine, "checkout", _check_on_checkout)
    return engine


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
        # PostgreSQL reads run without BEGIN and ROLLBACK: each statement sees a snapshot of its own, as in a READ
        # COMMITTED transaction, with two round trips fewer per read.
        reads = self.engine if url.startswith("sqlite") else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self.sessions = async_sessionmaker(reads, expire_on_commit=False, info=info)
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
        """A session for reading only (on PostgreSQL its statements commit one by one: write in ``transaction``)."""
        async with self.sessions() as session:
            yield session
