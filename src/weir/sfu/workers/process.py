"""An SFU worker process (``python -m weir.sfu.workers.process``, started by ``WorkerSupervisor``).

It reads its ``WorkerSpec`` from stdin, listens on its own port with the SFU's signaling socket and the
internal WHIP/WHEP entry, gathers ICE on its share of the port range, and reaches the coordinator through
``RemoteCoordinator``. It stops when its stdin ends, or when the coordinator's channel has been closed for
``ORPHAN_SECONDS`` (the coordinator then restarts it, if it is still there). A node's worker stops as soon as its
channel closes: its supervisor is the node's, which stays, and the new worker reaches a live coordinator process
at once (the old one's sessions are ended by the coordinator either way). It runs on uvloop.

Draining (``DRAIN_LINE`` on stdin asks the coordinator, whose ``drain`` starts it; ``weir sfu drain`` makes the
coordinator say it unasked): its participants are sent ``go_away`` and keep their media until they left (they
migrate to another worker), or ``DRAIN_SECONDS``; it then exits with ``DRAINED_EXIT``.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
import uvloop
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse

from weir.config import Settings
from weir.logging_setup import configure_logging
from weir.protocol.errors import APIError, ErrorCode
from weir.serving import uvicorn_config
from weir.sfu.cascade.calls import Cascade
from weir.sfu.cascade.link import RelayLink
from weir.sfu.local_entry import LocalEntry
from weir.sfu.rtc import RtcRoom
from weir.sfu.rtc.totals import MediaTotals
from weir.sfu.rtc.udpmux import shared_sockets
from weir.sfu.signaling.server import LATENCY_ROUTE, SfuServer
from weir.sfu.workers.entry_routes import entry_routes
from weir.sfu.workers.load import LoadMeter
from weir.sfu.workers.metrics_route import metrics_route, relay_route
from weir.sfu.workers.remote import RemoteCoordinator
from weir.sfu.workers.spec import DRAIN_LINE, DRAINED_EXIT, WorkerSpec

CONNECT_WAIT_SECONDS = 60.0
ORPHAN_SECONDS = 10.0
NODE_REPORT_SECONDS = 1.0  # a node's worker reports this often: the coordinator takes silence for death
DRAIN_SECONDS = 30.0
DRAIN_POLL_SECONDS = 0.1

log = logging.getLogger(__name__)


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


async def _error_body(request: Request, exc: Exception) -> JSONResponse:
    """The JSON error body the coordinator relays (``RemoteEntry``); anything unexpected is an internal error."""
    if not isinstance(exc, APIError):
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        exc = APIError(ErrorCode.INTERNAL, "internal error")
    return JSONResponse(exc.body(0.0), status_code=exc.status_code, headers=exc.headers)


def worker_app(spec: WorkerSpec, settings: Settings, sfu: SfuServer, link: RemoteCoordinator, port: int,
               totals: MediaTotals) -> Starlette:
    assert settings.api_secret is not None
    relay = RelayLink()

    meter = LoadMeter()

    async def report_hosted() -> None:
        while True:
            await asyncio.sleep(NODE_REPORT_SECONDS if spec.node else settings.sfu_keepalive_seconds)
            sessions = sfu.rooms.all_sessions()
            load = meter.sample(len(sessions), sum(len(session.tracks) for session in sessions))
            await link.report_hosted(list(sfu.rooms.rooms), load)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await relay.open(spec.relay_host or spec.listen_host)
        cascade = Cascade(relay, sfu.rooms, link.send)  # calls spread over several workers
        cascade.start()
        link.hello, link.on_cascade = cascade.hello(), cascade.on_message
        await sfu.start()
        await link.connect(port, CONNECT_WAIT_SECONDS)
        reporting = asyncio.create_task(report_hosted())
        try:
            yield
        finally:
            reporting.cancel()
            await asyncio.gather(reporting, return_exceptions=True)
            await sfu.stop()
            await cascade.stop()
            relay.close()
            await link.close()

    routes = [sfu.signaling_route(), LATENCY_ROUTE, *entry_routes(LocalEntry(sfu.rooms), settings.api_secret),
              metrics_route(totals, settings.api_secret), relay_route(relay, settings.api_secret)]
    return Starlette(routes=routes, lifespan=lifespan,
                     exception_handlers={APIError: _error_body, Exception: _error_body})


async def _stdin() -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    await asyncio.get_running_loop().connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


async def _stdin_ends(stdin: asyncio.StreamReader, link: RemoteCoordinator) -> None:
    """Until stdin ends; a ``DRAIN_LINE`` on the way asks the coordinator to drain this worker."""
    while line := await stdin.readline():
        if line == DRAIN_LINE:
            await link.draining()


async def _drained(sfu: SfuServer, link: RemoteCoordinator) -> None:
    """Once the coordinator says ``drain``: ``go_away`` to every participant, then until they all left (or
    ``DRAIN_SECONDS``)."""
    await link.drain.wait()
    sfu.rooms.send_away()
    deadline = asyncio.get_running_loop().time() + DRAIN_SECONDS
    while sfu.rooms.all_sessions() and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(DRAIN_POLL_SECONDS)


async def _told_to_stop(stdin: asyncio.StreamReader, link: RemoteCoordinator, orphan_seconds: float) -> None:
    """Until stdin ends (the supervisor stops us, or the coordinator's process is gone), or the channel has
    been closed for ``orphan_seconds`` without it."""
    told = asyncio.create_task(_stdin_ends(stdin, link))
    orphaned = asyncio.create_task(link.closed.wait())
    try:
        await asyncio.wait({told, orphaned}, return_when=asyncio.FIRST_COMPLETED)
        if not told.done():  # the coordinator is stopping (stdin ends soon) or went wrong
            await asyncio.wait({told}, timeout=orphan_seconds)
    finally:
        told.cancel()
        orphaned.cancel()


async def run() -> int:
    """Serve until told to stop (exit status 0) or drained (``DRAINED_EXIT``)."""
    stdin = await _stdin()
    spec = WorkerSpec.model_validate_json(await stdin.readline())
    settings = Settings.model_validate(spec.settings)
    configure_logging(settings.log_format, "warning", f"weir-sfu-worker-{spec.index}")
    assert settings.api_secret is not None
    sock = _listen(spec.listen_host, spec.listen_port)
    port = sock.getsockname()[1]
    link = RemoteCoordinator(spec.coordinator_url, settings.api_secret, spec.index, spec.node)
    ice = spec.ice()
    sockets = shared_sockets(ice)
    totals = MediaTotals(None if sockets is None else sockets.dropped)
    sfu = SfuServer(settings, link, totals.rooms(lambda call_cid: RtcRoom(call_cid, ice, sockets)))
    app = worker_app(spec, settings, sfu, link, port, totals)
    server = uvicorn.Server(uvicorn_config(app, log_level="warning", log_config=None))  # ours, from above
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    stopping = asyncio.create_task(_told_to_stop(stdin, link, 0.0 if spec.node else ORPHAN_SECONDS))
    draining = asyncio.create_task(_drained(sfu, link))
    await asyncio.wait({serving, stopping, draining}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    draining.cancel()
    if not serving.done():
        if server.started:
            server.should_exit = True  # a clean stop: the lifespan closes the rooms and the channel
        else:
            serving.cancel()  # still starting (the coordinator may be gone)
        await asyncio.gather(serving, return_exceptions=True)
    return DRAINED_EXIT if link.drain.is_set() else 0


if __name__ == "__main__":
    sys.exit(uvloop.run(run()))  # libuv's loop: a datagram costs less to receive and to send than on asyncio's
