"""Routes: start and stop HLS broadcasting (the seed's ``start_broadcasting`` / ``stop_broadcasting``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, Request

from weir.coordinator.auth import Caller, caller, services
from weir.coordinator.broadcaster import Broadcaster
from weir.coordinator.call_service import load_call
from weir.coordinator.routes.calls import CallId, CallType
from weir.domain.capabilities import Capability
from weir.protocol.broadcasting import StartHLSBroadcastingResponse
from weir.protocol.common import Empty

router = APIRouter(prefix="/video/call", tags=["broadcasting"])


@asynccontextmanager
async def _broadcaster(request: Request, who: Caller, type_: str, id_: str,
                       capability: Capability) -> AsyncIterator[Broadcaster]:
    async with services(request).db.transaction() as session:
        call, access = await load_call(session, who, type_, id_)
        access.require(capability)
        yield Broadcaster(services(request), session, call, access)


@router.post("/{type}/{id}/start_broadcasting", response_model=StartHLSBroadcastingResponse,
             summary="Start HLS broadcasting")
async def start_hls_broadcasting(
    request: Request, type: CallType, id: CallId, who: Caller = Depends(caller("StartHLSBroadcasting")),
) -> StartHLSBroadcastingResponse:
    async with _broadcaster(request, who, type, id, Capability.START_BROADCAST_CALL) as broadcaster:
        url = await broadcaster.start_hls()
    return StartHLSBroadcastingResponse(playlist_url=url)


@router.post("/{type}/{id}/stop_broadcasting", response_model=Empty, summary="Stop HLS broadcasting")
async def stop_hls_broadcasting(
    request: Request, type: CallType, id: CallId, who: Caller = Depends(caller("StopHLSBroadcasting")),
) -> Empty:
    async with _broadcaster(request, who, type, id, Capability.STOP_BROADCAST_CALL) as broadcaster:
        await broadcaster.stop_hls()
    return Empty()
