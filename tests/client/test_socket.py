"""The coordinator socket: it reconnects after losing its connection (new connection id, calls watched again)
and keeps an idle connection alive with health checks."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterator

import pytest

from tests.client.conftest import WAIT, options_for
from tests.conftest import RunningServer, free_port, start_server
from weir.client import ConnectionStatus, RetryPolicy, StreamVideo, User
from weir.config import Settings
from weir.protocol.events import CustomVideoEvent

MakeClient = Callable[..., Awaitable[StreamVideo]]


async def test_lost_socket_reconnects_with_a_new_connection_and_rewatches(
    clients: MakeClient, uid: Callable[[str], str]
) -> None:
    alice, bob = await clients(uid("alice")), await clients(uid("bob"))
    call_id = uid("c")
    watcher = alice.make_call(id=call_id)
    await watcher.get_or_create()  # alice is not a member: only watching brings her the call's events
    first_id = alice.connection_id
    statuses = alice.state.connection.partial(lambda c: c.status)
    assert await statuses.next(WAIT) is ConnectionStatus.CONNECTED

    assert alice._socket is not None and alice._socket._ws is not None
    alice._socket._ws.transport.abort()  # the network drops the connection
    assert await statuses.next(WAIT) is ConnectionStatus.RECONNECTING
    assert await statuses.next(WAIT) is ConnectionStatus.CONNECTED
    assert alice.connection_id not in (None, first_id)
    assert alice.state.connection.value.attempt == 0

    # The call is watched again once the reconnection's GET returns: from then on bob's events reach alice,
    # although she is not a member of the call.
    async with watcher.events.subscribe() as events:
        received = None
        for attempt in range(50):
            await bob.make_call(id=call_id).send_custom_event("ping", {"attempt": attempt})
            try:
                received = await events.first(lambda e: isinstance(e, CustomVideoEvent), 0.1)
                break
            except TimeoutError:
                continue
    assert received is not None and received.custom["type"] == "ping"


async def test_retry_policy_gives_up_when_the_server_is_gone(uid: Callable[[str], str],
                                                             tmp_path_factory: pytest.TempPathFactory) -> None:
    server = start_quick_server(tmp_path_factory)
    user = User.regular(uid("lonely"))
    client = StreamVideo.create(server.api_key, user=user, user_token=server.token(user.id),
                                options=options_for(server, retry_policy=RetryPolicy(max_retries=2,
                                                                                     backoff=lambda _: 0.05)))
    await client.connect()
    statuses = client.state.connection.partial(lambda c: (c.status, c.attempt))
    await statuses.next(WAIT)
    stop_quick_server(server)
    seen = [await statuses.next(WAIT) for _ in range(3)]
    assert seen == [(ConnectionStatus.RECONNECTING, 1), (ConnectionStatus.RECONNECTING, 2),
                    (ConnectionStatus.DISCONNECTED, 0)]
    await client.disconnect()


_QUICK: dict[str, object] = {}


def start_quick_server(tmp_path_factory: pytest.TempPathFactory) -> RunningServer:
    """A server of its own that pings idle sockets every 0.2 s and drops those silent for 1 s."""
    secret = "client-" + uuid.uuid4().hex
    settings = Settings(host="127.0.0.1", port=free_port(), data_dir=tmp_path_factory.mktemp("client-health"),
                        api_key="client-key", api_secret=secret, rate_limits_enabled=False,
                        ws_health_check_seconds=0.2, ws_idle_timeout_seconds=1.0)
    uv, thread = start_server(settings)
    running = RunningServer(f"http://127.0.0.1:{settings.port}", "client-key", secret, settings.data_dir, "sqlite",
                            settings.resolved_database_url)
    _QUICK[running.base_url] = (uv, thread)
    return running


def stop_quick_server(server: RunningServer) -> None:
    uv, thread = _QUICK.pop(server.base_url)  # type: ignore[misc]
    uv.should_exit = True  # type: ignore[attr-defined]
    thread.join(timeout=10)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def quick_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_quick_server(tmp_path_factory)
    yield server
    stop_quick_server(server)


async def test_health_checks_keep_an_idle_socket_open(quick_server: RunningServer,
                                                      uid: Callable[[str], str]) -> None:
    user = User.regular(uid("idle"))
    client = StreamVideo.create(quick_server.api_key, user=user, user_token=quick_server.token(user.id),
                                options=options_for(quick_server, health_check_interval=0.3))
    await client.connect()
    first = client.connection_id
    statuses = client.state.connection.partial(lambda c: c.status)
    await statuses.next(WAIT)
    with pytest.raises(TimeoutError):  # 2.5 idle-timeouts pass without the connection changing
        await statuses.next(2.5)
    assert client.connection_id == first
    await client.disconnect()
