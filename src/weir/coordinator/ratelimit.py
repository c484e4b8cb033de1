"""Per-client and per-app rate limits over a one-minute window, with the documented per-endpoint limits.

``RateLimiter`` is the interface; ``InMemoryRateLimiter`` is the embedded default; ``RedisRateLimiter``
(``ratelimit_redis``) keeps the same counters in Redis, shared by every coordinator process.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from weir.domain.ratewindows import FixedWindows

WINDOW_SECONDS = 60
USER_LIMIT_PER_MINUTE = 60
DEFAULT_ENDPOINT_LIMIT = 1000

# Requests per minute per endpoint and platform, as documented.
ENDPOINT_LIMITS: dict[str, int] = {
    "AcceptCall": 1000, "BlockUser": 1000, "CheckExternalStorage": 300, "CollectUserFeedback": 1000,
    "CreateCallType": 300, "CreateDevice": 300, "CreateExternalStorage": 300, "CreateGuest": 1000,
    "DeleteCall": 60, "DeleteCallType": 300, "DeleteDevice": 60, "DeleteExternalStorage": 300,
    "DeleteRecording": 1000, "DeleteTranscription": 1000, "EndCall": 1000, "GetCall": 1000,
    "GetCallStats": 60, "GetCallType": 300, "GetEdges": 300, "GetOrCreateCall": 1000, "GoLive": 300,
    "JoinCall": 1000, "ListCallTypes": 300, "ListDevices": 60, "ListExternalStorage": 300,
    "ListRecordings": 1000, "ListTranscriptions": 1000, "MuteUsers": 1000, "QueryAggregateCallStats": 60,
    "QueryCallStats": 60, "QueryCalls": 1000, "QueryUserFeedback": 60, "QueryMembers": 300,
    "RejectCall": 1000, "RequestPermission": 1000, "SendEvent": 10000, "SendVideoReaction": 1000,
    "StartClosedCaptions": 300, "StartHLSBroadcasting": 1000, "StartRTMPBroadcasts": 1000,
    "StartRecording": 300, "StartTranscription": 300, "StopAllRTMPBroadcasts": 1000,
    "StopClosedCaptions": 300, "StopHLSBroadcasting": 1000, "StopLive": 300, "StopRTMPBroadcast": 1000,
    "StopRecording": 300, "StopTranscription": 300, "UnblockUser": 1000, "UpdateCall": 1000,
    "UpdateCallMembers": 1000, "UpdateCallType": 300, "UpdateExternalStorage": 300,
    "UpdateUserPermissions": 1000, "VideoConnect": 10000, "VideoPin": 1000, "VideoUnpin": 1000,
}


def endpoint_limit(endpoint: str) -> int:
    return ENDPOINT_LIMITS.get(endpoint, DEFAULT_ENDPOINT_LIMIT)


def app_per_second(per_minute: int) -> int:
    """The seed: the per-second limit is the per-minute limit divided by 30, to allow for bursts."""
    return max(1, math.ceil(per_minute / 30))


def user_limits(endpoint: str) -> tuple[int, int]:
    """One client's limits on an endpoint, per minute and per second: the seed's 60 a minute, but never more
    than half of the app's limits, so that one client cannot use up the app's quota alone."""
    per_minute = endpoint_limit(endpoint)
    return min(USER_LIMIT_PER_MINUTE, max(1, per_minute // 2)), max(1, app_per_second(per_minute) // 2)


@dataclass(frozen=True)
class RateLimitState:
    limit: int
    remaining: int
    reset: int  # Unix time at which the window resets

    @property
    def exceeded(self) -> bool:
        return self.remaining < 0

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(self.remaining, 0)),
            "X-RateLimit-Reset": str(self.reset),
        }


class RateLimiter(Protocol):
    async def hit(self, endpoint: str, platform: str, client: str | None) -> RateLimitState:
        """Count a request of ``client`` (a user id, ``ip:<address>``, or None for the server)."""
        ...

    async def peek(self, endpoint: str, platform: str) -> RateLimitState:
        """The app's per-minute state for an endpoint and platform, without counting a request."""
        ...


Counted = tuple[int, int]  # hits in the current window, and when it ends (Unix time)
WindowKey = tuple[tuple[str, ...], int]  # the counter and its window in seconds


class WindowRateLimiter:
    """Fixed windows: app × platform × endpoint per minute and per second (limit/30); and client × endpoint per
    minute and per second, where the client is the authenticated user (or, without one, the client's address).

    A client's share is at most half of the app's limits (``user_limits``), and a request its own limit refuses
    is not counted against the app: one client alone never makes the app's limit answer 429 to others.
    Subclasses keep the counters (``_hit`` counts several at once, in one round trip where that matters)."""

    async def _hit(self, keys: list[WindowKey]) -> list[Counted]:
        raise NotImplementedError

    async def _count(self, key: WindowKey) -> Counted:
        raise NotImplementedError

    async def peek(self, endpoint: str, platform: str) -> RateLimitState:
        per_minute = endpoint_limit(endpoint)
        used, reset = await self._count((("app", platform, endpoint, "m"), WINDOW_SECONDS))
        return RateLimitState(per_minute, per_minute - used, reset)

    async def hit(self, endpoint: str, platform: str, client: str | None) -> RateLimitState:
        per_minute = endpoint_limit(endpoint)
        user_state = None
        if client is not None:
            user_minute, user_second = user_limits(endpoint)
            (used_u, reset_u), (used_us, reset_us) = await self._hit(
                [(("user", client, endpoint, "m"), WINDOW_SECONDS), (("user", client, endpoint, "s"), 1)])
            user_state = RateLimitState(user_minute, user_minute - used_u, reset_u)
            if used_us > user_second:
                return RateLimitState(user_second, user_second - used_us, reset_us)
            if user_state.exceeded:
                return user_state
        (used, reset), (used_s, reset_s) = await self._hit(
            [(("app", platform, endpoint, "m"), WINDOW_SECONDS), (("app", platform, endpoint, "s"), 1)])
        state = RateLimitState(per_minute, per_minute - used, reset)
        per_second = app_per_second(per_minute)
        if used_s > per_second:
            state = RateLimitState(per_second, per_second - used_s, reset_s)
        if user_state is not None and user_state.remaining < state.remaining:
            state = user_state
        return state


class InMemoryRateLimiter(WindowRateLimiter):
    """The embedded default: this process's own counters."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._windows = FixedWindows(clock)

    async def _hit(self, keys: list[WindowKey]) -> list[Counted]:
        return [self._windows.hit(key, window) for key, window in keys]

    async def _count(self, key: WindowKey) -> Counted:
        return self._windows.count(*key)
