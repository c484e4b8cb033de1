"""Cascading between ``weir sfu`` nodes on two hosts: each node in a network namespace of its own
(tests/sfu/nodes_lab.py), the two joined by a private link of their own (a veth pair straight between the
namespaces), over which their relays talk (``--relay-host``). The coordinator (``WEIR_SFU_CASCADE_CALL_SIZE=1``)
spreads each call over both nodes; the aiortc clients, in the root namespace, reach either node over its pair."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import RunningServer
from tests.crash import WeirServe
from tests.netns import veth_link, veth_namespace
from tests.sfu.nodes_lab import Host, Lab, Node
from tests.sfu.test_cascade import remote_subscriber_gets_its_layer, see_and_hear_each_other
from weir.config import Settings
from weir.sfu.rtc import IceConfig
from weir.sfu.workers.spec import NodeSpec, WorkerSpec, node_specs

Uid = Callable[[str], str]


@dataclass
class TwoHosts:
    lab: Lab
    server: RunningServer  # the coordinator, as the shared checks reach it
    ice: IceConfig  # the clients' ICE: the root side of the first host's pair (the second's is routed to)


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoHosts]:
    data_dir = Path(tmp_path_factory.mktemp("cascade-nodes"))
    with ExitStack() as stack:
        made = [Host(*stack.enter_context(veth_namespace("weir-cnode", routed=True))) for _ in range(2)]
        relays = stack.enter_context(veth_link(made[0].namespace, made[1].namespace))
        coordinator = WeirServe(data_dir, workers=0, host=made[0].outside, env={
            "WEIR_SFU_NODES": "true", "WEIR_SFU_CASCADE_CALL_SIZE": "1"})
        lab = Lab(coordinator, {host.namespace: host for host in made})
        stack.callback(lab.stop_nodes)
        for host, relay in zip(made, relays, strict=True):
            node = Node(f"cascade-{uuid.uuid4().hex[:4]}", "eu", host, relay_host=relay)
            node.start(coordinator)  # it connects once the coordinator listens
            lab.nodes.append(node)
        stack.callback(coordinator.stop)
        coordinator.start()
        lab.wait_for_edges({node.name for node in lab.nodes})
        server = RunningServer(coordinator.base_url, coordinator.api_key, coordinator.api_secret, data_dir, "sqlite")
        yield TwoHosts(lab, server, IceConfig(host_addresses=(made[0].outside,), connect_timeout_s=10))


async def test_participants_on_two_nodes_see_and_hear_each_other(hosts: TwoHosts, uid: Uid) -> None:
    await see_and_hear_each_other(hosts.server, uid, hosts.ice)


async def test_a_subscriber_on_the_other_node_gets_the_layer_its_size_calls_for(hosts: TwoHosts, uid: Uid) -> None:
    await remote_subscriber_gets_its_layer(hosts.server, uid, hosts.ice)


def test_a_nodes_workers_bind_their_relay_where_told() -> None:
    ice = IceConfig(host_addresses=("10.0.0.2",), port_min=40000, port_max=40009)
    node = NodeSpec(name="n", public_url="http://10.0.0.2")
    told = node_specs(Settings(api_secret="s"), ice, node, "http://10.0.0.1:3030", "0.0.0.0", 0, 2, "192.168.7.2")
    assert [spec.relay_host for spec in told] == ["192.168.7.2"] * 2
    assert {WorkerSpec.model_validate_json(spec.model_dump_json()).relay_host for spec in told} == {"192.168.7.2"}
    default = node_specs(Settings(api_secret="s"), ice, node, "http://10.0.0.1:3030", "10.0.0.2", 0, 1)
    assert default[0].relay_host is None  # the relay binds where the worker listens
