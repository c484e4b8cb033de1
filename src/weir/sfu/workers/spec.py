"""What a worker process is told at start (one JSON line on its stdin): who it is, where the coordinator is,
the server's settings and its share of the ICE ports; later, ``DRAIN_LINE`` on its stdin asks it to drain, and it
exits with ``DRAINED_EXIT`` once drained (its supervisor does not restart it)."""

from __future__ import annotations

import secrets
from typing import Any

from pydantic import BaseModel, Field

from weir.config import Settings, reachable_host
from weir.sfu.rtc import IceConfig

__all__ = [
    "DRAINED_EXIT", "DRAIN_LINE", "NodeSpec", "WorkerSpec", "node_specs", "split_ports", "worker_specs",
]

DRAIN_LINE = b"drain\n"
DRAINED_EXIT = 3


class NodeSpec(BaseModel):
    """An SFU node on another host (``weir sfu``), as its workers introduce it to the coordinator."""

    name: str = Field(min_length=1, max_length=64)
    region: str = Field(default="", max_length=32)
    public_url: str = Field(min_length=1, description="Where clients reach it; each worker on its own port")
    capacity: int = Field(default=0, ge=0, description="Participants it is meant to carry (0: not said)")


class WorkerSpec(BaseModel):
    index: int
    node: NodeSpec | None = None  # None: a worker of `weir serve`, on the coordinator's host
    coordinator_url: str  # where the worker reaches the coordinator's internal channel
    listen_host: str
    listen_port: int  # 0: any free port (the worker tells the coordinator which)
    relay_host: str | None = None  # the cascade's relay socket binds (and is announced) here; None: listen_host
    settings: dict[str, Any]
    ice_host_addresses: list[str]
    ice_port_min: int
    ice_port_max: int

    def ice(self) -> IceConfig:
        return IceConfig(host_addresses=tuple(self.ice_host_addresses), port_min=self.ice_port_min,
                         port_max=self.ice_port_max)


def split_ports(port_min: int, port_max: int, count: int) -> list[tuple[int, int]]:
    """``count`` disjoint ranges covering ``port_min..port_max`` (all ``(0, 0)``, any port, when it is 0)."""
    if port_min == 0:
        return [(0, 0)] * count
    size = (port_max - port_min + 1) // count
    if size < 1:
        raise ValueError(f"the ICE port range {port_min}-{port_max} is too small for {count} SFU workers")
    return [(port_min + i * size, port_max if i == count - 1 else port_min + (i + 1) * size - 1)
            for i in range(count)]


def worker_specs(settings: Settings, ice: IceConfig, count: int) -> list[WorkerSpec]:
    coordinator = reachable_host(settings.host)
    coordinator = f"[{coordinator}]" if ":" in coordinator else coordinator
    port = settings.internal_port or settings.port  # `weir serve --workers N`: process 0's own loopback port
    dumped = settings.model_dump(mode="json")
    return [
        WorkerSpec(index=i, coordinator_url=f"http://{coordinator}:{port}", listen_host=settings.host,
                   listen_port=settings.sfu_worker_base_port + i if settings.sfu_worker_base_port else 0,
                   settings=dumped, ice_host_addresses=list(ice.host_addresses), ice_port_min=low, ice_port_max=high)
        for i, (low, high) in enumerate(split_ports(ice.port_min, ice.port_max, count))
    ]


def node_specs(settings: Settings, ice: IceConfig, node: NodeSpec, coordinator_url: str, listen_host: str,
               base_port: int, count: int, relay_host: str | None = None) -> list[WorkerSpec]:
    """The workers of an SFU node on another host. Each names itself on the channel by a random 62-bit index
    (this server's own workers count from 0), so workers of many nodes never collide."""
    dumped = settings.model_dump(mode="json")
    return [
        WorkerSpec(index=(1 << 62) | secrets.randbits(61), node=node, coordinator_url=coordinator_url,
                   listen_host=listen_host, listen_port=base_port + i if base_port else 0, relay_host=relay_host,
                   settings=dumped, ice_host_addresses=list(ice.host_addresses), ice_port_min=low, ice_port_max=high)
        for i, (low, high) in enumerate(split_ports(ice.port_min, ice.port_max, count))
    ]
