"""Individual and raw recording: every received track's RTP packets, tapped before aiortc decodes them.

Individual: the packets are put in order and depacketized into encoded frames (aiortc's jitter buffer and
depayloaders), and the frames muxed as they are, never re-encoded: VP8 and Opus into WebM. The WebM is written
in short clusters flushed as they close, so a file cut off by a crash plays up to its last cluster.

Raw: the packets as received, with their arrival time, in Weir's raw format (docs/recording.md).
"""

from __future__ import annotations

import asyncio
import json
import logging
import struct
import time
from collections.abc import Awaitable, Callable
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO

import av
from aiortc import RTCRtpCodecParameters, RTCRtpReceiver, RTCRtpTransceiver
from aiortc.codecs import depayload
from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtp import RtpPacket

from weir.rtc import aiortc_adapter

log = logging.getLogger(__name__)
MUXED = {"video/vp8": ("webm", "vp8"), "audio/opus": ("webm", "libopus")}
RAW_MAGIC = b"WEIRRAW1\n"
RAW_RECORD = struct.Struct(">IQ")  # packet length, arrival time in microseconds since the Unix epoch
MS = Fraction(1, 1000)


def safe_name(track_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in track_id)


def vp8_size(frame: bytes) -> tuple[int, int] | None:
    """A VP8 keyframe's width and height (RFC 6386 §9.1), or None for an interframe."""
    if len(frame) < 10 or frame[0] & 1 or frame[3:6] != b"\x9d\x01\x2a":
        return None
    return struct.unpack_from("<H", frame, 6)[0] & 0x3FFF, struct.unpack_from("<H", frame, 8)[0] & 0x3FFF


class _Writer:
    def packet(self, packet: RtpPacket, codec: RTCRtpCodecParameters, arrival: float) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class MuxedTrack(_Writer):
    """One track's encoded frames in a WebM file of its own."""

    def __init__(self, path: Path, mime: str, request_keyframe: Callable[[int], None]) -> None:
        self.path = path
        self.request_keyframe = request_keyframe
        self.asked_at = 0.0
        self.format, self.codec_name = MUXED[mime]
        self.video = mime.startswith("video/")
        self.buffer = JitterBuffer(capacity=128, is_video=True) if self.video else JitterBuffer(capacity=16,
                                                                                               prefetch=4)
        self.container: Any = None
        self.stream: Any = None
        self.first_ts: int | None = None
        self.last_ts = 0
        self.clock = 90000 if self.video else 48000
        self.frames = 0

    def packet(self, packet: RtpPacket, codec: RTCRtpCodecParameters, arrival: float) -> None:
        copy = RtpPacket(payload_type=packet.payload_type, marker=packet.marker,
                         sequence_number=packet.sequence_number, timestamp=packet.timestamp, ssrc=packet.ssrc,
                         payload=packet.payload)
        copy._data = depayload(codec, packet.payload) if packet.payload else b""  # type: ignore[attr-defined]
        _, frame = self.buffer.add(copy)
        if frame is not None and frame.data:
            self._frame(frame.data, frame.timestamp, packet.ssrc)

    def _open(self, data: bytes, ssrc: int) -> bool:
        size = vp8_size(data) if self.video else None
        if self.video:
            if size is None:  # a file starts on a keyframe: the one the subscription began with came before us
                if time.monotonic() - self.asked_at > 1:
                    self.asked_at = time.monotonic()
                    self.request_keyframe(ssrc)
                return False
        self.container = av.open(str(self.path), "w", format=self.format,
                                 options={"cluster_time_limit": "1000", "flush_packets": "1"})
        if size is not None:
            self.stream = self.container.add_stream(self.codec_name)
            self.stream.width, self.stream.height = size
        else:
            self.stream = self.container.add_stream(self.codec_name, rate=48000)
        self.stream.time_base = MS
        return True

    def _frame(self, data: bytes, timestamp: int, ssrc: int) -> None:
        if self.container is None and not self._open(data, ssrc):
            return
        if self.first_ts is None:
            self.first_ts = timestamp
        elapsed = (timestamp - self.first_ts) & 0xFFFFFFFF
        pts = max(elapsed * 1000 // self.clock, self.last_ts + (1 if self.frames else 0))
        self.last_ts = pts
        out = av.Packet(data)
        out.stream, out.pts, out.dts, out.time_base = self.stream, pts, pts, MS
        if self.video and vp8_size(data) is not None:
            out.is_keyframe = True
        self.container.mux(out)
        self.frames += 1

    def close(self) -> None:
        if self.container is not None:
            self.container.close()


class RawTrack(_Writer):
    """One track's RTP packets as received, each with its arrival time (docs/recording.md)."""

    def __init__(self, path: Path, track_id: str, codecs: list[RTCRtpCodecParameters]) -> None:
        self.file: BinaryIO = path.open("wb")
        header = {"track": track_id, "codecs": [
            {"payload_type": c.payloadType, "mime_type": c.mimeType, "clock_rate": c.clockRate,
             "channels": c.channels, "parameters": {k: str(v) for k, v in c.parameters.items()}} for c in codecs]}
        self.file.write(RAW_MAGIC + json.dumps(header).encode() + b"\n")
        self.file.flush()

    def packet(self, packet: RtpPacket, codec: RTCRtpCodecParameters, arrival: float) -> None:
        data = packet.serialize()
        self.file.write(RAW_RECORD.pack(len(data), int(arrival * 1_000_000)) + data)
        self.file.flush()

    def close(self) -> None:
        self.file.close()


class TrackTaps:
    """Taps every receiver of the subscriber connection once; one writer per track."""

    def __init__(self, directory: Path, prefix: str, raw: bool) -> None:
        self.directory, self.prefix, self.raw = directory, prefix, raw
        self.writers: dict[str, _Writer] = {}
        self._tapped: set[int] = set()
        self._tasks: set[asyncio.Future[None]] = set()

    def attach(self, transceiver: RTCRtpTransceiver) -> None:
        receiver = transceiver.receiver
        track = receiver.track
        if id(receiver) in self._tapped or track is None or not track.id:
            return
        codecs: list[RTCRtpCodecParameters] = list(getattr(transceiver, "_codecs", []))
        if not codecs:
            return
        self._tapped.add(id(receiver))
        log.info("recording track %s (%s)", track.id, ", ".join(c.mimeType for c in codecs))
        by_type = {c.payloadType: c for c in codecs}
        track_id = track.id
        original: Callable[[RtpPacket, int], Awaitable[None]] = receiver._handle_rtp_packet

        async def tapped(packet: RtpPacket, arrival_time_ms: int) -> None:
            codec = by_type.get(packet.payload_type)
            if codec is not None:
                self._packet(track_id, codecs, codec, packet, receiver)
            await original(packet, arrival_time_ms)

        receiver._handle_rtp_packet = tapped  # type: ignore[method-assign]

    def _packet(self, track_id: str, codecs: list[RTCRtpCodecParameters], codec: RTCRtpCodecParameters,
                packet: RtpPacket, receiver: RTCRtpReceiver) -> None:
        writer = self.writers.get(track_id)
        if writer is None:
            writer = self._writer(track_id, codecs, codec, receiver)
            if writer is None:
                return
            self.writers[track_id] = writer
        if not self.raw and codec.mimeType.lower() not in MUXED:
            return  # retransmissions (rtx), RED and the like: the buffer reorders the originals
        writer.packet(packet, codec, time.time())

    def _writer(self, track_id: str, codecs: list[RTCRtpCodecParameters], codec: RTCRtpCodecParameters,
                receiver: RTCRtpReceiver) -> _Writer | None:
        name = f"{self.prefix}_{safe_name(track_id)}"
        if self.raw:
            return RawTrack(self.directory / f"{name}.rtp", track_id, codecs)
        mime = codec.mimeType.lower()
        if mime not in MUXED:
            return None

        def request_keyframe(ssrc: int) -> None:
            self._tasks.add(task := asyncio.ensure_future(aiortc_adapter.request_keyframe(receiver, ssrc)))
            task.add_done_callback(self._tasks.discard)

        return MuxedTrack(self.directory / f"{name}.{MUXED[mime][0]}", mime, request_keyframe)

    def close(self) -> None:
        for writer in self.writers.values():
            writer.close()
