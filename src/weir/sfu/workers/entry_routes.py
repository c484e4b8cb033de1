"""A worker's end of WHIP and WHEP: the coordinator joined the caller and hands over the grant and the offer
(``RemoteEntry`` in ``weir.coordinator.sfu.remote_entry``); the worker's ``MediaEntry`` answers it.

Only the coordinator may call these routes (a channel token naming no worker). The token is checked before
the body is read.
"""

from __future__ import annotations

from typing import Any, TypeVar, get_args

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from weir.protocol.errors import APIError, ErrorCode, input_error, not_found
from weir.sfu.entry import EntryKind, MediaEntry
from weir.sfu.workers.channel import ENTRY_PREFIX, ChannelTokenError, grant_from_json, verify_channel_token

__all__ = ["entry_routes", "require_coordinator"]

KINDS: tuple[EntryKind, ...] = get_args(EntryKind)
Body = TypeVar("Body", bound=BaseModel)


class Offer(BaseModel):
    grant: dict[str, Any]
    sdp: str


class Close(BaseModel):
    call_cid: str
    session_id: str
    user_id: str | None


def require_coordinator(secret: str, request: Request) -> None:
    try:
        sender = verify_channel_token(secret, request.headers.get("authorization"))
    except ChannelTokenError as error:
        raise APIError(ErrorCode.AUTH_FAILED, str(error)) from None
    if sender is not None:
        raise APIError(ErrorCode.AUTH_FAILED, "only the coordinator may use this endpoint")


async def _body(request: Request, model: type[Body]) -> Body:
    try:
        return model.model_validate_json(await request.body())
    except ValidationError as error:
        raise input_error("body", str(error)) from None


def entry_routes(entry: MediaEntry, secret: str) -> list[Route]:
    async def close(request: Request) -> JSONResponse:
        require_coordinator(secret, request)
        body = await _body(request, Close)
        return JSONResponse({"closed": await entry.close(body.call_cid, body.session_id, body.user_id)})

    async def open_(request: Request) -> JSONResponse:
        require_coordinator(secret, request)
        kind = request.path_params["kind"]
        if kind not in KINDS:
            raise not_found(f"entry {kind}")
        body = await _body(request, Offer)
        return JSONResponse({"sdp": await entry.open(kind, grant_from_json(body.grant), body.sdp)})

    return [Route(f"{ENTRY_PREFIX}/close", close, methods=["POST"]),
            Route(ENTRY_PREFIX + "/{kind}", open_, methods=["POST"])]
