"""WHIP and WHEP with SFU workers: the coordinator joins the caller, the call's worker sets up the media.

The coordinator's process keeps the public WHIP/WHEP resources (the database, the caller's token and the
join are there); ``RemoteEntry`` hands the offer and the grant to the owning worker's ``entry_router`` over
the internal channel and relays its answer, or its error, unchanged.
"""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from weir.domain.sfu_tokens import SfuGrant
from weir.protocol.errors import APIError, ErrorCode
from weir.sfu.entry import EntryKind, MediaEntry
from weir.sfu.workers.channel import (
    CHANNEL_PREFIX,
    ChannelAuth,
    ChannelTokenError,
    grant_from_json,
    grant_to_json,
    verify_channel_token,
)
from weir.sfu.workers.registry import NoWorker, WorkerRegistry

__all__ = ["PLACE_WAIT_SECONDS", "RemoteEntry", "entry_router", "no_worker_error"]

ENTRY_PREFIX = CHANNEL_PREFIX + "/entry"
PLACE_WAIT_SECONDS = 10.0


def no_worker_error() -> APIError:
    error = APIError(ErrorCode.INTERNAL, "no SFU worker is running: try again in a moment")
    error.status_code = 503
    return error


def _relayed(response: httpx.Response) -> APIError:
    body = response.json()
    error = APIError(ErrorCode(body["code"]), body["message"], fields=body.get("exception_fields") or {})
    error.status_code = response.status_code
    return error


class RemoteEntry:
    def __init__(self, registry: WorkerRegistry, secret: str) -> None:
        self.registry = registry
        self.http = httpx.AsyncClient(auth=ChannelAuth(secret, None), timeout=30)

    async def open(self, kind: EntryKind, grant: SfuGrant, sdp: str) -> str:
        try:
            worker = await self.registry.place(grant.call_cid, PLACE_WAIT_SECONDS)
        except NoWorker:
            raise no_worker_error() from None
        response = await self.http.post(f"{worker.base_url}{ENTRY_PREFIX}/{kind}",
                                        json={"grant": grant_to_json(grant), "sdp": sdp})
        if response.status_code != 200:
            raise _relayed(response)
        return str(response.json()["sdp"])

    async def close(self, call_cid: str, session_id: str, user_id: str | None) -> bool:
        worker = self.registry.owner(call_cid)
        if worker is None:
            return False
        response = await self.http.post(f"{worker.base_url}{ENTRY_PREFIX}/close", json={
            "call_cid": call_cid, "session_id": session_id, "user_id": user_id})
        if response.status_code != 200:
            raise _relayed(response)
        return bool(response.json()["closed"])

    async def aclose(self) -> None:
        await self.http.aclose()


class Offer(BaseModel):
    grant: dict[str, Any]
    sdp: str


class Close(BaseModel):
    call_cid: str
    session_id: str
    user_id: str | None


def entry_router(entry: MediaEntry, secret: str) -> APIRouter:
    """The worker's end: only the coordinator (a channel token naming no worker) may call it."""

    def coordinator(request: Request) -> None:
        try:
            sender = verify_channel_token(secret, request.headers.get("authorization"))
        except ChannelTokenError as error:
            raise APIError(ErrorCode.AUTH_FAILED, str(error)) from None
        if sender is not None:
            raise APIError(ErrorCode.AUTH_FAILED, "only the coordinator may use this endpoint")

    router = APIRouter(prefix=ENTRY_PREFIX, include_in_schema=False, dependencies=[Depends(coordinator)])

    @router.post("/close")
    async def close(body: Close) -> dict[str, bool]:
        return {"closed": await entry.close(body.call_cid, body.session_id, body.user_id)}

    @router.post("/{kind}")
    async def open_(kind: EntryKind, body: Offer) -> dict[str, str]:
        return {"sdp": await entry.open(kind, grant_from_json(body.grant), body.sdp)}

    return router
