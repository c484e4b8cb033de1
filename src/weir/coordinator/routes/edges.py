"""Routes: the SFU edges, and the credentials a join hands out to reach one."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from weir.config import Settings
from weir.coordinator.auth import Caller, caller, services
from weir.coordinator.call_access import CallAccess
from weir.coordinator.sfu.placement import SfuPlacement
from weir.domain.sfu_tokens import create_sfu_token
from weir.protocol.sfu_edges import Credentials, Edge, GetEdgesResponse, IceServer, SfuServer, StatsOptions
from weir.sfu.signaling.paths import LATENCY_PATH, SIGNALING_PATH
from weir.store.tables import SessionParticipantRow
from weir.turn.credentials import turn_ice_server

router = APIRouter(tags=["edges"])


def _sfu_base_url(request: Request) -> str:
    """The embedded SFU shares this server, so by default clients reach it where they reached the coordinator."""
    configured = services(request).settings.sfu_public_url
    return (configured or str(request.base_url)).rstrip("/")


def _local_edge(request: Request) -> Edge:
    return Edge(name=services(request).settings.sfu_edge_name,
                latency_test_url=_sfu_base_url(request) + LATENCY_PATH)


async def join_credentials(
    request: Request, call_cid: str, participant: SessionParticipantRow, access: CallAccess, source: str = "webrtc",
) -> tuple[Credentials, StatsOptions]:
    """The address of the call's SFU, a short-lived SFU token for this participant session, ICE servers and
    stats options."""
    weir = services(request)
    settings = weir.settings
    placement: SfuPlacement = request.app.state.sfu_placement
    base = await placement.base_url(call_cid, _sfu_base_url(request))
    token = create_sfu_token(
        weir.api_secret, call_cid=call_cid, user_id=participant.user_id, session_id=participant.user_session_id,
        role=participant.role, capabilities=sorted(access.capabilities), ttl_seconds=settings.sfu_token_ttl_seconds,
        source=source,
    )
    server = SfuServer(url=base.replace("http", "ws", 1) + SIGNALING_PATH, edge_name=settings.sfu_edge_name)
    credentials = Credentials(server=server, token=token, ice_servers=ice_servers(settings, participant.user_id))
    return credentials, StatsOptions(reporting_interval_ms=settings.stats_reporting_interval_ms)


def ice_servers(settings: Settings, user_id: str) -> list[IceServer]:
    """The configured STUN/TURN servers, then the built-in coturn's with fresh REST credentials when enabled."""
    if not settings.turn_enabled:
        return settings.sfu_ice_servers
    turn = turn_ice_server(settings.turn_secret, settings.turn_url_host, settings.turn_port, user_id,
                           settings.turn_credential_ttl_seconds)
    return [*settings.sfu_ice_servers, turn]


@router.get("/edges", response_model=GetEdgesResponse, summary="List the SFU edges")
async def get_edges(request: Request, who: Caller = Depends(caller("GetEdges"))) -> GetEdgesResponse:
    return GetEdgesResponse(edges=[_local_edge(request)])
