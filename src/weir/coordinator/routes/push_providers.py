"""Routes: push provider configurations (Firebase, APNs). Server-side only; secrets are never returned."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from sqlalchemy.exc import IntegrityError

from weir.coordinator.auth import Caller, server_caller, services
from weir.domain.clock import now
from weir.protocol.common import Empty
from weir.protocol.errors import APIError, ErrorCode, not_found
from weir.protocol.push import (
    PROVIDER_NAME_PATTERN,
    ListPushProvidersResponse,
    PushProviderType,
    UpsertPushProviderRequest,
    UpsertPushProviderResponse,
)
from weir.push.providers import (
    check_destinations,
    listed_provider,
    merge_config,
    opened_config,
    provider_response,
    sealed_config,
)
from weir.push.store import list_providers
from weir.store.tables import PushProviderRow

router = APIRouter(tags=["push"])


@router.get("/push_providers", response_model=ListPushProvidersResponse, summary="List push providers")
async def list_push_providers(
    request: Request, _: Caller = Depends(server_caller("ListPushProviders")),
) -> ListPushProvidersResponse:
    async with services(request).db.read() as session:
        rows = await list_providers(session)
    sealer = services(request).sealer
    return ListPushProvidersResponse(push_providers=[listed_provider(row, sealer) for row in rows])


@router.post("/push_providers", response_model=UpsertPushProviderResponse, status_code=201,
             summary="Create or update a push provider (201 when created, 200 when updated)")
async def upsert_push_provider(
    request: Request, response: Response, body: UpsertPushProviderRequest,
    _: Caller = Depends(server_caller("UpsertPushProvider")),
) -> UpsertPushProviderResponse:
    given = body.push_provider
    async with services(request).db.transaction() as session:
        row = await session.get(PushProviderRow, given.name)
        if row is not None and row.type != given.type:
            raise APIError(ErrorCode.CONFLICT, f"push provider '{given.name}' exists with type '{row.type}'",
                           fields={"push_provider.type": "differs from the existing provider's"})
        stamp = now()
        if row is None:
            row = PushProviderRow(name=given.name, type=given.type, enabled=True, created_at=stamp)
            session.add(row)
        else:
            response.status_code = 200
        sealer = services(request).sealer
        config = merge_config(given, opened_config(row, sealer, drop_unreadable=True))
        check_destinations(given.type, config, services(request).settings.private_destinations_allowed)
        row.config = sealed_config(config, sealer)
        if given.enabled is not None:
            row.enabled = given.enabled
        row.updated_at = stamp
        try:
            await session.flush()
        except IntegrityError:
            raise APIError(ErrorCode.CONFLICT, f"push provider '{given.name}' is being created concurrently") from None
        return UpsertPushProviderResponse(push_provider=provider_response(row, config))


@router.delete("/push_providers/{type}/{name}", response_model=Empty, summary="Delete a push provider")
async def delete_push_provider(
    request: Request, type: PushProviderType, name: Annotated[str, Path(pattern=PROVIDER_NAME_PATTERN)],
    _: Caller = Depends(server_caller("DeletePushProvider")),
) -> Empty:
    async with services(request).db.transaction() as session:
        row = await session.get(PushProviderRow, name)
        if row is None or row.type != type:
            raise not_found(f"{type} push provider '{name}'")
        await session.delete(row)
    return Empty()
