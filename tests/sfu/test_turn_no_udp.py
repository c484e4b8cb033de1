"""A client without UDP exchanges audio and video with a normal peer through the SFU, relayed by the coturn that
``weir serve`` starts.

The client (``turn_peer.py``, aiortc) runs in a network namespace this test makes, joined to this one by a veth
pair on a private 10.213.x.0/24, where nftables drops every UDP packet in and out. From there it reaches only the
veth's root side, over TCP: Weir's HTTP and signaling, and coturn, which listens there and relays from 127.0.0.1.
The SFU's ICE is on 127.0.0.1 only, which the namespace cannot reach, so media can flow only as TURN over TCP.
The other peer is in this process, on 127.0.0.1. Every packet stays on the veth pair or on loopback.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunningServer
from tests.netns import veth_namespace
from tests.sfu.rtc_peers import eventually
from tests.sfu.signaling_peers import SignalingPeer, coordinator_join, running_sfu
from tests.sfu.test_turn import turn_settings
from tests.sfu.test_whip import create_call

Uid = Callable[[str], str]
ROOT = Path(__file__).resolve().parents[2]
NO_UDP = """
table inet weir_no_udp {
  chain input { type filter hook input priority 0; meta l4proto udp counter drop; }
  chain output { type filter hook output priority 0; meta l4proto udp counter drop; }
}
"""


@pytest.fixture(scope="module")
def namespace() -> Iterator[tuple[str, str]]:
    """A veth namespace where UDP is dropped: (its name, the root side's address)."""
    with veth_namespace() as (name, address):
        subprocess.run(["ip", "netns", "exec", name, "nft", "-f", "-"], input=NO_UDP, text=True, check=True)
        yield name, address


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, namespace: tuple[str, str]) -> Iterator[RunningServer]:
    address = namespace[1]
    with running_sfu("sqlite", tmp_path_factory.mktemp("no-udp"), host=address, ice_addresses="127.0.0.1",
                     **turn_settings(address, turn_relay_address="127.0.0.1")) as running:
        yield running


def dropped_udp_packets(namespace: str) -> int:
    ruleset = subprocess.run(["ip", "netns", "exec", namespace, "nft", "list", "table", "inet", "weir_no_udp"],
                             check=True, capture_output=True, text=True).stdout
    return sum(int(n) for n in re.findall(r"counter packets (\d+)", ruleset))


async def next_step(client: asyncio.subprocess.Process, step: str) -> dict[str, Any]:
    assert client.stdout is not None and client.stderr is not None
    while True:
        line = await asyncio.wait_for(client.stdout.readline(), 90)
        assert line, (await client.stderr.read()).decode()
        report = json.loads(line)
        if report["step"] == step:
            return report


async def test_a_client_without_udp_sends_and_receives_through_turn_over_tcp(
    server: RunningServer, namespace: tuple[str, str], uid: Uid,
) -> None:
    cid, walled, normal = f"default:{uid('c')}", uid("walled"), uid("normal")
    await create_call(server, normal, cid)
    peer = await SignalingPeer.join(await coordinator_join(server, normal, cid))
    client = await asyncio.create_subprocess_exec(
        "ip", "netns", "exec", namespace[0], sys.executable, "-m", "tests.sfu.turn_peer", cwd=ROOT,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    assert client.stdin is not None
    try:
        await peer.publish()
        joined = await coordinator_join(server, walled, cid)
        client.stdin.write(json.dumps({"joined": joined, "watch": peer.session_id}).encode() + b"\n")
        await client.stdin.drain()
        walled_session = (await next_step(client, "joined"))["session_id"]
        await peer.subscribe_to(walled_session)
        received = await next_step(client, "received")
        await eventually(lambda: all(peer.frames[f"{walled_session}|{t}"] > 0 for t in ("audio", "video")),
                         timeout_s=60, what="the walled client's audio and video")
        assert all(received["frames"][f"{peer.session_id}|{t}"] > 0 for t in ("audio", "video"))
        for side, path in received["paths"].items():
            assert path["local"] == "relay" and path["turn_client"] == "TurnClientTcpProtocol", (side, path)
            assert path["remote"][0] == "127.0.0.1", (side, path)  # the SFU's candidate, reached through coturn
        assert dropped_udp_packets(namespace[0]) > 0  # the client did try UDP; none of it got through
        client.stdin.close()
        _, err = await asyncio.wait_for(client.communicate(), 30)
        assert client.returncode == 0, err.decode()
        await peer.wait_for("participant_left", lambda e: e["participant"]["session_id"] == walled_session)
    finally:
        await peer.close()
        if client.returncode is None:
            client.kill()
            await client.wait()
