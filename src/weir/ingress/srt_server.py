"""The SRT listener: a caller sends MPEG-TS (H.264 and AAC) with ``streamid=<call_type>/<call_id>/<user token>``.

libsrt's calls block, so accepting and each stream's reading run in threads; PyAV demuxes the MPEG-TS (no
decoding of the video: its packets are H.264 byte streams with their parameter sets) and each packet is handed
to the stream's ``Publication`` on the event loop. A refused stream id closes the connection; a caller silent
for ``SILENCE_SECONDS`` ends its stream with ``ingress.error``; one that closes ends it cleanly.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from fractions import Fraction

import av

from weir.ingress.channel import Channel
from weir.ingress.publication import Publication, Refused, parse_target
from weir.ingress.rtmp_server import SILENCE_SECONDS
from weir.ingress.srt import SrtError, SrtListener, SrtSocket

__all__ = ["SrtServer"]

log = logging.getLogger(__name__)


class SrtServer:
    def __init__(self, channel: Channel, host: str, port: int) -> None:
        self.channel = channel
        self.listener = SrtListener(host, port)
        self.loop = asyncio.get_running_loop()
        self.streams: set[asyncio.Future[None]] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        threading.Thread(target=self._accept, name="srt-accept", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                caller = self.listener.accept()
            except SrtError:
                return  # closed
            future = asyncio.run_coroutine_threadsafe(self._stream(caller), self.loop)
            self.streams.add(asyncio.wrap_future(future, loop=self.loop))

    async def _stream(self, caller: SrtSocket) -> None:
        publication = Publication(self.channel, "srt", caller.peer)
        try:
            await publication.open(parse_target(caller.stream_id))
        except (Refused, SrtError) as refusal:
            log.info("SRT stream refused: %s", refusal)
            caller.close()
            return
        caller.set_timeout(SILENCE_SECONDS)
        error: tuple[str, str] | None = None
        try:
            await asyncio.to_thread(self._demux, caller, publication)
        except SrtError:
            error = "the caller stopped sending without ending the stream", "disconnected"
        except av.FFmpegError as failure:
            error = f"not a valid MPEG-TS stream: {failure}", "bad_stream"
        finally:
            caller.close()
            await publication.close(*(error or (None, None)))

    def _demux(self, caller: SrtSocket, publication: Publication) -> None:
        """Runs in a thread: each demuxed packet goes to the publication on the loop."""
        with av.open(caller, format="mpegts", mode="r") as container:
            streams = [s for s in container.streams if s.type in ("video", "audio")]
            for packet in container.demux(streams):
                if packet.size == 0 or packet.pts is None:
                    continue
                data, kind = bytes(packet), packet.stream.type
                pts_ms = int(packet.pts * packet.time_base / Fraction(1, 1000))
                self.loop.call_soon_threadsafe(self._push, publication, kind, data, pts_ms, packet.is_keyframe)

    def _push(self, publication: Publication, kind: str, data: bytes, pts_ms: int, keyframe: bool) -> None:
        if publication.target is None:
            return
        if kind == "video":
            publication.video.push_stream(data, pts_ms, keyframe)
        else:
            publication.push_adts(data)
        if not publication.is_started:  # its first packet: ingress.started (MPEG-TS does not name the encoder)
            task = self.loop.create_task(publication.started(None, None))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    def close(self) -> None:
        self.listener.close()
