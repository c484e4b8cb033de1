"""Per-user and per-app rate limits over a one-minute window, with the documented per-endpoint limits.

``RateLimiter`` is the interface; ``InMemoryRateLimiter`` is the embedded default. A Redis-backed limiter
implements the same ``hit`` with INCR + EXPIRE on the same keys.
"""

from __future__ import annotations

import math
from collections.abc import Callable
import time
from dataclasses import dataclass
from typing import Protocol

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
    async def hit(self, endpoint: str, platform: str, user_id: str | None) -> RateLimitState: ...

    async def peek(self, endpoint: str, platform: str) -> RateLimitState:
        """The app's per-minute state for an endpoint and platform, without counting a request."""
        ...


class InMemoryRateLimiter:
    """Fixed windows: app × platform × endpoint per minute and per second (limit/30), and user × platform ×
    endpoint per minute."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._counts: dict[tuple[str, ...], tuple[int, int]] = {}

    def _incr(self, key: tuple[str, ...], window: int) -> tuple[int, int]:
        now = self._clock()
        start = int(now // window) * window
        count, seen_start = self._counts.get(key, (0, start))
        if seen_start != start:
            count = 0
            if len(self._counts) > 100_000:
                self._prune(now)
        count += 1
        self._counts[key] = (count, start)
        return count, start + window

    def _prune(self, now: float) -> None:
        cutoff = now - WINDOW_SECONDS
        self._counts = {k: v for k, v in self._counts.items() if v[1] >= cutoff}

    async def peek(self, endpoint: str, platform: str) -> RateLimitState:
        per_minute = endpoint_limit(endpoint)
        start = int(self._clock() // WINDOW_SECONDS) * WINDOW_SECONDS
        count, seen_start = self._counts.get(("app", platform, endpoint, "m"), (0, start))
        used = count if seen_start == start else 0
        return RateLimitState(per_minute, per_minute - used, start + WINDOW_SECONDS)

    async def hit(self, endpoint: str, platform: str, user_id: str | None) -> RateLimitState:
        per_minute = endpoint_limit(endpoint)
        per_second = max(1, math.ceil(per_minute / 30))
        used, reset = self._incr(("app", platform, endpoint, "m"), WINDOW_SECONDS)
        state = RateLimitState(per_minute, per_minute - used, reset)
        used_s, reset_s = self._incr(("app", platform, endpoint, "s"), 1)
        if used_s > per_second:
            state = RateLimitState(per_second, per_second - used_s, reset_s)
        if user_id is not None and platform != "server":
            used_u, reset_u = self._incr(("user", user_id, platform, endpoint), WINDOW_SECONDS)
            user_state = RateLimitState(USER_LIMIT_PER_MINUTE, USER_LIMIT_PER_MINUTE - used_u, reset_u)
            if user_state.remaining < state.remaining or user_state.exceeded:
                state = user_state
        return state
