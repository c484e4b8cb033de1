"""The RTMP listener: each connection is one encoder, read with ``rtmp.RtmpConnection`` and published as a
``Publication``.

An encoder must publish within ``HANDSHAKE_SECONDS`` of connecting; a publishing encoder that sends nothing for
``SILENCE_SECONDS``, or drops the connection without unpublishing, ends its stream with ``ingress.error``, so no
participant is left behind. A refused key is answered with ``onStatus`` (level error) naming the reason, which
encoders show, and the connection is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from weir.ingress.channel import Channel
from weir.ingress.clients import identify
from weir.ingress.flv import AvcConfig, AvcFrame, FlvError, UnsupportedCodec, parse_audio, parse_video
from weir.ingress.publication import Publication, Refused, parse_target
from weir.ingress.rtmp import (
    Connected,
    Event,
    MediaMessage,
    Metadata,
    PublishRequested,
    RtmpConnection,
    RtmpError,
    Unpublished,
)

__all__ = ["HANDSHAKE_SECONDS", "SILENCE_SECONDS", "serve_rtmp"]

log = logging.getLogger(__name__)
HANDSHAKE_SECONDS = 10.0
SILENCE_SECONDS = 5.0
READ_BYTES = 65536


async def serve_rtmp(channel: Channel, host: str, port: int) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        session = RtmpSession(channel, peer[0] if peer else None)
        try:
            await session.run(reader, writer)
        finally:
            await session.finish("the ingress worker is stopping", "shutdown")
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    return await asyncio.start_server(handle, host, port)


class RtmpSession:
    def __init__(self, channel: Channel, client_ip: str | None) -> None:
        self.rtmp = RtmpConnection()
        self.publication = Publication(channel, "rtmp", client_ip)
        self.app = self.flash_ver = self.encoder = ""
        self.config: AvcConfig | None = None
        self.done = False

    async def run(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while not self.done:
            publishing = self.publication.target is not None
            try:
                data = await asyncio.wait_for(reader.read(READ_BYTES), SILENCE_SECONDS if publishing else
                                              HANDSHAKE_SECONDS)
            except (TimeoutError, ConnectionError):
                data = None
            if not data:
                await self.finish("the encoder stopped sending without ending the stream", "disconnected")
                return
            try:
                for event in self.rtmp.receive(data):
                    await self.handle(event)
            except UnsupportedCodec as error:
                await self.finish(str(error), "unsupported_codec")
            except (RtmpError, FlvError) as error:
                await self.finish(f"not a valid RTMP stream: {error}", "bad_stream")
            writer.write(self.rtmp.data_to_send())
            await writer.drain()

    async def handle(self, event: Event) -> None:
        publication = self.publication
        if isinstance(event, Connected):
            self.app, self.flash_ver = event.app, event.flash_ver
        elif isinstance(event, PublishRequested):
            try:
                await publication.open(parse_target(f"{self.app}/{event.name}"))
            except Refused as refusal:
                log.info("RTMP publish refused: %s", refusal)
                self.rtmp.refuse_publish(str(refusal))
                self.done = True
                return
            self.rtmp.accept_publish()
        elif isinstance(event, Metadata):
            self.encoder = str(event.values.get("encoder") or "")
        elif isinstance(event, MediaMessage):
            await publication.started(*identify(self.flash_ver, self.encoder))
            if event.kind == "audio":
                publication.push_audio(parse_audio(event.payload))
                return
            video = parse_video(event.payload, self.config)
            if isinstance(video, AvcConfig):
                self.config = video
            elif isinstance(video, AvcFrame) and self.config is not None:
                publication.push_video(video, self.config, event.timestamp)
        elif isinstance(event, Unpublished):
            await self.finish()

    async def finish(self, error: str | None = None, code: str | None = None) -> None:
        """End the stream (with ``ingress.error`` when ``error``), once."""
        self.done = True
        if self.publication.target is not None:
            await self.publication.close(error, code)
