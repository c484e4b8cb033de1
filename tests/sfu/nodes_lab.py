"""SFU nodes on several "hosts" of one machine: a coordinator (``weir serve`` without an SFU of its own) and SFU
nodes (``weir sfu``) each in a network namespace of its own: two in region ``eu``, one in ``us`` and a spare in
``in``.

Each node's namespace is joined to the root namespace by a veth pair (``tests/netns.py``) and routes through it, so
it reaches the coordinator, which listens on the ``eu`` pair's root-side address. The SDK clients run here, in the
root namespace, and gather ICE on both pairs' root-side addresses; the coordinator places them in ``eu`` by that
address (``WEIR_SFU_REGION_NETWORKS``). Shared by tests/sfu/test_sfu_nodes.py and bench/nodes.py; nothing here
imports pytest.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.crash import WEIR, SdkCall, WeirServe
from tests.netns import veth_namespace
from weir.sfu.workers.channel import ChannelAuth

START_TIMEOUT_S = 120.0
POLL_S = 0.1


@dataclass
class Host:
    """A network namespace: its name, the root side's address and its own."""

    namespace: str
    outside: str

    @property
    def inside(self) -> str:
        return self.outside.rsplit(".", 1)[0] + ".2"


@dataclass
class Node:
    """A ``weir sfu`` process in a host's namespace."""

    name: str
    region: str
    host: Host
    process: subprocess.Popen[bytes] | None = None
    relay_host: str | None = None  # ``--relay-host``

    def start(self, coordinator: WeirServe) -> None:
        env = {**os.environ, "WEIR_API_SECRET": coordinator.api_secret,
               "WEIR_SFU_FAST_RECONNECT_DEADLINE_SECONDS": "2"}
        self.process = subprocess.Popen(
            ["ip", "netns", "exec", self.host.namespace, str(WEIR), "sfu", "--coordinator", coordinator.base_url,
             "--public-url", f"http://{self.host.inside}", "--ice-host-addresses", self.host.inside,
             "--host", self.host.inside, "--region", self.region, "--name", self.name, "--capacity", "50",
             *(["--relay-host", self.relay_host] if self.relay_host else [])],
            env=env, stdout=subprocess.DEVNULL)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill_host(self) -> None:
        """SIGKILL every process in the node's namespace: the host is gone, nothing says goodbye."""
        pids = subprocess.run(["ip", "netns", "pids", self.host.namespace], capture_output=True, text=True).stdout
        for pid in pids.split():
            os.kill(int(pid), signal.SIGKILL)
        if self.process is not None:
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.running():
            self.kill_host()


@dataclass
class Lab:
    coordinator: WeirServe
    hosts: dict[str, Host]
    nodes: list[Node] = field(default_factory=list)

    def node(self, host: str, region: str) -> Node:
        """Start a node on a host (whose previous node, if any, has stopped)."""
        made = Node(f"{region}-{uuid.uuid4().hex[:4]}", region, self.hosts[host])
        made.start(self.coordinator)
        self.nodes.append(made)
        return made

    def stop_nodes(self) -> None:
        for node in self.nodes:
            node.stop()

    def named(self, name: str) -> Node:
        return next(node for node in self.nodes if node.name == name)

    def edges(self) -> list[dict[str, str]]:
        token = self.coordinator.token("lab-admin")
        response = httpx.get(f"{self.coordinator.base_url}/api/v1/edges", params={"api_key": self.coordinator.api_key},
                             headers={"Authorization": f"Bearer {token}"}, timeout=10)
        response.raise_for_status()
        return list(response.json()["edges"])

    def wait_for_edges(self, live: set[str]) -> None:
        """Until ``GET /edges`` lists exactly these nodes."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while {edge["name"] for edge in self.edges()} != live:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the edges are {self.edges()}, not {sorted(live)}")
            time.sleep(POLL_S)

    def drain_request(self, name: str) -> httpx.Response:
        """What ``weir sfu drain NAME`` sends, without the command's start-up."""
        return httpx.post(f"{self.coordinator.base_url}/internal/sfu/nodes/{name}/drain",
                          auth=ChannelAuth(self.coordinator.api_secret, None), timeout=30)

    def drain(self, name: str) -> subprocess.CompletedProcess[str]:
        """``weir sfu drain NAME``."""
        return subprocess.run([str(WEIR), "sfu", "drain", name, "--coordinator", self.coordinator.base_url],
                              env={**os.environ, "WEIR_API_SECRET": self.coordinator.api_secret},
                              capture_output=True, text=True)


@contextmanager
def lab(data_dir: Path) -> Iterator[Lab]:
    """The coordinator and nodes on hosts ``eu-a``, ``eu-b`` (region eu), ``us`` and ``in``, all live."""
    with ExitStack() as stack:
        hosts = {host: Host(*stack.enter_context(veth_namespace("weir-node", routed=True)))
                 for host in ("eu-a", "eu-b", "us", "in")}
        eu = hosts["eu-a"].outside
        coordinator = WeirServe(data_dir, workers=0, host=eu, env={
            "WEIR_SFU_NODES": "true", "WEIR_ICE_HOST_ADDRESSES": "127.0.0.1",
            "WEIR_SFU_REGION_NETWORKS": json.dumps({"eu": [f"{eu}/32"]})})
        made = Lab(coordinator, hosts)
        stack.callback(made.stop_nodes)
        for host in hosts:  # they start while the coordinator does, and connect once it listens
            made.node(host, host.split("-")[0])
        stack.callback(coordinator.stop)
        coordinator.start()
        made.wait_for_edges({node.name for node in made.nodes})
        yield made


def edges_of(room: SdkCall) -> set[str]:
    """The edges the clients' current SFU sessions are on."""
    return {call._sfu.credentials.server.edge_name for call in room.calls if call._sfu is not None}


async def moved(room: SdkCall, edge: str, timeout_s: float = START_TIMEOUT_S) -> None:
    """Until every client's SFU session is on ``edge``."""
    deadline = time.monotonic() + timeout_s
    while edges_of(room) != {edge}:
        if time.monotonic() > deadline:
            raise AssertionError(f"the clients are on {edges_of(room)}, not {edge}: {room.statuses}")
        await asyncio.sleep(POLL_S)


def client_ice(lab: Lab) -> str:
    """The SDK clients' ICE addresses: the root side of each node's pair."""
    return ",".join(host.outside for host in lab.hosts.values())
