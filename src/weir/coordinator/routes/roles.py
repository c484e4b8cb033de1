"""Routes: roles (built-in and custom) and the permission catalogue."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from sqlalchemy import select

from weir.coordinator.auth import Caller, caller, server_caller, services
from weir.domain.capabilities import BUILTIN_ROLES, Capability
from weir.domain.clock import now
from weir.protocol.calltypes import (
    CreateRoleRequest,
    ListPermissionsResponse,
    ListRolesResponse,
    PermissionResponse,
    RoleResponse,
)
from weir.protocol.common import Empty
from weir.protocol.errors import APIError, ErrorCode, not_found
from weir.protocol.limits import ROLE_PATTERN
from weir.store.roles import list_custom_roles
from weir.store.tables import CallTypeRow, RoleRow

router = APIRouter(tags=["roles and permissions"])


@router.get("/roles", response_model=ListRolesResponse, summary="List built-in and custom roles")
async def list_roles(request: Request, _: Caller = Depends(server_caller("ListRoles"))) -> ListRolesResponse:
    async with services(request).db.read() as session:
        custom = await list_custom_roles(session)
    roles = [RoleResponse(name=name, custom=False) for name in BUILTIN_ROLES]
    roles += [RoleResponse(name=r.name, custom=True, created_at=r.created_at, updated_at=r.updated_at) for r in custom]
    return ListRolesResponse(roles=roles)


@router.post("/roles", response_model=RoleResponse, status_code=201, summary="Create a custom role")
async def create_role(
    request: Request, body: CreateRoleRequest, _: Caller = Depends(server_caller("CreateRole")),
) -> RoleResponse:
    if body.name in BUILTIN_ROLES:
        raise APIError(ErrorCode.CONFLICT, f"'{body.name}' is a built-in role", fields={"name": "exists"})
    async with services(request).db.transaction() as session:
        if await session.get(RoleRow, body.name) is not None:
            raise APIError(ErrorCode.CONFLICT, f"role '{body.name}' already exists", fields={"name": "exists"})
        stamp = now()
        row = RoleRow(name=body.name, created_at=stamp, updated_at=stamp)
        session.add(row)
        await session.flush()
        return RoleResponse(name=row.name, custom=True, created_at=stamp, updated_at=stamp)


@router.delete("/roles/{name}", response_model=Empty, summary="Delete a custom role no call type grants to")
async def delete_role(
    request: Request, name: Annotated[str, Path(pattern=ROLE_PATTERN)],
    _: Caller = Depends(server_caller("DeleteRole")),
) -> Empty:
    if name in BUILTIN_ROLES:
        raise APIError(ErrorCode.NOT_ALLOWED, f"'{name}' is a built-in role and cannot be deleted")
    async with services(request).db.transaction() as session:
        row = await session.get(RoleRow, name)
        if row is None:
            raise not_found(f"role '{name}'")
        granting = [t.name for t in (await session.scalars(select(CallTypeRow))).all() if name in (t.grants or {})]
        if granting:
            raise APIError(ErrorCode.CONFLICT, f"role '{name}' is still granted in call types: {', '.join(granting)}")
        await session.delete(row)
    return Empty()


@router.get("/permissions", response_model=ListPermissionsResponse, summary="List every call permission")
async def list_permissions(_: Caller = Depends(caller("ListPermissions"))) -> ListPermissionsResponse:
    return ListPermissionsResponse(permissions=[
        PermissionResponse(id=c.value, name=c.name.replace("_", " ").title(), action=c.value,
                           description=f"Allows the '{c.value}' action in a call")
        for c in Capability
    ])
