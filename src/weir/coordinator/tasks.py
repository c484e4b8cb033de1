"""Durable async tasks (user export and deletion, hard call delete), run once each and surviving a restart.

A task is a row: a runner takes it with a lease and renews the lease at every step, so a task whose process
died is taken again once its lease lapses. A handler works in steps, each its own transaction that also records
the progress; a step that fails rolls back alone, and a task taken again runs from its start, so every step must
be safe to run twice. A task taken ``MAX_ATTEMPTS`` times without finishing fails.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from weir.domain.clock import now
from weir.protocol.errors import APIError
from weir.store import tasks as store
from weir.store.db import Database, after_commit
from weir.store.tables import TaskRow

if TYPE_CHECKING:
    from weir.coordinator.services import Services

log = logging.getLogger(__name__)

LEASE_SECONDS = 30.0
IDLE_POLL_SECONDS = 2.0  # how soon a lapsed lease is noticed (new tasks wake the runner at once)
MAX_ATTEMPTS = 3


class TaskLost(Exception):
    """Another runner took the task (this one's lease lapsed): this attempt stops, its step rolled back."""


@dataclass
class TaskContext:
    """What a handler gets: the task's payload, and ``step`` to do a part of the work and record progress."""

    weir: Services
    task_id: str
    attempt: int
    payload: dict[str, Any]
    result_key: str | None = None  # set by a handler that leaves a file in Weir's own store

    @asynccontextmanager
    async def step(self, done: int, total: int) -> AsyncIterator[AsyncSession]:
        """A transaction for one part of the work; on commit the task shows ``done`` of ``total`` parts."""
        async with self.weir.db.transaction() as session:
            yield session
            progress = min(99, done * 100 // max(total, 1))  # 100 only once the task completed
            if not await store.renew(session, self.task_id, self.attempt, progress, _lease()):
                raise TaskLost(self.task_id)


Handler = Callable[[TaskContext], Awaitable[dict[str, Any]]]


def _lease() -> datetime:
    return now() + timedelta(seconds=LEASE_SECONDS)


class TaskRunner:
    """Takes tasks one at a time; ``submit`` wakes it once the submitting transaction commits."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.handlers: dict[str, Handler] = {}
        self.weir: Services | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def handle(self, kind: str, handler: Handler) -> None:
        self.handlers[kind] = handler

    def submit(self, session: AsyncSession, kind: str, payload: dict[str, Any]) -> TaskRow:
        if kind not in self.handlers:
            raise ValueError(f"no handler for task kind {kind!r}")
        row = store.add_task(session, kind, payload)

        async def wake() -> None:
            self._wake.set()

        after_commit(session, wake)
        return row

    async def run_pending(self) -> int:
        """Run tasks until none is waiting; returns how many were taken."""
        taken = 0
        while True:
            async with self.db.read() as session:
                if not await store.any_claimable(session):
                    return taken
            async with self.db.transaction() as session:
                row = await store.claim_next(session, _lease())
                claimed = None if row is None else (row.id, row.kind, row.attempts, dict(row.payload or {}))
            if claimed is None:
                return taken
            taken += 1
            await self._run(*claimed)

    async def _run(self, task_id: str, kind: str, attempt: int, payload: dict[str, Any]) -> None:
        handler = self.handlers.get(kind)
        if handler is None or attempt > MAX_ATTEMPTS or self.weir is None:
            problem = (f"no handler for task kind {kind!r}" if handler is None or self.weir is None
                       else f"the task was interrupted {MAX_ATTEMPTS} times")
            await self._finish(task_id, attempt, error=problem)
            return
        context = TaskContext(self.weir, task_id, attempt, payload)
        try:
            result = await handler(context)
        except TaskLost:
            log.warning("task %s was taken by another runner; this attempt stops", task_id)
            return
        except APIError as error:
            await self._finish(task_id, attempt, error=error.message)
            return
        except Exception as error:
            log.exception("task %s (%s) failed", task_id, kind)
            await self._finish(task_id, attempt, error=f"{type(error).__name__}: {error}")
            return
        await self._finish(task_id, attempt, result=result, result_key=context.result_key)

    async def _finish(self, task_id: str, attempt: int, **outcome: Any) -> None:
        async with self.db.transaction() as session:
            await store.finish(session, task_id, attempt, **outcome)

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.run_pending()
            except Exception:
                log.exception("task runner pass failed")
            try:
                await asyncio.wait_for(self._wake.wait(), IDLE_POLL_SECONDS)
            except TimeoutError:
                pass

    def start(self, weir: Services) -> None:
        self.weir = weir
        self._task = asyncio.create_task(self._loop(), name="weir-tasks")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
