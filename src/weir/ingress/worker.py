"""The ingress worker: the listeners encoders publish to, in a process of their own (``weir serve`` starts it
through ``supervisor.py``), so unpacking streams and transcoding audio never slow the coordinator or the SFU."""

from __future__ import annotations

import asyncio
import logging

from weir.config import Settings
from weir.ingress.channel import Channel
from weir.ingress.rtmp_server import serve_rtmp
from weir.ingress.srt_server import SrtServer

__all__ = ["run_worker"]

log = logging.getLogger(__name__)


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    """Listen until ``stop`` is set."""
    channel = Channel(settings)
    servers: list[asyncio.Server] = []
    srt: SrtServer | None = None
    try:
        if settings.ingress_rtmp_port:
            try:
                servers.append(await serve_rtmp(channel, settings.ingress_host, settings.ingress_rtmp_port))
                log.info("RTMP ingress on %s:%d", settings.ingress_host, settings.ingress_rtmp_port)
            except OSError as error:  # the port is taken: say so once rather than restart in a loop
                log.error("no RTMP ingress: cannot listen on %s:%d: %s", settings.ingress_host,
                          settings.ingress_rtmp_port, error)
        if settings.ingress_srt_port:
            try:
                srt = SrtServer(channel, settings.ingress_host, settings.ingress_srt_port)
                log.info("SRT ingress on %s:%d", settings.ingress_host, settings.ingress_srt_port)
            except OSError as error:  # no libsrt, or the port is taken
                log.error("no SRT ingress: %s", error)
        await stop.wait()
    finally:
        for server in servers:
            server.close()  # the streams still open end as the process does
        if srt is not None:
            srt.close()
        await channel.close()
