"""Routes: start RTMP broadcasts, stop one by name, stop them all (the seed's paths and rate-limit names)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from weir.coordinator.auth import Caller, caller, services
from weir.coordinator.call_service import load_call
from weir.coordinator.routes.calls import CallId, CallType
from weir.coordinator.rtmp_broadcasts import RtmpBroadcasts
from weir.domain.capabilities import Capability
from weir.protocol.common import Empty
from weir.protocol.rtmp_broadcasts import BROADCAST_NAME, StartRTMPBroadcastsRequest, StartRTMPBroadcastsResponse

router = APIRouter(prefix="/video/call", tags=["broadcasting"])

BroadcastName = Annotated[str, Path(pattern=BROADCAST_NAME, description="The broadcast's name")]


@router.post("/{type}/{id}/rtmp_broadcasts", response_model=StartRTMPBroadcastsResponse,
             summary="Start RTMP broadcasts of the call")
async def start_rtmp_broadcasts(
    request: Request, type: CallType, id: CallId, body: StartRTMPBroadcastsRequest,
    who: Caller = Depends(caller("StartRTMPBroadcasts")),
) -> StartRTMPBroadcastsResponse:
    async with services(request).db.transaction() as session:
        call, access = await load_call(session, who, type, id)
        access.require(Capability.START_BROADCAST_CALL)
        await RtmpBroadcasts(services(request), session, call).start(body.broadcasts, access.settings.raw)
    return StartRTMPBroadcastsResponse()


async def _stop(request: Request, who: Caller, type_: str, id_: str, name: str | None) -> Empty:
    async with services(request).db.transaction() as session:
        call, access = await load_call(session, who, type_, id_)
        access.require(Capability.STOP_BROADCAST_CALL)
        await RtmpBroadcasts(services(request), session, call).stop(name, required=name is not None)
    return Empty()


@router.post("/{type}/{id}/rtmp_broadcasts/stop", response_model=Empty, summary="Stop every RTMP broadcast")
async def stop_all_rtmp_broadcasts(
    request: Request, type: CallType, id: CallId, who: Caller = Depends(caller("StopAllRTMPBroadcasts")),
) -> Empty:
    return await _stop(request, who, type, id, None)


@router.post("/{type}/{id}/rtmp_broadcasts/{name}/stop", response_model=Empty, summary="Stop an RTMP broadcast")
async def stop_rtmp_broadcast(
    request: Request, type: CallType, id: CallId, name: BroadcastName,
    who: Caller = Depends(caller("StopRTMPBroadcast")),
) -> Empty:
    return await _stop(request, who, type, id, name)
