"""Call type repository, with the per-database cache that every call request reads its call type from."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from itertools import chain
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from weir.domain.calltypes import BUILTIN_CALL_TYPES, default_notification_settings
from weir.domain.clock import now
from weir.store.tables import CallTypeRow

CACHE = "weir.call_types"  # session.info key of the database's CallTypeCache
CHANGED = "weir.call_types_changed"
CACHE_TTL_SECONDS = 2.0


class CallTypeCache:
    """Call types as last read, per database. A write through any session of the same ``Database`` empties it
    (at flush and again at commit); a write by another process shows once an entry is ``ttl`` seconds old."""

    def __init__(self, ttl: float = CACHE_TTL_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.clock = ttl, clock
        self._rows: dict[str, tuple[float, CallTypeRow]] = {}

    def get(self, name: str) -> CallTypeRow | None:
        entry = self._rows.get(name)
        if entry is None or self.clock() - entry[0] > self.ttl:
            return None
        return entry[1]

    def put(self, row: CallTypeRow) -> None:
        self._rows[row.name] = (self.clock(), row)

    def clear(self) -> None:
        self._rows.clear()


def _detached_copy(row: CallTypeRow) -> CallTypeRow:
    """A copy owned by no session, its JSON values deep-copied: requests share it read-only."""
    values: dict[str, Any] = {c.key: copy.deepcopy(getattr(row, c.key)) for c in CallTypeRow.__table__.columns}
    return CallTypeRow(**values)


@event.listens_for(Session, "after_flush")
def _forget_written(session: Session, _context: object) -> None:
    cache = session.info.get(CACHE)
    if cache is None:
        return
    if any(isinstance(row, CallTypeRow) for row in chain(session.new, session.dirty, session.deleted)):
        cache.clear()
        session.info[CHANGED] = True  # and again at commit: a request in between may have cached the old row


@event.listens_for(Session, "after_commit")
def _forget_committed(session: Session) -> None:
    if session.info.pop(CHANGED, False):
        session.info[CACHE].clear()


async def get_call_type(session: AsyncSession, name: str) -> CallTypeRow | None:
    """The stored row, attached to ``session`` (for writing it)."""
    return await session.get(CallTypeRow, name)


async def cached_call_type(session: AsyncSession, name: str) -> CallTypeRow | None:
    """The call type, for reading only: from the database's cache when fresh, else read and cached."""
    cache: CallTypeCache | None = session.info.get(CACHE)
    row = cache.get(name) if cache is not None else None
    if row is None:
        row = await get_call_type(session, name)
        if row is not None and cache is not None:
            row = _detached_copy(row)
            cache.put(row)
    return row


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
