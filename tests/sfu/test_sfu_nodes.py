"""SFU nodes on other hosts (``weir sfu``): each "host" a network namespace of its own (tests/sfu/nodes_lab.py).

One coordinator and four nodes (two in ``eu``, one in ``us``, a spare in ``in``) serve the whole module: the edge
list, placement by geofence, by the client's hint and by its address, ``weir sfu drain`` of the spare, a silent
node taken for dead; then one call whose node is drained by SIGTERM (its clients migrate to the other eu node and
see each other again), then whose node's host dies (they rejoin on the us node, and the coordinator lists exactly
their new sessions).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.crash import SdkCall
from tests.sfu.nodes_lab import Lab, client_ice, edges_of, lab, moved
from tests.sfu.test_whip import whip_offer
from weir.client import CallStatusMigrating
from weir.domain.tokens import create_token
from weir.sfu.workers.channel import EVENTS_PATH, ChannelAuth, channel_token

Uid = Callable[[str], str]


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with lab(Path(tmp_path_factory.mktemp("sfu-nodes"))) as made, pytest.MonkeyPatch.context() as env:
        env.setenv("WEIR_ICE_HOST_ADDRESSES", client_ice(made))  # the SDK clients' ICE
        yield made


def _api(nodes: Lab, user_id: str | None) -> httpx.Client:
    return httpx.Client(base_url=nodes.coordinator.base_url + "/api/v1", params={"api_key": "crash-key"},
                        headers={"Authorization": f"Bearer {create_token(nodes.coordinator.api_secret, user_id)}"},
                        timeout=30)


def _edges(nodes: Lab, region: str) -> set[str]:
    return {node.name for node in nodes.nodes if node.region == region}


def test_edges_list_the_live_nodes_and_answer_the_latency_test(nodes: Lab) -> None:
    edges = nodes.edges()
    assert {"eu", "us"} <= {node.region for node in nodes.nodes if node.running()}
    assert sorted(edge["name"] for edge in edges) == sorted(node.name for node in nodes.nodes if node.running())
    for edge in edges:
        assert httpx.get(edge["latency_test_url"], timeout=10).status_code == 200


async def test_joins_are_placed_by_geofence_hint_and_address(nodes: Lab, uid: Uid) -> None:
    fenced, closed = uid("eu_only").replace("-", "_"), uid("ca_only").replace("-", "_")
    with _api(nodes, None) as server, _api(nodes, "alice") as alice:
        for name, fence in ((fenced, "european_union"), (closed, "canada")):
            made = server.post("/video/calltypes", json={"name": name, "settings": {"geofencing": {"names": [fence]}}})
            assert made.status_code == 201, made.text

        def edge(call_type: str, body: dict[str, object]) -> str:
            joined = alice.post(f"/video/call/{call_type}/{uid('c')}/join", json={"create": True, **body})
            assert joined.status_code == 201 or joined.status_code == 200, joined.text
            return str(joined.json()["credentials"]["server"]["edge_name"])

        assert {edge("default", {"location": "us"})} == _edges(nodes, "us")  # the client's hint
        assert edge("default", {}) in _edges(nodes, "eu")  # its address is in eu's network
        assert {edge(fenced, {"location": "us"}) for _ in range(4)} <= _edges(nodes, "eu")  # the fence wins

        call_id = uid("c")
        assert alice.post(f"/video/call/{closed}/{call_id}", json={}).json()["created"]  # a refused join creates none
        refused = alice.post(f"/video/call/{closed}/{call_id}/join", json={"create": True})
        assert refused.status_code == 503
        assert "geofences (canada)" in refused.json()["message"]
        pc = await whip_offer()  # WHIP joins within the fences too
        try:
            published = alice.post(f"{nodes.coordinator.base_url}/sfu/whip/{closed}/{call_id}",
                                   content=pc.localDescription.sdp, headers={"Content-Type": "application/sdp"})
        finally:
            await pc.close()
        assert published.status_code == 503 and "geofences (canada)" in published.json()["message"]
        call = alice.get(f"/video/call/{closed}/{call_id}").json()
        assert call["call"]["session"] is None or call["call"]["session"]["participants"] == []


def test_weir_sfu_drain_stops_a_node(nodes: Lab) -> None:
    (spare,) = (node for node in nodes.nodes if node.region == "in")
    drained = nodes.drain(spare.name)
    assert drained.returncode == 0 and "draining" in drained.stdout, drained.stderr
    assert spare.process is not None and spare.process.wait(timeout=60) == 0  # nobody to wait for: it exits
    nodes.wait_for_edges({node.name for node in nodes.nodes if node.running()})
    with httpx.Client(base_url=nodes.coordinator.base_url, timeout=30) as http:
        unknown = http.post("/internal/sfu/nodes/atlantis/drain", auth=ChannelAuth(nodes.coordinator.api_secret, None))
        assert unknown.status_code == 404 and unknown.json()["message"] == "no live SFU node is named 'atlantis'"
        worker = ChannelAuth(nodes.coordinator.api_secret, 7)  # a worker's token may not drain
        assert http.post(f"/internal/sfu/nodes/{spare.name}/drain", auth=worker).status_code == 401


async def test_a_silent_node_is_taken_for_dead(nodes: Lab) -> None:
    """A node that keeps its channel open but says nothing (a frozen host) is dropped after ``SILENT_SECONDS``."""
    url = nodes.coordinator.base_url.replace("http", "ws", 1) + EVENTS_PATH
    index = (1 << 62) | secrets.randbits(61)
    name = f"silent-{index % 10_000}"
    live = {node.name for node in nodes.nodes if node.running()}
    async with connect(url, additional_headers={
            "Authorization": f"Bearer {channel_token(nodes.coordinator.api_secret, index)}"}) as ws:
        await ws.send(json.dumps({"type": "hello", "port": 9, "pid": 1, "node": {
            "name": name, "region": "uk", "public_url": "http://192.0.2.1", "capacity": 1}}))
        await asyncio.to_thread(nodes.wait_for_edges, live | {name})
        await asyncio.to_thread(nodes.wait_for_edges, live)  # after SILENT_SECONDS without a report
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 30)


async def test_a_drained_node_migrates_its_call_and_a_dead_node_is_rejoined_elsewhere(nodes: Lab, uid: Uid) -> None:
    call_id = uid("nodes")
    room = await SdkCall.join(nodes.coordinator, call_id)
    try:
        (first,) = edges_of(room)
        assert first in _edges(nodes, "eu")
        await room.media_again(set())

        before = room.sessions()
        carrier = nodes.named(first).process
        assert carrier is not None
        carrier.terminate()  # SIGTERM: the node drains
        (second,) = _edges(nodes, "eu") - {first}
        await room.media_again(before)
        await moved(room, second)  # the other node in the client's region
        assert all(any(isinstance(s, CallStatusMigrating) for s in seen) for seen in room.statuses)  # go_away
        assert carrier.wait(timeout=60) == 0  # it exits once drained

        before = room.sessions()
        nodes.named(second).kill_host()
        await room.media_again(before)
        (us,) = _edges(nodes, "us")
        await moved(room, us)

        with _api(nodes, None) as server:
            listed = server.get(f"/video/call/default/{call_id}").json()["call"]["session"]["participants"]
        current = {call.state.value.user_session_id for call in room.calls}
        assert {p["user_session_id"] for p in listed} == current  # the lost sessions were ended
        assert not room.disconnected()
    finally:
        await room.close()
