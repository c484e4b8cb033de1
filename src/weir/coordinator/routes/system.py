"""Routes: health, whoami and (with ``weir serve --dev``) development sign-in."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from weir import __version__
from weir.coordinator.auth import Caller, caller, services
from weir.domain.tokens import create_token
from weir.protocol.errors import not_found
from weir.protocol.limits import USER_ID_PATTERN

router = APIRouter(tags=["system"])

DEV_TOKEN_TTL_SECONDS = 24 * 3600


class DevTokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: str = Field(pattern=USER_ID_PATTERN)


class DevTokenResponse(BaseModel):
    user_id: str
    token: str
    api_key: str


@router.get("/health", summary="Liveness check")
async def health() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


@router.get("/health/auth", summary="Echo who the token says the caller is")
async def whoami(who: Caller = Depends(caller("Health"))) -> dict[str, object]:
    return {"user_id": who.user_id, "server": who.is_server, "anonymous": who.is_anonymous,
            "platform": who.platform}


@router.post("/dev/token", response_model=DevTokenResponse,
             summary="Development sign-in: a user token for any id (only with `weir serve --dev`)")
async def dev_token(request: Request, body: DevTokenRequest) -> DevTokenResponse:
    weir = services(request)
    if not weir.settings.dev:
        raise not_found("development sign-in (start the server with --dev)")
    token = create_token(weir.api_secret, body.user_id, expiration=DEV_TOKEN_TTL_SECONDS)
    return DevTokenResponse(user_id=body.user_id, token=token, api_key=weir.api_key)
