"""The durable upload queue: a file handed to ``enqueue`` reaches its store, however long the store is away.

Each upload is a row (``uploads``); the file stays on local disk until its store has it, and is deleted only
then. The worker claims due rows by leasing them (so two coordinators never upload one file twice at once, and
a process that dies mid-upload leaves the row to be retried when the lease runs out), uploads, and on failure
backs off: 5 s, 10 s, 20 s... up to 5 minutes between tries, for as long as it takes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from weir.domain.clock import now
from weir.storage.base import ObjectStore, StorageError
from weir.store.db import Database
from weir.store.tables import UploadRow

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=30)  # longer than any upload takes (a 2-hour recording uploads in minutes)
FIRST_BACKOFF = timedelta(seconds=5)
MAX_BACKOFF = timedelta(minutes=5)


@dataclass(frozen=True)
class Upload:
    id: int
    local_path: Path
    store_name: str | None  # None: the default store
    key: str
    content_type: str


Resolve = Callable[[str | None], Awaitable[ObjectStore]]
OnUploaded = Callable[[Upload], Awaitable[None]]


async def enqueue(db: Database, local_path: Path, store_name: str | None, key: str, content_type: str) -> int:
    """Queue ``local_path`` for upload to ``store_name`` under ``key``; the file must stay where it is (the queue
    deletes it once uploaded). Returns the upload's id."""
    async with db.transaction() as session:
        row = queue_upload(session, local_path, store_name, key, content_type)
        await session.flush()
        return row.id


def queue_upload(session: AsyncSession, local_path: Path, store_name: str | None, key: str,
                 content_type: str) -> UploadRow:
    """``enqueue`` inside the caller's transaction (so the upload is queued with the change that made it)."""
    stamp = now()
    row = UploadRow(local_path=str(local_path.resolve()), store_name=store_name, key=key, content_type=content_type,
                    attempts=0, next_attempt_at=stamp, created_at=stamp)
    session.add(row)
    return row


def backoff(attempts: int, first: timedelta = FIRST_BACKOFF) -> timedelta:
    return min(first * (1 << min(max(attempts - 1, 0), 16)), MAX_BACKOFF)


class UploadWorker:
    """``resolve`` turns a store name into its backend (``StoreRegistry.resolve``); ``on_uploaded`` is told of each
    upload done (e.g. to announce a recording)."""

    def __init__(self, db: Database, resolve: Resolve, on_uploaded: OnUploaded | None = None,
                 poll_seconds: float = 5.0, batch: int = 4, first_backoff: timedelta = FIRST_BACKOFF) -> None:
        self.db, self.resolve, self.on_uploaded = db, resolve, on_uploaded
        self.poll_seconds, self.batch, self.first_backoff = poll_seconds, batch, first_backoff
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Look for due uploads now (after ``enqueue``) rather than at the next poll."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="weir-upload-worker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                while await self.run_once():
                    pass
            except Exception:  # keep going: a database hiccup must not stop uploads for good
                log.exception("upload worker pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            self._wake.clear()

    async def run_once(self) -> int:
        """Try one batch of due uploads; returns how many were claimed."""
        claimed = await self._claim()
        await asyncio.gather(*(self._upload(upload, attempts) for upload, attempts in claimed))
        return len(claimed)

    async def _claim(self) -> list[tuple[Upload, int]]:
        stamp = now()
        async with self.db.read() as session:
            due = (await session.scalars(select(UploadRow).where(UploadRow.next_attempt_at <= stamp)
                                         .order_by(UploadRow.next_attempt_at).limit(self.batch))).all()
        claimed = []
        if due:
            async with self.db.transaction() as session:
                for row in due:
                    taken: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
                        update(UploadRow).where(UploadRow.id == row.id, UploadRow.attempts == row.attempts)
                        .values(attempts=row.attempts + 1, next_attempt_at=stamp + LEASE)
                        .execution_options(synchronize_session=False))
                    if taken.rowcount == 1:
                        upload = Upload(row.id, Path(row.local_path), row.store_name, row.key, row.content_type)
                        claimed.append((upload, row.attempts + 1))
        return claimed

    async def _upload(self, upload: Upload, attempts: int) -> None:
        if not upload.local_path.is_file():
            log.error("upload %d: %s is gone; nothing left to upload", upload.id, upload.local_path)
            await self._finish(upload)
            return
        try:
            store = await self.resolve(upload.store_name)
            await store.put(upload.key, upload.local_path, upload.content_type)
        except StorageError as exc:
            await self._retry(upload, attempts, str(exc))
            return
        except Exception as exc:  # a bug or a bad stored config: logged, and still retried, never dropped
            log.exception("upload %d to %s failed unexpectedly", upload.id, upload.store_name or "the default store")
            await self._retry(upload, attempts, f"internal error: {type(exc).__name__}")
            return
        await self._finish(upload)
        upload.local_path.unlink(missing_ok=True)
        if self.on_uploaded is not None:
            await self.on_uploaded(upload)

    async def _retry(self, upload: Upload, attempts: int, error: str) -> None:
        wait = backoff(attempts, self.first_backoff)
        log.warning("upload %d to %s failed (attempt %d), retrying in %s: %s", upload.id,
                    upload.store_name or "the default store", attempts, wait, error)
        async with self.db.transaction() as session:
            await session.execute(update(UploadRow).where(UploadRow.id == upload.id)
                                  .values(next_attempt_at=now() + wait, last_error=error[:2000]))

    async def _finish(self, upload: Upload) -> None:
        async with self.db.transaction() as session:
            await session.execute(delete(UploadRow).where(UploadRow.id == upload.id))


async def pending_uploads(db: Database) -> list[UploadRow]:
    """The uploads not done yet, oldest first (for status and tests)."""
    async with db.read() as session:
        return list((await session.scalars(select(UploadRow).order_by(UploadRow.id))).all())
