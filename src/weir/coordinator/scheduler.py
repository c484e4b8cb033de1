"""Durable timers: tasks live in the database, so ring timeouts and call timers survive a restart.

A handler runs inside the transaction that marks its task done, so a crash either runs it completely (and
its events are delivered after commit) or leaves the task to run again after the restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from weir.domain.clock import now, utc
from weir.store.db import Database, after_commit
from weir.store.sessions import new_id
from weir.store.tables import ScheduledTaskRow

log = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, ScheduledTaskRow], Awaitable[None]]
IDLE_POLL_SECONDS = 1.0
BATCH = 50


class Scheduler:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.handlers: dict[str, Handler] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def handle(self, kind: str, handler: Handler) -> None:
        self.handlers[kind] = handler

    def schedule(
        self, session: AsyncSession, kind: str, call_cid: str, due_at: datetime,
        session_id: str | None = None, payload: dict[str, Any] | None = None,
    ) -> None:
        session.add(ScheduledTaskRow(
            id=new_id(), kind=kind, call_cid=call_cid, session_id=session_id, due_at=due_at,
            payload=payload or {}, done=False, created_at=now(),
        ))

        async def wake() -> None:
            self._wake.set()

        after_commit(session, wake)

    async def cancel(self, session: AsyncSession, kind: str, call_cid: str) -> None:
        await session.execute(
            update(ScheduledTaskRow)
            .where(ScheduledTaskRow.kind == kind, ScheduledTaskRow.call_cid == call_cid,
                   ScheduledTaskRow.done.is_(False))
            .values(done=True)
        )

    async def run_due(self) -> int:
        """Run every task that is due; returns how many ran."""
        async with self.db.read() as session:
            due = (await session.scalars(
                select(ScheduledTaskRow.id)
                .where(ScheduledTaskRow.done.is_(False), ScheduledTaskRow.due_at <= now())
                .order_by(ScheduledTaskRow.due_at).limit(BATCH)
            )).all()
        for task_id in due:
            await self._run_one(task_id)
        return len(due)

    async def _run_one(self, task_id: str) -> None:
        try:
            async with self.db.transaction() as session:
                query = select(ScheduledTaskRow).where(ScheduledTaskRow.id == task_id)
                if session.get_bind().dialect.name == "postgresql":
                    query = query.with_for_update(skip_locked=True)
                task = await session.scalar(query)
                if task is None or task.done:
                    return
                task.done = True
                handler = self.handlers.get(task.kind)
                if handler is None:
                    log.error("no handler for scheduled task kind %r", task.kind)
                    return
                await handler(session, task)
        except Exception:
            log.exception("scheduled task %s failed; it is dropped", task_id)
            async with self.db.transaction() as session:
                await session.execute(update(ScheduledTaskRow).where(ScheduledTaskRow.id == task_id).values(done=True))

    async def _next_due_in(self) -> float:
        async with self.db.read() as session:
            due = await session.scalar(
                select(ScheduledTaskRow.due_at).where(ScheduledTaskRow.done.is_(False))
                .order_by(ScheduledTaskRow.due_at).limit(1)
            )
        if due is None:
            return IDLE_POLL_SECONDS
        return max(0.0, min(IDLE_POLL_SECONDS, (utc(due) - now()).total_seconds()))

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.run_due()
                delay = await self._next_due_in()
            except Exception:
                log.exception("scheduler pass failed")
                delay = IDLE_POLL_SECONDS
            try:
                await asyncio.wait_for(self._wake.wait(), delay)
            except TimeoutError:
                pass

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="weir-scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
