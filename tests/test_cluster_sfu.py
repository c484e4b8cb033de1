"""SFU control across coordinator processes: two `weir serve` processes sharing PostgreSQL and Redis, with no SFU
workers of their own, and SFU nodes (`weir sfu` on loopback) each registered with one of them. A drain or a
WHIP/WHEP `DELETE` answered by the process that does not hold the node's channel acts all the same, and when the
holding process is killed another ends its sessions, once.

Each test has a node of its own in a region of its own, and calls of a call type fenced to that region, so the
tests' calls never land on each other's nodes."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.cluster import LOOPBACK, WEIR, Cluster
from tests.conftest import free_port, fresh_postgres_database, from_setup_script
from tests.sfu.signaling_peers import SignalingPeer
from tests.sfu.test_whip import SDP, Player, whip_offer
from tests.test_two_coordinators import http, socket, uid
from weir.sfu.workers.channel import CHANNEL_PREFIX, EVENTS_PATH, NODES_PATH, ChannelAuth, channel_token

NODES = "true"  # WEIR_SFU_NODES: the processes place calls on registered nodes only
START_TIMEOUT_S = 120.0
POLL_S = 0.25


@pytest.fixture(scope="module")
def trio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster, str, str, str]]:
    """Processes a and b, and a third one that a test kills."""
    database_url, drop = fresh_postgres_database()
    nodes = Cluster(database_url, from_setup_script("WEIR_TEST_REDIS_URL", "redis.sh"),
                    tmp_path_factory.mktemp("cluster-sfu"), {"WEIR_SFU_NODES": NODES})
    try:
        a = nodes.start(free_port())  # first alone: it migrates the new database
        with ThreadPoolExecutor(2) as pool:
            b, doomed = pool.map(lambda port: nodes.start(port), (free_port(), free_port()))
        yield nodes, a, b, doomed
    finally:
        nodes.stop()
        drop()


@pytest.fixture
def pair(trio: tuple[Cluster, str, str, str]) -> tuple[Cluster, str, str]:
    return trio[:3]


class Node:
    """A `weir sfu` node on loopback registered with ``coordinator``, in ``region``."""

    def __init__(self, nodes: Cluster, coordinator: str, region: str) -> None:
        self.nodes, self.coordinator = nodes, coordinator
        self.name = f"{region}-{uuid.uuid4().hex[:6]}"
        self.process = subprocess.Popen(
            [str(WEIR), "sfu", "--coordinator", coordinator, "--public-url", f"http://{LOOPBACK}",
             "--ice-host-addresses", LOOPBACK, "--host", LOOPBACK, "--region", region, "--name", self.name],
            env={**os.environ, "WEIR_API_SECRET": nodes.api_secret, "WEIR_ICE_HOST_ADDRESSES": LOOPBACK,
                 "WEIR_SFU_FAST_RECONNECT_DEADLINE_SECONDS": "2"},
            stdout=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        for base_url in nodes.by_url:  # its holder lists it, and the others once it is published
            while nodes.by_url[base_url].poll() is None and self.name not in edge_names(nodes, base_url):
                assert self.process.poll() is None and time.monotonic() < deadline, "the node never came"
                time.sleep(POLL_S)

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)  # its workers stop when their stdin ends
            self.process.wait(timeout=30)


def edge_names(nodes: Cluster, base_url: str) -> set[str]:
    """The edges the process lists (none while it answers otherwise: rate limited on a slow machine)."""
    with http(nodes, base_url) as api:
        listed = api.get("/edges")
    return {edge["name"] for edge in listed.json()["edges"]} if listed.status_code == 200 else set()


def fenced_call_type(nodes: Cluster, base_url: str, fence: str) -> str:
    name = uid(fence).replace("-", "_")
    with http(nodes, base_url) as api:
        api.post("/video/calltypes", json={"name": name, "settings": {"geofencing": {"names": [fence]}}}
                 ).raise_for_status()
    return name


def drain(nodes: Cluster, base_url: str, name: str) -> httpx.Response:
    """What `weir sfu drain NAME` sends."""
    return httpx.post(f"{base_url}{NODES_PATH}/{name}/drain", auth=ChannelAuth(nodes.api_secret, None), timeout=30)


def participants(nodes: Cluster, base_url: str, path: str) -> list[dict[str, object]]:
    with http(nodes, base_url) as api:
        session = api.get(path).json()["call"]["session"]
    return list(session["participants"]) if session else []


def until_participants(nodes: Cluster, base_url: str, path: str, count: int) -> None:
    """Until the call's session lists ``count`` participants (the worker tells its holder a moment later)."""
    deadline = time.monotonic() + 30
    while len(found := participants(nodes, base_url, path)) != count:
        assert time.monotonic() < deadline, found
        time.sleep(0.05)


async def test_a_drain_asked_of_the_other_process_reaches_the_node(pair: tuple[Cluster, str, str]) -> None:
    nodes, a, b = pair
    node = Node(nodes, a, "uk")  # a holds its channel
    try:
        call_type = fenced_call_type(nodes, b, "united_kingdom")
        with http(nodes, b, uid("ann")) as ann:
            joined = ann.post(f"/video/call/{call_type}/{uid('d')}/join", json={"create": True})
        assert joined.status_code in (200, 201), joined.text
        assert joined.json()["credentials"]["server"]["edge_name"] == node.name
        peer = await SignalingPeer.join(joined.json())
        try:
            drained = drain(nodes, b, node.name)
            assert drained.status_code == 200 and drained.json() == {"node": node.name, "workers": 1}, drained.text
            assert (await peer.wait_for("go_away"))["reason"] == "shutting_down"
            await peer.send({"type": "leave", "reason": "migrating"})
        finally:
            await peer.ws.close()
        assert await asyncio.to_thread(node.process.wait, 60) == 0  # drained, and its participant left: it exits
        unknown = drain(nodes, b, node.name)
        assert unknown.status_code == 404 and unknown.json()["message"] == f"no live SFU node is named {node.name!r}"
    finally:
        node.kill()


async def test_whip_and_whep_delete_at_the_other_process_end_the_session(pair: tuple[Cluster, str, str]) -> None:
    nodes, a, b = pair
    node = Node(nodes, a, "in")
    publisher, player = await whip_offer(), Player()
    try:
        call_type = fenced_call_type(nodes, b, "india")
        path = f"/video/call/{call_type}/{uid('w')}"
        user = uid("obs")
        with http(nodes, a, user) as on_a, http(nodes, b, user) as on_b:
            on_a.post(path).raise_for_status()
            posted = [on_a.post(f"{a}/sfu/{kind}/{call_type}/{path.rsplit('/', 1)[1]}", content=sdp, headers=SDP)
                      for kind, sdp in (("whip", publisher.localDescription.sdp), ("whep", await player.offer()))]
            assert [response.status_code for response in posted] == [201, 201], [r.text for r in posted]
            until_participants(nodes, b, path, 2)
            for response, remaining in zip(reversed(posted), (1, 0), strict=True):  # the player, then the publisher
                assert on_b.delete(f"{b}{response.headers['Location']}").status_code == 200
                until_participants(nodes, b, path, remaining)
            assert on_b.delete(f"{b}{posted[0].headers['Location']}").status_code == 404  # gone
    finally:
        await publisher.close()
        await player.close()
        node.kill()


async def test_a_killed_holders_sessions_are_ended_once_by_another_process(
    trio: tuple[Cluster, str, str, str],
) -> None:
    nodes, a, b, doomed_url = trio
    doomed = nodes.by_url[doomed_url]
    node = Node(nodes, doomed_url, "ca")
    watcher, joiner = uid("watcher"), uid("joiner")
    on_b = await socket(nodes, b, watcher)
    try:
        call_type = fenced_call_type(nodes, b, "canada")
        path = f"/video/call/{call_type}/{uid('k')}"
        with http(nodes, b, joiner) as api:
            api.post(path, json={"data": {"members": [{"user_id": watcher}, {"user_id": joiner}]}}).raise_for_status()
            joined = api.post(f"{path}/join", json={})
        assert joined.status_code in (200, 201), joined.text
        session_id = joined.json()["user_session_id"]
        peer = await SignalingPeer.join(joined.json())  # admitted by the node's worker, through the doomed process
        try:
            nodes.kill(doomed)
            left = await on_b.wait_for("call.session_participant_left", timeout=60)
            assert left["participant"]["user_session_id"] == session_id and left["reason"] == "sfu_worker_lost"
            with http(nodes, b) as api:
                session = api.get(path).json()["call"]["session"]
            assert session["participants"] == [] and not any(session["participants_count_by_role"].values())
            for base_url in (a, b):  # whichever process ended it, a second end would come before these
                with http(nodes, base_url, joiner) as api:
                    api.post(f"{path}/event", json={"custom": {"from": base_url}}).raise_for_status()
            customs = set()
            while len(customs) < 2:
                customs.add((await on_b.wait_for("custom", timeout=30))["custom"]["from"])
            assert [e["type"] for e in on_b.seen].count("call.session_participant_left") == 1
        finally:
            await peer.ws.close()
    finally:
        await on_b.close()
        node.kill()


async def test_a_node_workers_requests_to_the_other_process_are_carried_out_by_its_holder(
    pair: tuple[Cluster, str, str],
) -> None:
    """As with `weir serve --workers N`, where each of a node worker's connections lands on any process."""
    nodes, a, b = pair
    index = (1 << 62) | secrets.randbits(61)
    name = f"us-{index % 10_000}"
    url = a.replace("http", "ws", 1) + EVENTS_PATH
    async with connect(url, additional_headers={"Authorization": f"Bearer {channel_token(nodes.api_secret, index)}"}
                       ) as ws:  # a worker of a node, held by a
        await ws.send(json.dumps({"type": "hello", "port": 9, "pid": 1, "node": {
            "name": name, "region": "us", "public_url": "http://192.0.2.1", "capacity": 1}}))

        async def report() -> None:
            while True:
                await ws.send(json.dumps({"type": "hosted", "calls": [], "load": {}}))
                await asyncio.sleep(0.5)

        reporting = asyncio.create_task(report())
        try:
            call_type = fenced_call_type(nodes, b, "united_states")
            path = f"/video/call/{call_type}/{uid('f')}"
            deadline = time.monotonic() + 30
            while name not in edge_names(nodes, b):
                assert time.monotonic() < deadline, "b never listed the node"  # once a published it
                await asyncio.sleep(POLL_S)
            with http(nodes, b, uid("fay")) as fay:
                joined = fay.post(f"{path}/join", json={"create": True})
            assert joined.status_code in (200, 201) and joined.json()["credentials"]["server"]["edge_name"] == name
            ref = {"call_cid": f"{call_type}:{path.rsplit('/', 1)[1]}", "session_id": joined.json()["user_session_id"]}
            async with httpx.AsyncClient(base_url=b + CHANNEL_PREFIX, auth=ChannelAuth(nodes.api_secret, index),
                                         timeout=30) as worker_at_b:
                admitted = await worker_at_b.post("/admit", json=ref)
                assert admitted.status_code == 200 and admitted.json()["participant"]["session_id"] == ref["session_id"]
                assert (await worker_at_b.post("/keep_alive", json={"session_ids": [ref["session_id"]]})).json() == {}
                assert (await worker_at_b.post("/left", json={**ref, "reason": "left"})).status_code == 200
            assert participants(nodes, b, path) == []
            async with httpx.AsyncClient(base_url=b + CHANNEL_PREFIX, auth=ChannelAuth(nodes.api_secret, index + 1),
                                         timeout=30) as nobody:
                assert (await nobody.post("/keep_alive", json={"session_ids": []})).status_code == 401
        finally:
            reporting.cancel()
            await asyncio.gather(reporting, return_exceptions=True)
