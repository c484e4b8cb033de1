"""Health checks both ways: the server pings idle sockets and closes silent ones."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from websockets.exceptions import ConnectionClosed

from tests.conftest import RunningServer, free_port, start_server
from tests.realtime import connect_user
from weir.config import Settings


@pytest.fixture(scope="module")
def quick_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    secret = "health-" + uuid.uuid4().hex
    settings = Settings(host="127.0.0.1", port=free_port(), data_dir=tmp_path_factory.mktemp("health"),
                        api_key="health-key", api_secret=secret, rate_limits_enabled=False,
                        ws_health_check_seconds=0.2, ws_idle_timeout_seconds=1.0)
    uv, thread = start_server(settings)
    try:
        yield RunningServer(f"http://127.0.0.1:{settings.port}", "health-key", secret, settings.data_dir, "sqlite",
                            settings.resolved_database_url)
    finally:
        uv.should_exit = True
        thread.join(timeout=10)


async def test_server_sends_health_checks_and_drops_silent_clients(quick_server: RunningServer) -> None:
    client = await connect_user(quick_server, "quiet-" + uuid.uuid4().hex[:6])
    ping = await client.wait_for("health.check", timeout=2)
    assert ping["connection_id"] == client.connection_id
    with pytest.raises(ConnectionClosed):
        while True:  # the client never answers: after the idle timeout the server closes the socket
            await client.next_event(timeout=3)


async def test_a_client_that_answers_stays_connected(quick_server: RunningServer) -> None:
    client = await connect_user(quick_server, "chatty-" + uuid.uuid4().hex[:6])
    for _ in range(8):  # 1.6 s, longer than the idle timeout
        await client.ws.send('{"type": "health.check"}')
        await asyncio.sleep(0.2)
    await client.ws.send('{"type": "health.check"}')
    assert (await client.wait_for("health.check"))["connection_id"] == client.connection_id
    await client.close()
