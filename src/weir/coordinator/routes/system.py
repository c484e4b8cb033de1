"""Routes: health, whoami and (with ``weir serve --dev``) development sign-in."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from weir import __version__
from weir.coordinator.auth import Caller, caller, services
from weir.coordinator.ratelimit import ENDPOINT_LIMITS, WINDOW_SECONDS
from weir.domain.tokens import create_token
from weir.protocol.errors import input_error, not_found
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


class EndpointLimit(BaseModel):
    limit: int
    remaining: int
    reset: int
    window: int = WINDOW_SECONDS


PlatformLimits = dict[str, EndpointLimit]


class RateLimitsResponse(BaseModel):
    server_side: PlatformLimits | None = None
    android: PlatformLimits | None = None
    ios: PlatformLimits | None = None
    web: PlatformLimits | None = None
    duration: str = ""


@router.get("/rate_limits", response_model=RateLimitsResponse, response_model_exclude_none=True,
            summary="The app's rate limits and what is left of them, per platform and endpoint")
async def get_rate_limits(
    request: Request, server_side: bool = False, android: bool = False, ios: bool = False, web: bool = False,
    endpoints: Annotated[str | None, Query(max_length=4096, description="Comma-separated endpoint names")] = None,
    _: Caller = Depends(caller("GetRateLimits")),
) -> RateLimitsResponse:
    names = sorted(ENDPOINT_LIMITS) if not endpoints else [e.strip() for e in endpoints.split(",") if e.strip()]
    unknown = [name for name in names if name not in ENDPOINT_LIMITS]
    if unknown:
        raise input_error("endpoints", f"unknown endpoints: {', '.join(unknown)}")
    wanted = {"server_side": server_side, "android": android, "ios": ios, "web": web}
    everything = not any(wanted.values())
    limiter = services(request).limiter
    answer: dict[str, PlatformLimits] = {}
    for field, platform in (("server_side", "server"), ("android", "android"), ("ios", "ios"), ("web", "web")):
        if everything or wanted[field]:
            answer[field] = {}
            for name in names:
                state = await limiter.peek(name, platform)
                answer[field][name] = EndpointLimit(limit=state.limit, remaining=max(state.remaining, 0),
                                                    reset=state.reset)
    return RateLimitsResponse.model_validate(answer)
