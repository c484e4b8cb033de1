"""Routes: the app settings (webhook endpoints), server-side only."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from weir.coordinator.auth import Caller, server_caller, services
from weir.domain.clock import now
from weir.protocol.app_settings import AppResponse, UpdateAppRequest
from weir.webhooks.config import (
    app_settings,
    check_hook_destinations,
    hooks_of,
    locked_settings,
    read_hooks,
    store_hooks,
    updated_hooks,
)

router = APIRouter(prefix="/app", tags=["app"])


@router.get("", response_model=AppResponse, summary="Get the app settings: webhook endpoints")
async def get_app(request: Request, _: Caller = Depends(server_caller("GetApp"))) -> AppResponse:
    async with services(request).db.read() as session:
        hooks = await read_hooks(session)
    return AppResponse(app=app_settings(hooks))


@router.patch("", response_model=AppResponse, summary="Update the app settings; event_hooks replaces the list")
async def update_app(
    request: Request, body: UpdateAppRequest, _: Caller = Depends(server_caller("UpdateApp")),
) -> AppResponse:
    async with services(request).db.transaction() as session:
        row = await locked_settings(session)
        stamp = now()
        before = hooks_of(row)
        hooks = updated_hooks(before, body, stamp)
        check_hook_destinations(before, hooks, body, services(request).settings.private_destinations_allowed)
        store_hooks(row, hooks, stamp)
    return AppResponse(app=app_settings(hooks))
