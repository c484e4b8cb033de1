"""Task repository: creating async tasks, taking the next one with a lease, and recording how they went."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from weir.domain.clock import now
from weir.store.sessions import new_id
from weir.store.tables import TaskRow

PENDING, RUNNING, COMPLETED, FAILED = "pending", "running", "completed", "failed"


def add_task(session: AsyncSession, kind: str, payload: dict[str, Any]) -> TaskRow:
    """A pending task, taken by a runner once ``session`` commits."""
    stamp = now()
    row = TaskRow(id=new_id(), kind=kind, status=PENDING, progress=0, payload=payload, attempts=0,
                  created_at=stamp, updated_at=stamp)
    session.add(row)
    return row


def add_completed_task(session: AsyncSession, kind: str, result: dict[str, Any]) -> TaskRow:
    """A task for work the request already did (bulk deactivation): ``get_task`` shows it completed."""
    row = add_task(session, kind, {})
    row.status, row.progress, row.result = COMPLETED, 100, result
    return row


async def get_task(session: AsyncSession, task_id: str) -> TaskRow | None:
    return await session.get(TaskRow, task_id)


def _claimable(stamp: datetime) -> ColumnElement[bool]:
    """Pending, or running under a lease that lapsed (its process died)."""
    return or_(TaskRow.status == PENDING, (TaskRow.status == RUNNING) & (TaskRow.lease_until < stamp))


async def any_claimable(session: AsyncSession) -> bool:
    """Whether a task waits (a read, so that an idle runner takes no write lock)."""
    return await session.scalar(select(TaskRow.id).where(_claimable(now())).limit(1)) is not None


async def claim_next(session: AsyncSession, lease_until: datetime) -> TaskRow | None:
    """The oldest claimable task, leased to the caller."""
    stamp = now()
    query = select(TaskRow).where(_claimable(stamp)).order_by(TaskRow.created_at).limit(1)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    row = await session.scalar(query)
    if row is not None:
        row.status, row.lease_until, row.updated_at = RUNNING, lease_until, stamp
        row.attempts += 1
    return row


async def renew(session: AsyncSession, task_id: str, attempt: int, progress: int, lease_until: datetime) -> bool:
    """Record progress and extend the lease; False if the task is no longer this attempt's (another took it)."""
    result = await session.execute(
        update(TaskRow).where(TaskRow.id == task_id, TaskRow.attempts == attempt, TaskRow.status == RUNNING)
        .values(progress=progress, lease_until=lease_until, updated_at=now()))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def finish(session: AsyncSession, task_id: str, attempt: int, *, result: dict[str, Any] | None = None,
                 result_key: str | None = None, error: str | None = None) -> None:
    """Completed (or, with ``error``, failed), unless another attempt took the task meanwhile."""
    values: dict[str, Any] = {"status": FAILED if error is not None else COMPLETED, "error": error,
                              "result": result, "result_key": result_key, "lease_until": None, "updated_at": now()}
    if error is None:
        values["progress"] = 100
    await session.execute(update(TaskRow).where(TaskRow.id == task_id, TaskRow.attempts == attempt,
                                                TaskRow.status == RUNNING).values(**values))
