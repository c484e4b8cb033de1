"""Routes: call types CRUD (server-side)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession

from weir.coordinator.auth import Caller, server_caller, services
from weir.domain.calltypes import BUILTIN_CALL_TYPES, DEFAULT_GRANTS, default_notification_settings
from weir.domain.capabilities import ALL_CAPABILITIES
from weir.domain.clock import now
from weir.domain.settings import default_settings, merge_settings
from weir.protocol.calltypes import (
    CallTypeResponse,
    CreateCallTypeRequest,
    Grants,
    ListCallTypesResponse,
    UpdateCallTypeRequest,
)
from weir.protocol.common import Empty
from weir.protocol.errors import APIError, ErrorCode, input_error, not_found
from weir.protocol.limits import CALL_TYPE_PATTERN
from weir.store.calls import purge_deleted_calls_of_type
from weir.store.calltypes import get_call_type, list_call_types
from weir.store.roles import known_roles
from weir.store.tables import CallTypeRow

router = APIRouter(prefix="/video/calltypes", tags=["call types"])

CallTypeName = Annotated[str, Path(pattern=CALL_TYPE_PATTERN, description="Call type name")]


def call_type_response(row: CallTypeRow) -> CallTypeResponse:
    return CallTypeResponse(
        name=row.name, settings=row.settings, grants=row.grants, notification_settings=row.notification_settings,
        external_storage=row.external_storage, created_at=row.created_at, updated_at=row.updated_at,
    )


async def _checked_grants(session: AsyncSession, grants: Grants) -> Grants:
    """Grants may only name known roles and capabilities; each error names the offending key."""
    roles = await known_roles(session)
    for role, capabilities in grants.items():
        if role not in roles:
            raise input_error(f"grants.{role}", f"role '{role}' does not exist: create it first")
        unknown = sorted(set(capabilities) - ALL_CAPABILITIES)
        if unknown:
            raise input_error(f"grants.{role}", f"unknown capabilities: {', '.join(unknown)}")
    return {role: sorted(set(capabilities)) for role, capabilities in grants.items()}


async def _apply(session: AsyncSession, row: CallTypeRow, body: UpdateCallTypeRequest) -> None:
    if body.settings is not None:
        row.settings = merge_settings(row.settings, body.settings.as_patch())
    if body.grants is not None:
        row.grants = {**row.grants, **await _checked_grants(session, body.grants)}
    if body.notification_settings is not None:
        row.notification_settings = merge_settings(row.notification_settings, body.notification_settings.as_patch())
    if "external_storage" in body.model_fields_set:
        row.external_storage = body.external_storage
    row.updated_at = now()


@router.get("", response_model=ListCallTypesResponse, summary="List call types with their settings and grants")
async def list_types(request: Request, _: Caller = Depends(server_caller("ListCallTypes"))) -> ListCallTypesResponse:
    async with services(request).db.read() as session:
        rows = await list_call_types(session)
    return ListCallTypesResponse(call_types={row.name: call_type_response(row) for row in rows})


@router.post("", response_model=CallTypeResponse, status_code=201, summary="Create a call type")
async def create_type(
    request: Request, body: CreateCallTypeRequest, _: Caller = Depends(server_caller("CreateCallType")),
) -> CallTypeResponse:
    async with services(request).db.transaction() as session:
        if await get_call_type(session, body.name) is not None:
            raise APIError(ErrorCode.CONFLICT, f"call type '{body.name}' already exists", fields={"name": "exists"})
        stamp = now()
        row = CallTypeRow(
            name=body.name, settings=default_settings(), grants=dict(DEFAULT_GRANTS),
            notification_settings=default_notification_settings(), external_storage=None,
            created_at=stamp, updated_at=stamp,
        )
        await _apply(session, row, body)
        session.add(row)
        await session.flush()
        return call_type_response(row)


@router.get("/{name}", response_model=CallTypeResponse, summary="Get a call type")
async def get_type(
    request: Request, name: CallTypeName, _: Caller = Depends(server_caller("GetCallType")),
) -> CallTypeResponse:
    async with services(request).db.read() as session:
        row = await get_call_type(session, name)
        if row is None:
            raise not_found(f"call type '{name}'")
        return call_type_response(row)


@router.put("/{name}", response_model=CallTypeResponse, summary="Update a call type (settings merge, grants per role)")
async def update_type(
    request: Request, name: CallTypeName, body: UpdateCallTypeRequest,
    _: Caller = Depends(server_caller("UpdateCallType")),
) -> CallTypeResponse:
    async with services(request).db.transaction() as session:
        row = await get_call_type(session, name)
        if row is None:
            raise not_found(f"call type '{name}'")
        await _apply(session, row, body)
        await session.flush()
        return call_type_response(row)


@router.delete("/{name}", response_model=Empty, summary="Delete a custom call type that has no calls")
async def delete_type(
    request: Request, name: CallTypeName, _: Caller = Depends(server_caller("DeleteCallType")),
) -> Empty:
    if name in BUILTIN_CALL_TYPES:
        raise APIError(ErrorCode.NOT_ALLOWED, f"'{name}' is a built-in call type; update it instead")
    async with services(request).db.transaction() as session:
        row = await get_call_type(session, name)
        if row is None:
            raise not_found(f"call type '{name}'")
        calls = await purge_deleted_calls_of_type(session, name)
        if calls:
            raise APIError(ErrorCode.CONFLICT, f"call type '{name}' still has {calls} calls; delete them first")
        await session.delete(row)
    return Empty()
