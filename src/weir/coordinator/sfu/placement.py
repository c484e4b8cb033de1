"""``SfuPlacement``: which SFU a call's participants are sent to, as the base URL of its signaling socket.

``SameServer``: the SFU runs in the coordinator's process. ``WorkerPlacement``: with media workers, a call's
participants go to the worker that owns it, at the public host on the worker's port.
"""

from __future__ import annotations

from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from weir.coordinator.sfu.registry import NoWorker, WorkerRegistry
from weir.coordinator.sfu.remote_entry import PLACE_WAIT_SECONDS, no_worker_error

__all__ = ["SameServer", "SfuPlacement", "WorkerPlacement", "with_port"]


class SfuPlacement(Protocol):
    async def base_url(self, call_cid: str, public_base: str) -> str:
        """The SFU's base URL for this call, given the public base URL clients reach this server at."""
        ...


class SameServer:
    async def base_url(self, call_cid: str, public_base: str) -> str:
        return public_base


def with_port(base_url: str, port: int) -> str:
    parts = urlsplit(base_url)
    host = parts.hostname or "127.0.0.1"
    host = f"[{host}]" if ":" in host else host
    return urlunsplit(parts._replace(netloc=f"{host}:{port}"))


class WorkerPlacement:
    def __init__(self, registry: WorkerRegistry) -> None:
        self.registry = registry

    async def base_url(self, call_cid: str, public_base: str) -> str:
        try:
            worker = await self.registry.place(call_cid, PLACE_WAIT_SECONDS)
        except NoWorker:
            raise no_worker_error() from None
        return with_port(public_base, worker.port)
