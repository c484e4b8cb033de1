"""Deleting a recording's (or transcript's) file with its row: the one way both the routes and tasks do it."""

from __future__ import annotations

import asyncio
import pathlib
from functools import partial

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from weir.coordinator.services import Services
from weir.protocol.errors import APIError, ErrorCode
from weir.storage.base import StorageError
from weir.store.db import after_commit
from weir.store.tables import RecordingRow, UploadRow


async def delete_file(weir: Services, db_session: AsyncSession, row: RecordingRow) -> None:
    """A recording's (or transcript's) row, and its file: from its store, or from the upload queue."""
    await db_session.delete(row)
    waiting = (await db_session.scalars(select(UploadRow).where(
        UploadRow.store_name == row.storage, UploadRow.key == row.key))).all()
    for upload in waiting:  # not uploaded yet: it never will be, and its store has nothing to delete
        await db_session.delete(upload)
        after_commit(db_session, partial(asyncio.to_thread, pathlib.Path(upload.local_path).unlink, True))
    if waiting:
        return
    try:  # inside the transaction: a store that refuses leaves the file listed
        await (await weir.stores.resolve(row.storage)).delete(row.key)
    except StorageError as error:
        raise APIError(ErrorCode.INTERNAL, f"the storage could not delete the file: {error}") from error
