"""The internal channel between the coordinator and its SFU workers: paths, its token and the records it carries.

Every request on it carries a short-lived HS256 JWT signed with the API secret and ``aud: "weir-sfu-worker"``.
User, call and SFU tokens have no such audience (or another), so nothing but the coordinator and its workers,
which both hold the secret, gets through.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import asdict
from datetime import datetime
from typing import Any

import httpx
import jwt

from weir.domain.sfu_tokens import SfuGrant
from weir.sfu.signaling.link import CallRecord, ParticipantRecord, parse_pins

__all__ = [
    "CHANNEL_PREFIX", "ENTRY_PREFIX", "EVENTS_PATH", "NODES_PATH", "ChannelAuth", "ChannelTokenError", "call_from_json",
    "call_to_json", "channel_token", "grant_from_json", "grant_to_json", "participant_from_json", "participant_to_json",
    "verify_channel_token",
]

CHANNEL_PREFIX = "/internal/sfu"
EVENTS_PATH = CHANNEL_PREFIX + "/events"
ENTRY_PREFIX = CHANNEL_PREFIX + "/entry"  # a worker's WHIP/WHEP entry, called by the coordinator
NODES_PATH = CHANNEL_PREFIX + "/nodes"  # the coordinator's: POST {NODES_PATH}/{name}/drain
AUDIENCE = "weir-sfu-worker"
TTL_SECONDS = 60


class ChannelTokenError(ValueError):
    """Not a token of the internal channel."""


def channel_token(secret: str, worker: int | None = None, *, now: float | None = None) -> str:
    """A token for one request or connection; ``worker`` names the sending worker (None: the coordinator)."""
    issued = int(time.time() if now is None else now)
    claims = {"aud": AUDIENCE, "worker": worker, "iat": issued, "exp": issued + TTL_SECONDS}
    return jwt.encode(claims, secret, algorithm="HS256")


def verify_channel_token(secret: str, authorization: str | None) -> int | None:
    """The worker index a ``Bearer`` header names (None: the coordinator); ChannelTokenError if it is not ours."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ChannelTokenError("a bearer token of the internal channel is needed")
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], audience=AUDIENCE,
                            options={"require": ["aud", "exp", "iat"]})
    except jwt.PyJWTError as error:
        raise ChannelTokenError(f"not a token of the internal channel: {error}") from error
    worker = claims.get("worker")
    if worker is not None and not isinstance(worker, int):
        raise ChannelTokenError("the token's worker must be an integer")
    return worker


class ChannelAuth(httpx.Auth):
    """Signs each request with a fresh channel token."""

    def __init__(self, secret: str, worker: int | None) -> None:
        self.secret = secret
        self.worker = worker

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {channel_token(self.secret, self.worker)}"
        yield request


def call_to_json(call: CallRecord) -> dict[str, Any]:
    return {"cid": call.cid, "started_at": call.started_at.isoformat() if call.started_at else None,
            "pins": [pin.model_dump(mode="json") for pin in call.pins], "settings": call.settings}


def call_from_json(data: dict[str, Any]) -> CallRecord:
    started = data.get("started_at")
    return CallRecord(cid=data["cid"], started_at=datetime.fromisoformat(started) if started else None,
                      pins=parse_pins(data["pins"]), settings=data["settings"])


def participant_to_json(participant: ParticipantRecord) -> dict[str, Any]:
    return {**asdict(participant), "joined_at": participant.joined_at.isoformat()}


def participant_from_json(data: dict[str, Any]) -> ParticipantRecord:
    return ParticipantRecord(**{**data, "joined_at": datetime.fromisoformat(data["joined_at"])})


def grant_to_json(grant: SfuGrant) -> dict[str, Any]:
    return {**asdict(grant), "capabilities": sorted(grant.capabilities)}


def grant_from_json(data: dict[str, Any]) -> SfuGrant:
    return SfuGrant(**{**data, "capabilities": frozenset(data["capabilities"])})
