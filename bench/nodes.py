"""SFU nodes on other hosts (issue 17): how soon two SDK clients see each other's video again when the node that
carries their call is drained (``weir sfu drain``: go_away, they migrate), and when its host dies (every process in
its network namespace SIGKILLed: they rejoin).

The hosts are network namespaces (tests/sfu/nodes_lab.py, as root): the coordinator (``weir serve`` with no SFU of
its own) and four ``weir sfu`` nodes: two in region eu, one in us, one in in. Two clients (synthetic camera and
tone) join one call and are placed on an eu node. Each run drains (or kills) the call's node, times from the drain
request (``weir sfu drain``'s, sent from here: the command's own start-up is not counted) or the kill until both
clients have decoded a video frame of the other's new session, then starts a node on that host again. A client
that reaches Disconnected fails the bench.

    sudo .venv/bin/python bench/nodes.py            # 5 runs of each
    sudo .venv/bin/python bench/nodes.py --runs 3

Prints ``bench nodes kind=drain runs=<n> p50_ms=<n> max_ms=<n>`` and ``bench nodes kind=dead-node runs=<n>
p50_ms=<n> max_ms=<n>``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository, for tests/sfu/nodes_lab.py

from tests.crash import SdkCall  # noqa: E402
from tests.sfu.nodes_lab import Lab, Node, client_ice, edges_of, lab  # noqa: E402


def figures(seconds: list[float]) -> str:
    ms = [1000 * s for s in seconds]
    return f"p50_ms={statistics.median(ms):.0f} max_ms={max(ms):.0f}"


async def replace(nodes: Lab, gone: Node) -> None:
    """A fresh node on the host of one that is gone, once it is gone."""
    assert gone.process is not None
    await asyncio.to_thread(gone.process.wait, 120)
    host = next(name for name, host in nodes.hosts.items() if host is gone.host)
    nodes.node(host, gone.region)
    running = {n.name for n in nodes.nodes if n.running()}
    await asyncio.to_thread(nodes.wait_for_edges, running)


async def recoveries(nodes: Lab, room: SdkCall, kind: str, runs: int) -> list[float]:
    spans = []
    for _ in range(runs):
        await room.connected()
        await room.media_again(set())
        (edge,) = edges_of(room)
        carrier = nodes.named(edge)
        before = room.sessions()
        started = time.monotonic()
        if kind == "drain":
            nodes.drain_request(carrier.name).raise_for_status()
        else:
            carrier.kill_host()
        spans.append(await room.media_again(before) - started)
        await replace(nodes, carrier)
    return spans


async def run(nodes: Lab, runs: int) -> list[str]:
    room = await SdkCall.join(nodes.coordinator, f"nodes-{uuid.uuid4().hex[:8]}")
    try:
        drained = await recoveries(nodes, room, "drain", runs)
        killed = await recoveries(nodes, room, "dead-node", runs)
        if room.disconnected():
            raise RuntimeError(f"a client disconnected: {room.statuses}")
    finally:
        await room.close()
    return [f"bench nodes kind=drain runs={runs} {figures(drained)}",
            f"bench nodes kind=dead-node runs={runs} {figures(killed)}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="drains, then kills")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir, lab(Path(data_dir)) as nodes:
        os.environ["WEIR_ICE_HOST_ADDRESSES"] = client_ice(nodes)  # the SDK clients' ICE
        for line in asyncio.run(run(nodes, args.runs)):
            print(line, flush=True)


if __name__ == "__main__":
    main()
