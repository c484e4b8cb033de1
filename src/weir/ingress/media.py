"""What an ingress publishes: the encoder's H.264 as it came (no decoding, no encoding) and its AAC decoded
for aiortc to encode as Opus.

aiortc's sender packetises an ``av.Packet`` it reads from a track instead of encoding a frame (RFC 6184: single
NAL units, STAP-A, FU-A), so ``PacketTrack`` hands it the encoder's access units as H.264 byte streams, the SPS
and PPS in front of every keyframe so that a subscriber can start at any of them. Both tracks keep a short
queue and drop the oldest when the sender falls behind: a live stream would rather skip than lag.
"""

from __future__ import annotations

import asyncio
from fractions import Fraction
from typing import Any, TypeAlias

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from weir.ingress.flv import AvcConfig, AvcFrame, FlvError, annex_b

__all__ = ["AacDecoder", "PacketTrack", "QueueTrack", "keyframe_units"]

MILLISECONDS = Fraction(1, 1000)
OPUS_RATE = 48000
Item: TypeAlias = "av.Packet[Any] | av.AudioFrame"
QUEUE_FRAMES = 120  # about two seconds of video or audio frames
PARAMETER_SETS = (7, 8)  # SPS, PPS


class QueueTrack(MediaStreamTrack):
    """A track fed by ``put``; ``end()`` makes the sender stop."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self._queue: asyncio.Queue[Item | None] = asyncio.Queue(QUEUE_FRAMES)

    def put(self, item: Item) -> None:
        if self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(item)

    def end(self) -> None:
        if self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(None)

    async def recv(self) -> Item:  # aiortc sends packets as they are, and encodes frames
        item = await self._queue.get() if self.readyState == "live" else None
        if item is None:
            self.stop()
            raise MediaStreamError
        return item


def keyframe_units(frame: AvcFrame, config: AvcConfig) -> tuple[bytes, ...]:
    """The frame's NAL units, led by the SPS and PPS on a keyframe that lacks them."""
    if not frame.keyframe or any(unit[0] & 0x1F in PARAMETER_SETS for unit in frame.nal_units):
        return frame.nal_units
    return config.sps + config.pps + frame.nal_units


class PacketTrack(QueueTrack):
    """H.264 access units, timed by their presentation time in milliseconds."""

    def __init__(self) -> None:
        super().__init__("video")

    def push(self, frame: AvcFrame, config: AvcConfig, timestamp_ms: int) -> None:
        self.push_stream(annex_b(keyframe_units(frame, config)), timestamp_ms + frame.composition_ms,
                         frame.keyframe)

    def push_stream(self, stream: bytes, pts_ms: int, keyframe: bool) -> None:
        """One access unit already in byte-stream form (MPEG-TS carries it so, parameter sets included)."""
        packet = av.Packet(stream)
        packet.pts = packet.dts = pts_ms
        packet.time_base = MILLISECONDS
        packet.is_keyframe = keyframe
        self.put(packet)


class AacDecoder:
    """AAC to 48 kHz stereo s16 frames, as aiortc's Opus encoder takes them; without a configuration, the
    frames carry ADTS headers (MPEG-TS)."""

    def __init__(self, config: bytes | None) -> None:
        self._codec = av.CodecContext.create("aac", "r")
        if config is not None:
            self._codec.extradata = config
        self._resampler = av.AudioResampler(format="s16", layout="stereo", rate=OPUS_RATE)
        self._samples = 0

    def decode(self, data: bytes) -> list[av.AudioFrame]:
        try:
            decoded = self._codec.decode(av.Packet(data))
        except av.FFmpegError as error:
            raise FlvError(f"AAC frame does not decode: {error}") from None
        frames = []
        for frame in decoded:
            for out in self._resampler.resample(frame):
                out.pts, out.time_base = self._samples, Fraction(1, OPUS_RATE)
                self._samples += out.samples
                frames.append(out)
        return frames
