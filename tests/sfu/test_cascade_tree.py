"""The cascade's arrangement: a mesh for small calls, a tree (origin → relays → edges) beyond the fan-out, kept
within the fan-out as hosts come, go and drain; and the coordinator telling each host its place."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

import pytest

from weir.coordinator.sfu.cascade import CallHosts
from weir.coordinator.sfu.cascade_tree import CascadeTree
from weir.coordinator.sfu.registry import LiveWorker, WorkerRegistry
from weir.protocol.sfu.models import Participant
from weir.sfu.cascade.calls import CallRelay, Cascade
from weir.sfu.entry_offers import viewable_tracks
from weir.sfu.rtc.model import Subscription
from weir.sfu.signaling.session import ParticipantSession

CID = "livestream:tree"


def check(tree: CascadeTree) -> None:
    """Every host within the fan-out (draining ones with no children), one origin, no cycles."""
    assert [host for host in tree.hosts if tree.parent[host] is None] == [tree.origin]
    for host in tree.hosts:
        assert len(tree.children(host)) <= (0 if host in tree.draining else tree.fanout)
        tree.depth(host)  # ends: no cycle


def grown(fanout: int, count: int) -> CascadeTree:
    tree = CascadeTree(fanout)
    for host in range(count):
        tree.add(host)
    check(tree)
    return tree


def test_a_small_call_is_a_mesh_and_a_larger_one_a_flat_tree() -> None:
    tree = grown(2, 3)
    assert tree.mesh and sorted(tree.neighbours(0)) == [1, 2]
    tree.add(3)
    assert not tree.mesh
    assert tree.children(0) == [1, 2] and tree.children(1) == [3]  # origin → relays → edges
    assert tree.neighbours(0) == [1, 2] and tree.neighbours(1) == [0, 3] and tree.neighbours(3) == [1]
    big = grown(4, 21)  # 1 + 4 + 16: two levels below the origin
    assert max(big.depth(host) for host in big.hosts) == 2
    assert {len(big.children(host)) for host in big.hosts if big.depth(host) < 2} == {4}


def test_a_relay_that_dies_has_its_children_hang_elsewhere_within_the_fan_out() -> None:
    tree = grown(2, 7)  # 0 → 1, 2; 1 → 3, 4; 2 → 5, 6
    tree.remove(1)
    check(tree)
    assert tree.parent[3] == 0  # the first orphan takes its place under the origin
    assert tree.parent[4] in {3, 5, 6}  # the other hangs under the shallowest host with room
    tree.remove(0)  # the origin goes: its first child succeeds it
    check(tree)
    assert tree.origin == 2 and set(tree.hosts) == {2, 3, 4, 5, 6}


def test_a_draining_relay_gives_its_children_away_and_takes_no_new_ones() -> None:
    tree = grown(2, 5)  # 0 → 1, 2; 1 → 3, 4
    tree.drain(1)
    check(tree)
    assert tree.children(1) == [] and tree.parent[1] == 0
    assert {tree.parent[3], tree.parent[4]} <= {2, 3}
    tree.add(5)
    check(tree)
    assert tree.parent[5] != 1


def test_the_fan_out_gives_way_only_when_no_host_has_room() -> None:
    tree = grown(1, 2)
    tree.drain(0)
    tree.add(2)  # the origin drains and its only child is full: the child takes one more
    assert tree.parent[2] == 1
    with pytest.raises(ValueError):
        CascadeTree(0)


# --- the coordinator telling each host its place ---------------------------------------------------------------

class Workers:
    def __init__(self, count: int) -> None:
        self.registry = WorkerRegistry()
        self.sent: dict[int, list[dict[str, Any]]] = {}
        for index in range(count):
            self.sent[index] = []
            self.registry.attach(LiveWorker(index, "127.0.0.1", 9000 + index, 100 + index,
                                            send=self._sender(index)))

    def _sender(self, index: int) -> Any:
        async def send(message: dict[str, Any]) -> None:
            self.sent[index].append(message)
        return send

    def last_peers(self, index: int) -> dict[str, Any]:
        return [m for m in self.sent[index] if m["type"] == "cascade_peers"][-1]


async def test_the_coordinator_tells_each_host_its_neighbours_and_reparents_when_a_relay_leaves() -> None:
    workers = Workers(5)
    hosts = CallHosts(workers.registry, call_size=1, fanout=2)
    for index in range(5):
        hosts.hello(workers.registry.live[index], {"relay": ["127.0.0.1", 7000 + index]})
    for index in range(5):
        worker = hosts.place(CID)
        assert worker.index == index  # one participant per worker: the call spreads
        await hosts.admitted(worker, CID, f"s{index}")
    assert hosts.hosts(CID) == {0, 1, 2, 3, 4}
    told = workers.last_peers(3)
    assert told["mesh"] is False and told["worker"] == 3
    assert told["parents"] == {"0": None, "1": 0, "2": 0, "3": 1, "4": 1}
    assert [peer["worker"] for peer in told["peers"]] == [1]
    assert sorted(peer["worker"] for peer in workers.last_peers(1)["peers"]) == [0, 3, 4]
    # one key per direction, the same at both ends
    to_relay = next(peer for peer in told["peers"] if peer["worker"] == 1)
    from_edge = next(peer for peer in workers.last_peers(1)["peers"] if peer["worker"] == 3)
    assert (to_relay["tx_key"], to_relay["rx_key"]) == (from_edge["rx_key"], from_edge["tx_key"])

    # relay messages go to the hosts they name, else to all the others
    await hosts.relay(workers.registry.live[0], {"call_cid": CID, "body": {"op": "x"}, "to": [3]})
    assert [m["from"] for m in workers.sent[3] if m["type"] == "relay"] == [0]
    assert not [m for m in workers.sent[4] if m["type"] == "relay"]

    # the relay's last participant leaves: it is told it relays nothing, its children hang elsewhere
    await hosts.left(workers.registry.live[1], CID, "s1")
    assert workers.last_peers(1)["peers"] == []
    assert hosts.hosts(CID) == {0, 2, 3, 4}
    parents = workers.last_peers(3)["parents"]
    assert "1" not in parents and parents["3"] == 0
    assert workers.last_peers(4)["parents"]["4"] in (2, 3)

    # a worker whose channel closes leaves every call it hosted
    workers.registry.detach(workers.registry.live[4])
    await hosts.gone(4)
    assert hosts.hosts(CID) == {0, 2, 3}
    assert workers.last_peers(0)["mesh"] is True  # three hosts: a mesh again


async def test_a_draining_relay_is_relieved_of_its_children() -> None:
    workers = Workers(4)
    hosts = CallHosts(workers.registry, call_size=1, fanout=2)
    for index in range(4):
        hosts.hello(workers.registry.live[index], {"relay": ["127.0.0.1", 7000 + index]})
        await hosts.admitted(workers.registry.live[index], CID, f"s{index}")
    assert workers.last_peers(3)["parents"]["3"] == 1
    await hosts.draining(workers.registry.live[1])
    assert workers.last_peers(3)["parents"]["3"] == 2
    assert [peer["worker"] for peer in workers.last_peers(1)["peers"]] == [0]


def test_a_host_in_a_tree_takes_each_track_from_its_neighbour_toward_the_origin() -> None:
    call = CallRelay(cast(Cascade, None), CID)
    parents: dict[int, int | None] = {0: None, 1: 0, 2: 0, 3: 1, 4: 1}
    call.arrange({0, 3, 4}, parents, False, 1)
    assert [call._upstream(origin) for origin in (0, 2, 3, 4)] == [0, 0, 3, 4]
    assert call._targets(0) == {3, 4} and call._targets(3) == {0, 4} and call._targets(None) == {0, 3, 4}
    call.arrange({0, 2, 3, 4}, parents, True, 1)
    assert call._upstream(3) == 3 and call._targets(3) == set()  # a mesh passes nothing on


async def test_a_whip_or_whep_session_goes_to_the_worker_its_join_was_placed_on() -> None:
    workers = Workers(3)
    hosts = CallHosts(workers.registry, call_size=1, fanout=2)
    first = hosts.place(CID)
    assert hosts.placed(CID) is first  # the join chose it: the offer goes there
    await hosts.admitted(first, CID, "s0")
    assert hosts.placed(CID) is None  # nothing placed is waiting
    second = hosts.place(CID)
    assert second is not first and hosts.placed(CID) is second
    await hosts.admitted(second, CID, "s1")
    assert hosts.holder(CID, "s1") is second and hosts.holder(CID, "s0") is first
    assert hosts.holder(CID, "nobody") is None


def test_a_whep_viewer_is_offered_the_tracks_relayed_from_other_sfus() -> None:
    relayed = {("far", "video"): object()}
    media = SimpleNamespace(track=relayed.get)
    far = Participant(user_id="u", session_id="far", published_tracks=["audio", "video"],
                      joined_at=datetime(2026, 12, 7, tzinfo=UTC))
    viewer = SimpleNamespace(room=SimpleNamespace(sessions={}, remote={"far": far}, media=media))
    # the audio track is announced but not relayed in yet: only the video is offered
    assert viewable_tracks(cast(ParticipantSession, viewer)) == [Subscription("far", "video")]
