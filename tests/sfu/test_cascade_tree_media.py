"""A 1→N stream through a cascade tree of four SFU workers of one ``weir serve`` (one participant per worker,
``WEIR_SFU_CASCADE_FANOUT=2``): the publisher's worker (the origin) relays each track to its two children only,
one of them relays it on to the fourth worker, and every subscriber decodes the publisher's video; when the relay's
participant leaves, the fourth worker hangs under the origin and its viewer's video goes on. The relay counters
come from each worker's ``/internal/sfu/relay``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import RunningServer
from tests.sfu.rtc_peers import eventually
from tests.sfu.signaling_peers import SignalingPeer, coordinator_join, running_sfu
from tests.sfu.test_cascade import sfu_url
from weir.coordinator.sfu.cascade import CascadePlacement
from weir.sfu.workers.channel import channel_token
from weir.sfu.workers.metrics_route import RELAY_PATH

Uid = Callable[[str], str]
FRAMES = 10


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_sfu("sqlite", tmp_path_factory.mktemp("tree"), sfu_workers=4, sfu_cascade_call_size=1,
                     sfu_cascade_fanout=2) as running:
        yield running


async def relay_stats(placement: CascadePlacement, secret: str) -> dict[int, dict[int, dict[str, Any]]]:
    """Per worker, its relay's counters per peer worker."""
    by_address = {tuple(address): index for index, address in placement.hosts.relays.items()}
    found: dict[int, dict[int, dict[str, Any]]] = {}
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {channel_token(secret)}"}) as http:
        for index, worker in placement.registry.live.items():
            response = await http.get(worker.base_url + RELAY_PATH)
            assert response.status_code == 200, response.text
            found[index] = {by_address[tuple(peer["address"])]: peer for peer in response.json()["peers"]}
    return found


def sending(stats: dict[int, dict[str, Any]]) -> dict[int, int]:
    """The peers a worker relays tracks to, and how many."""
    return {peer: counters["tracks_out"] for peer, counters in stats.items() if counters["tracks_out"]}


async def test_a_stream_reaches_every_subscriber_through_the_tree_each_track_once_per_child(
        server: RunningServer, uid: Uid) -> None:
    cid = f"default:{uid('c')}"
    joins = [await coordinator_join(server, uid(name), cid, create=name == "pub") for name in ("pub", "a", "b", "c")]
    assert len({sfu_url(joined) for joined in joins}) == 4  # one worker each
    placement: CascadePlacement = server.app.state.sfu_placement
    peers = [await SignalingPeer.join(joined) for joined in joins]  # admitted in order: the publisher's is the origin
    pub, *viewers = peers
    try:
        tree = placement.hosts.tree(cid)
        assert tree is not None and not tree.mesh and tree.origin is not None
        origin = tree.origin
        relay = next(host for host in tree.children(origin) if tree.children(host))
        edge = tree.children(relay)[0]
        await pub.publish()
        for viewer in viewers:
            await viewer.wait_for("track_published", lambda e: e["session_id"] == pub.session_id
                                  and e["track_type"] == "video", timeout=30)
            await viewer.subscribe(pub)
        await eventually(lambda: all(v.received(pub, "video") >= FRAMES and v.received(pub, "audio") > 0
                                     for v in viewers), timeout_s=60, what="every subscriber decoding the stream")

        stats = await relay_stats(placement, server.api_secret)
        # the origin sends each of its two tracks once to each child, and to nobody else
        assert sending(stats[origin]) == {child: 2 for child in tree.children(origin)}
        # the relay passes them on to its child, answering it from its own buffer
        assert sending(stats[relay]) == {edge: 2}
        assert stats[relay][origin]["tracks_in"] == 2 and stats[relay][origin]["packets_in"] > 0
        # the edge behind the relay hears nothing from the origin directly
        assert stats[edge][relay]["packets_in"] > 0
        assert stats[edge].get(origin, {"packets_in": 0})["packets_in"] == 0
        assert sending(stats[edge]) == {}

        # the relay's only participant leaves: the edge hangs under the origin, its viewer's video goes on
        on_worker = {placement.registry.live[host].port: host for host in tree.hosts}
        holders = {on_worker[urlsplit(sfu_url(joined)).port]: peer for joined, peer in zip(joins, peers, strict=True)}
        await holders[relay].close()
        await eventually(lambda: relay not in tree.hosts and tree.parent[edge] == origin, timeout_s=30,
                         what="the edge re-parented")
        seen = holders[edge].received(pub, "video")
        await eventually(lambda: holders[edge].received(pub, "video") >= seen + FRAMES, timeout_s=40,
                         what="video at the edge after the relay left")
        assert sending((await relay_stats(placement, server.api_secret))[origin]).get(edge) == 2
    finally:
        for peer in peers:
            await peer.close()
