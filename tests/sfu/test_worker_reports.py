"""A worker's keep-alives and stats batches go to the coordinator on its event socket, not as HTTP requests."""

from __future__ import annotations

import json

import httpx
import pytest

from weir.sfu.signaling.link import CoordinatorUnavailable
from weir.sfu.workers.channel import CHANNEL_PREFIX
from weir.sfu.workers.remote import RemoteCoordinator


class Socket:
    """The event socket's sending end, keeping what was sent."""

    def __init__(self) -> None:
        self.sent: list[dict[str, object]] = []

    async def send(self, text: str) -> None:
        self.sent.append(json.loads(text))


def no_requests(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"an HTTP request: {request.method} {request.url}")


async def test_keep_alives_and_stats_go_on_the_event_socket() -> None:
    remote = RemoteCoordinator("http://127.0.0.1:9", "s" * 32, worker=1)
    remote.http = httpx.AsyncClient(base_url=remote.coordinator_url + CHANNEL_PREFIX,
                                    transport=httpx.MockTransport(no_requests))
    with pytest.raises(CoordinatorUnavailable):  # before the socket opened
        await remote.keep_alive(["s1"])
    socket = Socket()
    remote._ws = socket  # type: ignore[assignment]  # the one end the reports use
    await remote.keep_alive(["s1", "s2"])
    await remote.keep_alive([])  # nothing to say
    await remote.record_stats("default:c1", [{"user_session_id": "s1", "at": "2026-12-07T10:00:00+00:00"}])
    assert socket.sent == [
        {"type": "keep_alive", "session_ids": ["s1", "s2"]},
        {"type": "stats", "call_cid": "default:c1",
         "samples": [{"user_session_id": "s1", "at": "2026-12-07T10:00:00+00:00"}]},
    ]
    await remote.http.aclose()
