"""WHEP: play a call with one HTTP request (the receive-only counterpart of WHIP, ``whip.py``).

``POST /sfu/whep/{type}/{id}?api_key=…`` with a receive-only ``application/sdp`` offer and a bearer user or call
token (join-call is enough) joins the call for that user and answers with the call's published tracks: each
offered m-section takes the next track of its kind (in join, then publish order) whose codec it offers;
sections left over are rejected, and a call publishing nothing yet is a 409. The tracks are fixed by that one
exchange (no renegotiation): one that is unpublished later stops. ``DELETE`` on the ``Location`` leaves.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from weir.coordinator.auth import Caller, caller
from weir.coordinator.routes.calls import CallId, CallType
from weir.coordinator.sfu.whip import WHEP_PATH, join_session, session_routes
from weir.sfu.entry import MediaEntry

__all__ = ["whep_router"]


def whep_router(entry: MediaEntry) -> APIRouter:
    router = APIRouter(prefix=WHEP_PATH, tags=["sfu"])

    @router.post("/{type}/{id}", status_code=201, response_class=Response,
                 summary="WHEP: join a call and play it (receive-only SDP offer in, answer out)")
    async def play(request: Request, type: CallType, id: CallId,
                   who: Caller = Depends(caller("JoinCall"))) -> Response:
        return await join_session(entry, "whep", request, who, type, id, set())

    session_routes(router, entry, "WHEP")
    return router
