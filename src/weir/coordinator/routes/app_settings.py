"""Routes: the app settings (webhook endpoints), server-side only."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Request

from weir.coordinator.auth import Caller, server_caller, services
from weir.coordinator.revocation import APP_KEY, stored_date
from weir.domain.clock import now
from weir.protocol.app_settings import AppResponse, AppSettings, UpdateAppRequest
from weir.protocol.errors import input_error
from weir.store.db import after_commit
from weir.store.tables import AppSettingsRow
from weir.webhooks.config import (
    APP_SETTINGS_ID,
    app_settings,
    check_hook_destinations,
    hooks_of,
    locked_settings,
    store_hooks,
    updated_hooks,
)


def _with_revocation(settings: AppSettings, row: AppSettingsRow | None) -> AppSettings:
    return settings.model_copy(update={APP_KEY: stored_date(row.settings) if row is not None else None})

router = APIRouter(prefix="/app", tags=["app"])
FUTURE_SKEW = timedelta(minutes=1)  # clocks of the caller and the server may differ this much


@router.get("", response_model=AppResponse, summary="Get the app settings: webhook endpoints")
async def get_app(request: Request, _: Caller = Depends(server_caller("GetApp"))) -> AppResponse:
    async with services(request).db.read() as session:
        row = await session.get(AppSettingsRow, APP_SETTINGS_ID)
    return AppResponse(app=_with_revocation(app_settings(hooks_of(row)), row))


@router.patch("", response_model=AppResponse, summary="Update the app settings; event_hooks replaces the list")
async def update_app(
    request: Request, body: UpdateAppRequest, _: Caller = Depends(server_caller("UpdateApp")),
) -> AppResponse:
    weir = services(request)
    async with weir.db.transaction() as session:
        row = await locked_settings(session)
        stamp = now()
        previous = hooks_of(row)
        hooks = updated_hooks(previous, body, stamp, weir.sealer)
        check_hook_destinations(previous, hooks, body, weir.settings.private_destinations_allowed,
                                weir.settings.aws_endpoint_url)
        store_hooks(row, hooks, stamp)
        if APP_KEY in body.model_fields_set:
            before = body.revoke_tokens_issued_before
            if before is not None and before > stamp + FUTURE_SKEW:
                raise input_error(APP_KEY, "must not be in the future: it would refuse every token issued until "
                                  "then, new ones included")
            row.settings = {**row.settings, APP_KEY: before.isoformat() if before else None}

            async def remember() -> None:
                weir.revocation.set(before)

            after_commit(session, remember)
    return AppResponse(app=_with_revocation(app_settings(hooks), row))
