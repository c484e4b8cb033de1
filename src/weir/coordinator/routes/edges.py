"""Routes: the SFU edges, and the credentials a join hands out to reach one."""

from __future__ import annotations

from ipaddress import ip_address

from fastapi import APIRouter, Depends, Request

from weir.config import Settings
from weir.coordinator.auth import Caller, caller, services
from weir.coordinator.call_access import CallAccess
from weir.coordinator.sfu.placement import SfuPlacement, public_url
from weir.coordinator.sfu.registry import Wish, WorkerRegistry
from weir.domain.geofence import fence_names
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


async def _edges(request: Request) -> list[Edge]:
    """This server, when it carries media itself (in its process or its own workers), then each live SFU node
    (with Redis, those of every coordinator process)."""
    settings = services(request).settings
    base = _sfu_base_url(request)
    edges = []
    if settings.sfu_workers or not settings.sfu_nodes:
        edges.append(Edge(name=settings.sfu_edge_name, latency_test_url=base + LATENCY_PATH))
    registry: WorkerRegistry | None = getattr(request.app.state.sfu_placement, "registry", None)
    for name, workers in (await registry.cluster_nodes() if registry else {}).items():
        edges.append(Edge(name=name, latency_test_url=public_url(workers[0], base) + LATENCY_PATH))
    return edges


def client_region(settings: Settings, location: str | None, address: str | None) -> str | None:
    """The SFU region a client would like: its join's ``location``, else the region its address is in."""
    if location:
        return location.lower()
    try:
        client = ip_address(address or "")
    except ValueError:
        return None
    return next((region for region, networks in settings.sfu_region_networks.items()
                 if any(client in network for network in networks)), None)


async def join_credentials(
    request: Request, call_cid: str, participant: SessionParticipantRow, access: CallAccess, source: str = "webrtc",
    location: str | None = None,
) -> tuple[Credentials, StatsOptions]:
    """The address of the call's SFU (within its geofences, near the client), a short-lived SFU token for this
    participant session, ICE servers and stats options."""
    weir = services(request)
    settings = weir.settings
    placement: SfuPlacement = request.app.state.sfu_placement
    region = client_region(settings, location, request.client.host if request.client else None)
    sfu = await placement.place(call_cid, _sfu_base_url(request), Wish(fence_names(access.settings.raw), region))
    token = create_sfu_token(
        weir.api_secret, call_cid=call_cid, user_id=participant.user_id, session_id=participant.user_session_id,
        role=participant.role, capabilities=sorted(access.capabilities), ttl_seconds=settings.sfu_token_ttl_seconds,
        source=source,
    )
    server = SfuServer(url=sfu.base_url.replace("http", "ws", 1) + SIGNALING_PATH, edge_name=sfu.edge_name)
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
    return GetEdgesResponse(edges=await _edges(request))
