"""Rate limits: the documented per-endpoint table, app limits per minute and per second, the per-user limit,
window resets, and over HTTP the 429 error with its X-RateLimit-* headers."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import ClientConnection

from tests.conftest import RunningServer, assert_error, free_port, start_server
from tests.realtime import open_socket
from weir.config import Settings
from weir.coordinator.auth import PLATFORM_HEADER
from weir.coordinator.ratelimit import (
    DEFAULT_ENDPOINT_LIMIT,
    USER_LIMIT_PER_MINUTE,
    WINDOW_SECONDS,
    InMemoryRateLimiter,
    RateLimitState,
    app_per_second,
    endpoint_limit,
    user_limits,
)
from weir.protocol.errors import ErrorCode

START = 1_700_000_040.0  # the first second of a minute window


class Clock:
    """Time that only moves when the test says so."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def hits(limiter: InMemoryRateLimiter, n: int, endpoint: str, platform: str = "server",
               user_id: str | None = None) -> list[RateLimitState]:
    return [await limiter.hit(endpoint, platform, user_id) for _ in range(n)]


@pytest.mark.parametrize(("endpoint", "limit"), [
    ("DeleteCall", 60), ("GetCallStats", 60), ("ListDevices", 60), ("CreateCallType", 300), ("QueryMembers", 300),
    ("GetOrCreateCall", 1000), ("QueryCalls", 1000), ("SendEvent", 10000), ("VideoConnect", 10000),
])
def test_documented_endpoint_limits(endpoint: str, limit: int) -> None:
    assert endpoint_limit(endpoint) == limit


def test_endpoints_missing_from_the_table_get_the_default() -> None:
    assert endpoint_limit("QueryUsers") == DEFAULT_ENDPOINT_LIMIT == 1000


async def test_per_second_limit_is_a_thirtieth_of_the_minute_limit() -> None:
    limiter = InMemoryRateLimiter(clock=Clock())
    states = await hits(limiter, 3, "DeleteCall")  # 60/min → 2/s
    assert [s.exceeded for s in states] == [False, False, True]
    assert states[1] == RateLimitState(limit=60, remaining=58, reset=int(START) + WINDOW_SECONDS)
    assert states[2].limit == 2 and states[2].reset == int(START) + 1


async def test_per_minute_limit_across_seconds() -> None:
    clock = Clock()
    limiter = InMemoryRateLimiter(clock=clock)
    states = []
    for _ in range(31):  # two a second stays under the per-second limit
        states += await hits(limiter, 2, "DeleteCall")
        clock.now += 1
    assert not any(s.exceeded for s in states[:60])
    assert states[59].remaining == 0
    assert states[60].exceeded and states[60].limit == 60
    assert states[60].headers() == {"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "0",
                                    "X-RateLimit-Reset": str(int(START) + WINDOW_SECONDS)}


async def test_window_resets_at_the_next_minute() -> None:
    clock = Clock()
    limiter = InMemoryRateLimiter(clock=clock)
    for _ in range(30):
        await hits(limiter, 2, "DeleteCall")
        clock.now += 1
    assert (await limiter.hit("DeleteCall", "server", None)).exceeded
    clock.now = START + WINDOW_SECONDS
    fresh = await limiter.hit("DeleteCall", "server", None)
    assert fresh == RateLimitState(limit=60, remaining=59, reset=int(START) + 2 * WINDOW_SECONDS)


async def test_platforms_and_endpoints_have_their_own_counters() -> None:
    limiter = InMemoryRateLimiter(clock=Clock())
    assert (await hits(limiter, 3, "DeleteCall", "server"))[-1].exceeded
    assert not (await limiter.hit("DeleteCall", "ios", None)).exceeded
    assert not (await limiter.hit("DeleteDevice", "server", None)).exceeded


async def test_each_user_gets_60_a_minute_per_endpoint() -> None:
    clock = Clock()
    limiter = InMemoryRateLimiter(clock=clock)
    states = []
    for _ in range(USER_LIMIT_PER_MINUTE + 1):  # two a second, within one minute: far under the app limits
        states.append(await limiter.hit("SendEvent", "web", "alice"))
        clock.now += 0.5
    assert states[0].limit == USER_LIMIT_PER_MINUTE and states[0].remaining == 59
    assert not any(s.exceeded for s in states[:USER_LIMIT_PER_MINUTE])
    assert states[-1].exceeded and states[-1].limit == USER_LIMIT_PER_MINUTE
    assert not (await limiter.hit("SendEvent", "web", "bob")).exceeded
    assert not (await limiter.hit("GetCall", "web", "alice")).exceeded


async def test_user_limit_is_per_user_whatever_the_platform() -> None:
    """The platform comes from a header the client chooses: switching it must not buy a user more requests."""
    limiter = InMemoryRateLimiter(clock=Clock())
    for platform in ("web", "ios", "android") * (USER_LIMIT_PER_MINUTE // 3):
        assert not (await limiter.hit("SendEvent", platform, "carol")).exceeded
    for platform in ("web", "ios", "android"):
        assert (await limiter.hit("SendEvent", platform, "carol")).exceeded


@pytest.mark.parametrize("endpoint", ["ListDevices", "QueryCalls"])
async def test_one_user_hammering_never_makes_others_hit_the_app_limit(endpoint: str) -> None:
    """However fast one user sends, what their own limit refuses doesn't count against the app, and their
    share of the app's limits (per minute and per second) is at most half."""
    clock = Clock()
    limiter = InMemoryRateLimiter(clock=clock)
    minute, second = user_limits(endpoint)
    assert minute <= endpoint_limit(endpoint) // 2 and second <= max(1, app_per_second(endpoint_limit(endpoint)) // 2)
    refused = 0
    for tick in range(WINDOW_SECONDS):
        for _ in range(200):
            refused += (await limiter.hit(endpoint, "web", "hammer")).exceeded
        if tick % 2 == 0:  # the bystander stays within a half share too
            assert not (await limiter.hit(endpoint, "web", "bystander")).exceeded
        clock.now += 1
    assert refused > 0, "the hammering user was limited"
    assert (await limiter.peek(endpoint, "web")).remaining > 0


async def test_server_tokens_have_no_user_limit() -> None:
    limiter = InMemoryRateLimiter(clock=Clock())
    states = await hits(limiter, USER_LIMIT_PER_MINUTE + 1, "SendEvent", "server")  # 10000/min, 334/s
    assert not any(s.exceeded for s in states)
    assert states[-1].limit == 10000


# Over HTTP: a server of its own with rate limits on, so the shared test server's counters stay untouched.


@pytest.fixture(scope="module")
def limited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data_dir: Path = tmp_path_factory.mktemp("weir-ratelimit")
    settings = Settings(host="127.0.0.1", port=free_port(), data_dir=data_dir, api_key="rl-key",
                        api_secret="rl-secret-" + uuid.uuid4().hex, rate_limits_enabled=True)
    uv, thread = start_server(settings)
    try:
        yield RunningServer(f"http://127.0.0.1:{settings.port}", "rl-key", settings.api_secret or "", data_dir,
                            "sqlite", app=uv.config.app)
    finally:
        uv.should_exit = True
        thread.join(timeout=10)


def rate_headers(response: httpx.Response) -> tuple[int, int, int]:
    return tuple(int(response.headers[f"X-RateLimit-{name}"]) for name in ("Limit", "Remaining", "Reset"))  # type: ignore[return-value]


def test_low_limit_endpoint_answers_429_with_headers(limited_server: RunningServer) -> None:
    """ListDevices allows 60 a minute and 2 a second: a burst reaches the 429 within a few requests."""
    with httpx.Client(base_url=limited_server.base_url + "/api/v1", timeout=30,
                      params={"api_key": limited_server.api_key, "user_id": "rl-user"},
                      headers={"Authorization": f"Bearer {limited_server.token()}"}) as client:
        responses = []
        for _ in range(100):
            responses.append(client.get("/devices"))
            if responses[-1].status_code != 200:
                break
    ok, limited = responses[:-1], responses[-1]
    assert ok, "the first request must pass"
    for response in ok:
        limit, remaining, reset = rate_headers(response)
        assert limit == 60 and 0 <= remaining < 60 and reset > time.time() - 1
    assert [rate_headers(r)[1] for r in ok] == sorted((rate_headers(r)[1] for r in ok), reverse=True)
    body = assert_error(limited, 429, ErrorCode.RATE_LIMITED)
    assert "ListDevices" in body["message"]
    limit, remaining, reset = rate_headers(limited)
    assert limit in (2, 60) and remaining == 0 and reset >= int(time.time())


def test_rate_limit_is_counted_per_endpoint_over_http(limited_server: RunningServer) -> None:
    """An exhausted ListDevices leaves other endpoints alone."""
    with httpx.Client(base_url=limited_server.base_url + "/api/v1", timeout=30,
                      params={"api_key": limited_server.api_key},
                      headers={"Authorization": f"Bearer {limited_server.token()}"}) as client:
        for _ in range(100):
            if client.get("/devices", params={"user_id": "rl-other"}).status_code == 429:
                break
        else:
            pytest.fail("ListDevices never answered 429")
        other = client.get("/video/calltypes")
    assert other.status_code == 200, other.text
    assert rate_headers(other)[0] == 300


def test_get_rate_limits_reports_per_platform(api: httpx.Client) -> None:
    everything = api.get("/rate_limits").json()
    assert set(everything) >= {"server_side", "android", "ios", "web"}
    assert everything["web"]["QueryCalls"]["limit"] == 1000 and everything["web"]["DeleteCall"]["limit"] == 60
    some = api.get("/rate_limits", params={"server_side": True, "endpoints": "QueryCalls,GetOrCreateCall"}).json()
    assert set(some) == {"server_side", "duration"} and set(some["server_side"]) == {"QueryCalls", "GetOrCreateCall"}
    assert some["server_side"]["QueryCalls"]["window"] == 60
    assert api.get("/rate_limits", params={"endpoints": "Nope"}).status_code == 400


def test_a_user_hammering_over_http_leaves_others_their_quota(limited_server: RunningServer) -> None:
    """A user token's requests count against that user, whatever X-Stream-Client says; others still pass."""
    def client(user_id: str) -> httpx.Client:
        return httpx.Client(base_url=limited_server.base_url + "/api/v1", timeout=30,
                            params={"api_key": limited_server.api_key},
                            headers={"Authorization": f"Bearer {limited_server.token(user_id)}"})

    with client("rl-hammer") as hammer, client("rl-bystander") as bystander:
        codes = [hammer.get("/devices", headers={PLATFORM_HEADER: f"stream-video-{p}"}).status_code
                 for p in ("android", "ios", "web") * 40]
        assert 429 in codes and codes.count(200) <= user_limits("ListDevices")[0]
        assert bystander.get("/devices").status_code == 200


async def connect(server: RunningServer, user_id: str) -> tuple[ClientConnection, dict]:
    ws = await open_socket(server, server.token(user_id))
    return ws, json.loads(await ws.recv())


async def until_offline(server: RunningServer, user_id: str) -> None:
    while server.app.state.weir.hub.by_user.get(user_id):
        await asyncio.sleep(0.01)


async def test_open_websockets_per_user_are_capped(limited_server: RunningServer) -> None:
    cap = Settings().ws_max_connections_per_user
    sockets = [await connect(limited_server, "rl-sockets") for _ in range(cap)]
    assert all(hello["type"] == "connection.ok" for _, hello in sockets)
    ws, refused = await connect(limited_server, "rl-sockets")
    assert refused["type"] == "connection.error" and refused["error"]["code"] == ErrorCode.RATE_LIMITED
    assert "open WebSockets" in refused["error"]["message"]
    other, hello = await connect(limited_server, "rl-sockets-other")
    assert hello["type"] == "connection.ok", "another user is not affected"
    for each, _ in [*sockets, (ws, refused), (other, hello)]:
        await each.close()


async def test_websocket_connects_are_rate_limited(limited_server: RunningServer) -> None:
    minute, _ = user_limits("VideoConnect")
    for _ in range(minute):
        ws, hello = await connect(limited_server, "rl-reconnects")
        assert hello["type"] == "connection.ok", hello
        await ws.close()
        await until_offline(limited_server, "rl-reconnects")
    ws, refused = await connect(limited_server, "rl-reconnects")
    assert refused["type"] == "connection.error" and refused["error"]["code"] == ErrorCode.RATE_LIMITED
    assert "VideoConnect" in refused["error"]["message"]
    await ws.close()
