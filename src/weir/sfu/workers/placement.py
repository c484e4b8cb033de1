"""``WorkerPlacement``: a call's participants go to its worker, at the public host on the worker's port."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from weir.sfu.workers.entry import PLACE_WAIT_SECONDS, no_worker_error
from weir.sfu.workers.registry import NoWorker, WorkerRegistry

__all__ = ["WorkerPlacement", "with_port"]


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
