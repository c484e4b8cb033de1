"""WHIP (RFC 9725): publish into a call with one HTTP request, for OBS, GStreamer and other standard tools.

``POST /sfu/whip/{type}/{id}?api_key=…`` with ``Content-Type: application/sdp`` and ``Authorization: Bearer``
(a user or call token) joins the call for that user, as the coordinator's join does, admits a participant
session on this SFU and answers the offer: ``201 Created``, the answer SDP and a ``Location`` naming the session
resource. ``DELETE`` on that resource leaves the call. The answer carries all of the SFU's candidates; trickle
ICE and ICE restarts are not supported, so ``PATCH`` answers 405 (RFC 9725 §4.3.1). WHEP (``whep.py``) shares
the joining and the resource.

The first sending audio m-section is published as the ``audio`` track, the first sending video one as ``video``;
any other m-section is answered ``inactive``. A client that vanishes without ``DELETE`` is removed like any
other once its ICE connection fails (``SignalingRooms``).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from weir.coordinator.auth import Caller, caller, services
from weir.coordinator.call_service import load_call
from weir.coordinator.lifecycle import CallLifecycle
from weir.coordinator.routes.calls import CallId, CallType
from weir.coordinator.routes.edges import client_region
from weir.coordinator.sfu.placement import SfuPlacement
from weir.coordinator.sfu.registry import Wish
from weir.domain.geofence import fence_names
from weir.domain.sfu_tokens import SfuGrant
from weir.protocol.errors import APIError, ErrorCode, input_error, not_found
from weir.rtc.sdp import SdpError, parse
from weir.sfu.entry import EntryKind, MediaEntry
from weir.sfu.entry_offers import offered_tracks
from weir.sfu.signaling.session import TRACK_CAPABILITY

__all__ = ["WHEP_PATH", "WHIP_PATH", "join_session", "read_offer", "session_routes", "whip_router"]

WHIP_PATH = "/sfu/whip"
WHEP_PATH = "/sfu/whep"
SDP_TYPE = "application/sdp"


async def read_offer(request: Request) -> str:
    """The request's SDP offer (only parsed here); 400 naming Content-Type or sdp otherwise."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != SDP_TYPE:
        raise input_error("Content-Type", f"the offer must be {SDP_TYPE}, not {content_type or 'missing'}")
    try:
        sdp = (await request.body()).decode("utf-8")
        parse(sdp)
    except (UnicodeDecodeError, SdpError) as error:
        raise input_error("sdp", str(error)) from None
    return sdp


async def join_session(
    entry: MediaEntry, kind: EntryKind, request: Request, who: Caller, type_: str, id_: str, capabilities: set[str],
) -> Response:
    """Join the call for the caller (needing ``capabilities`` besides join-call), then have ``entry`` admit the
    session and answer its offer: 201 with the answer and the session's ``Location``."""
    if who.is_server or who.user_id is None:
        raise APIError(ErrorCode.NOT_ALLOWED, "only users join calls: use a user or call token")
    sdp = await read_offer(request)
    weir = services(request)
    async with weir.db.transaction() as session:
        call, access = await load_call(session, who, type_, id_)
        lifecycle = CallLifecycle(weir, session, call, access)
        lifecycle.check_can_join(who)
        missing = sorted(capabilities - set(access.capabilities))
        if missing:
            raise APIError(ErrorCode.NOT_ALLOWED, f"this needs the {', '.join(missing)} capability")
        placement: SfuPlacement = request.app.state.sfu_placement  # within the call's geofences, near the client
        region = client_region(weir.settings, None, request.client.host if request.client else None)
        await placement.place(call.cid, str(request.base_url), Wish(fence_names(access.settings.raw), region))
        participant = (await lifecycle.join(who)).participant
        grant = SfuGrant(call_cid=call.cid, user_id=who.user_id, session_id=participant.user_session_id,
                         role=participant.role, capabilities=frozenset(access.capabilities), expires_at=0,
                         source="whip" if kind == "whip" else "webrtc")
    answer = await entry.open(kind, grant, sdp)
    location = f"{request.url.path}/{grant.session_id}?api_key={weir.api_key}"
    return Response(answer, status_code=201, media_type=SDP_TYPE, headers={"Location": location})


def session_routes(router: APIRouter, entry: MediaEntry, what: str) -> None:
    """``DELETE`` (leave) and ``PATCH`` (405) on ``/{type}/{id}/{session_id}``, the resource a POST created."""

    @router.delete("/{type}/{id}/{session_id}", summary=f"{what}: end the session and leave the call")
    async def stop(type: CallType, id: CallId, session_id: str,
                   who: Caller = Depends(caller("LeaveCall"))) -> Response:
        cid = f"{type}:{id}"
        who.require_call(cid)
        if not await entry.close(cid, session_id, None if who.is_server else who.user_id):
            raise not_found(f"{what} session {session_id} in call {cid}")
        return Response(status_code=200)

    @router.patch("/{type}/{id}/{session_id}", summary=f"{what}: trickle ICE and ICE restarts are not supported")
    async def patch(type: CallType, id: CallId, session_id: str) -> Response:
        error = APIError(ErrorCode.NOT_ALLOWED, "no trickle ICE or ICE restart here: every candidate is in the "
                         "offer and the answer", headers={"Allow": "DELETE"})
        error.status_code = 405
        raise error


def whip_router(entry: MediaEntry) -> APIRouter:
    router = APIRouter(prefix=WHIP_PATH, tags=["sfu"])

    @router.post("/{type}/{id}", status_code=201, response_class=Response,
                 summary="WHIP: join a call and publish (SDP offer in, answer out)")
    async def publish(request: Request, type: CallType, id: CallId,
                      who: Caller = Depends(caller("JoinCall"))) -> Response:
        try:
            types = [t.track_type for t in offered_tracks(await read_offer(request), "-")]
        except SdpError as error:
            raise input_error("sdp", str(error)) from None
        needed = {TRACK_CAPABILITY[t] for t in types}
        return await join_session(entry, "whip", request, who, type, id, needed)

    session_routes(router, entry, "WHIP")
    return router
