"""Routes: external storage (S3, GCS, Azure Blob) for recordings. Server-side only; credentials are stored sealed
and never returned."""

from __future__ import annotations

import tempfile
import uuid
from datetime import timedelta
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from weir.coordinator.auth import Caller, server_caller, services
from weir.domain.clock import now
from weir.protocol.common import Empty
from weir.protocol.errors import APIError, ErrorCode, input_error, not_found
from weir.protocol.external_storage import (
    STORAGE_NAME_PATTERN,
    CheckExternalStorageResponse,
    CreateExternalStorageRequest,
    CreateExternalStorageResponse,
    ListExternalStorageResponse,
    UpdateExternalStorageRequest,
    UpdateExternalStorageResponse,
)
from weir.storage.base import StorageError
from weir.storage.external import merge_config, opened_config, row_store, sealed_config, storage_response
from weir.storage.registry import DEFAULT_NAMES
from weir.store.tables import ExternalStorageRow

router = APIRouter(tags=["storage"])

MAX_STORAGES = 10  # per app, as the seed allows
CHECK_URL_LIFETIME = timedelta(hours=1)
_COUNT_LOCK = 0x57_0007  # PostgreSQL advisory lock: creates are counted one at a time
StorageName = Annotated[str, Path(pattern=STORAGE_NAME_PATTERN)]


@router.post("/external_storage", response_model=CreateExternalStorageResponse, status_code=201,
             summary=f"Create an external storage (at most {MAX_STORAGES})")
async def create_external_storage(
    request: Request, body: CreateExternalStorageRequest,
    _: Caller = Depends(server_caller("CreateExternalStorage")),
) -> CreateExternalStorageResponse:
    if body.name in DEFAULT_NAMES:
        raise input_error("name", f"'{body.name}' is the built-in storage's name")
    weir = services(request)
    config = merge_config(body, None, weir.settings.private_destinations_allowed)
    async with weir.db.transaction() as session:
        await _count_alone(session)
        if await session.get(ExternalStorageRow, body.name) is not None:
            raise APIError(ErrorCode.CONFLICT, f"external storage '{body.name}' exists")
        count = await session.scalar(select(func.count()).select_from(ExternalStorageRow))
        if (count or 0) >= MAX_STORAGES:
            raise input_error("name", f"an app has at most {MAX_STORAGES} external storages; delete one first")
        stamp = now()
        session.add(ExternalStorageRow(name=body.name, type=body.storage_type, bucket=body.bucket, path=body.path,
                                       config=sealed_config(config, weir.sealer), created_at=stamp, updated_at=stamp))
        try:
            await session.flush()
        except IntegrityError:
            raise APIError(ErrorCode.CONFLICT, f"external storage '{body.name}' is being created") from None
    return CreateExternalStorageResponse()


async def _count_alone(session: AsyncSession) -> None:
    """On PostgreSQL, hold a lock for the rest of the transaction so that concurrent creates can't both pass the
    limit (SQLite runs write transactions one at a time already)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _COUNT_LOCK})


async def _storage(session: AsyncSession, name: str) -> ExternalStorageRow:
    row = await session.get(ExternalStorageRow, name)
    if row is None:
        raise not_found(f"external storage '{name}'")
    return row


@router.get("/external_storage", response_model=ListExternalStorageResponse, summary="List external storages")
async def list_external_storage(
    request: Request, _: Caller = Depends(server_caller("ListExternalStorage")),
) -> ListExternalStorageResponse:
    async with services(request).db.read() as session:
        rows = (await session.scalars(select(ExternalStorageRow).order_by(ExternalStorageRow.name))).all()
    return ListExternalStorageResponse(external_storages={row.name: storage_response(row) for row in rows})


@router.put("/external_storage/{name}", response_model=UpdateExternalStorageResponse,
            summary="Replace an external storage's settings (credentials left out are kept for the same type)")
async def update_external_storage(
    request: Request, name: StorageName, body: UpdateExternalStorageRequest,
    _: Caller = Depends(server_caller("UpdateExternalStorage")),
) -> UpdateExternalStorageResponse:
    weir = services(request)
    async with weir.db.transaction() as session:
        row = await _storage(session, name)
        current = opened_config(row, weir.sealer) if row.type == body.storage_type else None
        config = merge_config(body, current, weir.settings.private_destinations_allowed)
        row.type, row.bucket, row.path = body.storage_type, body.bucket, body.path
        row.config = sealed_config(config, weir.sealer)
        row.updated_at = now()
        return UpdateExternalStorageResponse(**storage_response(row).model_dump())


@router.delete("/external_storage/{name}", response_model=Empty, summary="Delete an external storage")
async def delete_external_storage(
    request: Request, name: StorageName, _: Caller = Depends(server_caller("DeleteExternalStorage")),
) -> Empty:
    async with services(request).db.transaction() as session:
        row = await _storage(session, name)
        await session.delete(row)
    return Empty()


@router.get("/external_storage/{name}/check", response_model=CheckExternalStorageResponse,
            summary="Write a new test file (weir-<uuid>.md) to the storage; an error says why it failed")
async def check_external_storage(
    request: Request, name: StorageName, _: Caller = Depends(server_caller("CheckExternalStorage")),
) -> CheckExternalStorageResponse:
    weir = services(request)
    async with weir.db.read() as session:
        row = await _storage(session, name)
    key = f"weir-{uuid.uuid4()}.md"
    with tempfile.TemporaryDirectory() as folder:
        test_file = FilePath(folder) / key
        test_file.write_text(f"# Weir storage check\n\nWritten by Weir to check the external storage '{name}'.\n")
        try:
            store = row_store(row, weir.sealer)
            await store.put(key, test_file, "text/markdown")
            url = await store.signed_url(key, CHECK_URL_LIFETIME)
        except StorageError as exc:
            raise APIError(ErrorCode.INPUT_ERROR, f"external storage '{name}' failed the check: {exc}",
                           fields={"name": str(exc)}) from None
    return CheckExternalStorageResponse(file_url=url)
