"""``SfuPlacement``: which SFU a participant is sent to: the base URL of its signaling socket and its edge name.

``SameServer``: the SFU runs in the coordinator's process. ``WorkerPlacement``: with media workers (this
server's, or SFU nodes' on other hosts), a call's participants go to the worker the registry places the call on
(``registry.choose``): this server's at the public host on the worker's port, a node's at its public URL on the
worker's port.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from weir.coordinator.sfu.registry import ANYWHERE, LiveWorker, NoAllowedWorker, NoWorker, Wish, WorkerRegistry
from weir.coordinator.sfu.remote_entry import PLACE_WAIT_SECONDS, no_worker_error

__all__ = ["SameServer", "SfuAddress", "SfuPlacement", "WorkerPlacement", "public_url", "with_port"]


@dataclass(frozen=True)
class SfuAddress:
    base_url: str
    edge_name: str


class SfuPlacement(Protocol):
    async def place(self, call_cid: str, public_base: str, wish: Wish = ANYWHERE) -> SfuAddress:
        """The SFU for a participant of this call, given the public base URL clients reach this server at."""
        ...


class SameServer:
    def __init__(self, edge_name: str) -> None:
        self.edge_name = edge_name

    async def place(self, call_cid: str, public_base: str, wish: Wish = ANYWHERE) -> SfuAddress:
        return SfuAddress(public_base, self.edge_name)


def with_port(base_url: str, port: int) -> str:
    parts = urlsplit(base_url)
    host = parts.hostname or "127.0.0.1"
    host = f"[{host}]" if ":" in host else host
    return urlunsplit(parts._replace(netloc=f"{host}:{port}"))


def public_url(worker: LiveWorker, public_base: str) -> str:
    """Where clients reach the worker: a node's public URL, else this server's, on the worker's port."""
    return with_port(worker.node.public_url if worker.node else public_base, worker.port).rstrip("/")


class WorkerPlacement:
    def __init__(self, registry: WorkerRegistry, edge_name: str) -> None:
        self.registry = registry
        self.edge_name = edge_name

    async def place(self, call_cid: str, public_base: str, wish: Wish = ANYWHERE) -> SfuAddress:
        try:
            worker = await self.registry.place(call_cid, PLACE_WAIT_SECONDS, wish)
        except NoWorker:
            raise no_worker_error() from None
        except NoAllowedWorker as error:
            raise no_worker_error(str(error)) from None
        return SfuAddress(public_url(worker, public_base), worker.node.name if worker.node else self.edge_name)
