"""Two `weir serve` processes sharing PostgreSQL and Redis, only the first running SFU workers: a call joined
through either lands on one worker (the registry and the placements are shared through Redis), and two aiortc
participants joining through different processes see each other."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.client.media_helpers import AV, Room
from tests.cluster import Cluster
from tests.conftest import free_port, fresh_postgres_database, from_setup_script
from tests.test_two_coordinators import http
from weir.client import StreamVideo, StreamVideoOptions, User


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster, str, str]]:
    database_url, drop = fresh_postgres_database()
    nodes = Cluster(database_url, from_setup_script("WEIR_TEST_REDIS_URL", "redis.sh"),
                    tmp_path_factory.mktemp("shared-sfu"))
    try:
        with_workers = nodes.start(free_port(), WEIR_SFU_WORKERS="2", WEIR_SFU_WORKER_BASE_PORT=str(free_port()))
        without = nodes.start(free_port(), WEIR_SFU_NODES="true")  # places on the cluster's workers only
        yield nodes, with_workers, without
    finally:
        nodes.stop()
        drop()


def test_joins_through_either_process_meet_on_one_worker(pair: tuple[Cluster, str, str]) -> None:
    nodes, a, b = pair
    with http(nodes, a, "alice") as alice, http(nodes, b, "bob") as bob:
        for n in range(3):  # b supervises no worker: it places on a's, and each call's joins meet on one
            call = f"/video/call/default/shared-{uuid.uuid4().hex[:8]}-{n}/join"
            joined = [client.post(call, json={"create": True}) for client in (bob, alice, bob)]
            assert all(response.status_code in (200, 201) for response in joined), [r.text for r in joined]
            assert len({response.json()["credentials"]["server"]["url"] for response in joined}) == 1


async def test_participants_joining_through_different_processes_see_each_other(
    pair: tuple[Cluster, str, str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    nodes, a, b = pair
    monkeypatch.setenv("WEIR_ICE_HOST_ADDRESSES", "127.0.0.1")
    call_id = f"media-{uuid.uuid4().hex[:8]}"
    clients = [StreamVideo.create(nodes.api_key, user=User.regular(name), user_token=nodes.token(name),
                                  options=StreamVideoOptions(coordinator_rpc_url=base))
               for name, base in ((f"alice-{call_id}", a), (f"bob-{call_id}", b))]
    try:
        for client in clients:
            await client.connect()
        mine, theirs = (client.make_call(id=call_id) for client in clients)
        await mine.join(create=True, connect_options=AV)
        await theirs.join(connect_options=AV)
        await Room(mine, theirs).flowing("video")
    finally:
        for client in clients:
            await client.disconnect()
