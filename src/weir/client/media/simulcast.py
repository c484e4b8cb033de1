"""Simulcast for the SDK's camera: aiortc sends one encoding per transceiver, so the video is sent here.

The video transceiver stays in aiortc's connection (its m-section, ICE, DTLS and SRTP), with a track that never
yields, so aiortc's own sender sends nothing. The offer is rewritten as a browser's simulcast offer: no SSRCs, the
rid header extension, ``a=rid:<rid> send`` per layer and ``a=simulcast:send``. ``SimulcastSender`` then reads the
camera, scales each frame per layer (``scale_resolution_down_by`` of the SFU's publish options), encodes each
with its own VP8 encoder, and sends the packets with the mid and rid extensions through the DTLS transport.
A PLI or FIR for a layer's SSRC makes that layer's next frame a keyframe; a NACK resends the packets it names.
Layers the SFU pauses (nobody receives them) are not encoded until it resumes them, with a keyframe.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
from dataclasses import dataclass, field

from aiortc.codecs.vpx import Vp8Encoder
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import (
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    HeaderExtensionsMap,
    RtcpPsfbPacket,
    RtcpRtpfbPacket,
    RtpPacket,
)
from av import VideoFrame

from weir.protocol.sfu.models import Layer, PublishLayer
from weir.rtc.aiortc_adapter import on_rtcp_for_ssrc, send_rtp
from weir.rtc.extensions import MID_URI, RID_URI

__all__ = ["SimulcastSender", "simulcast_offer"]

RTCP_PSFB_FIR = 4


HISTORY = 512  # packets kept per layer for NACKs


@dataclass
class _Stream:
    rid: str
    scale: float
    ssrc: int
    encoder: Vp8Encoder
    sequence: int
    keyframe: bool = True
    active: bool = True  # False while the SFU paused the layer (``change_publish_quality``): not encoded
    packets: int = 0
    octets: int = 0
    sent: dict[int, bytes] = field(default_factory=dict)  # sequence number % HISTORY → the packet
    transport: RTCDtlsTransport | None = None


def _even(value: float) -> int:
    return max(2, int(value) // 2 * 2)


def layer_sizes(width: int, height: int, layers: list[PublishLayer]) -> list[Layer]:
    """The layers announced in ``set_publisher`` for a source of ``width`` x ``height``."""
    return [Layer(rid=x.rid, width=_even(width / x.scale_resolution_down_by),
                  height=_even(height / x.scale_resolution_down_by), bitrate=x.max_bitrate) for x in layers]


def simulcast_offer(sdp: str, mid: str, rids: list[str]) -> tuple[str, int]:
    """``sdp`` with the m-section ``mid`` turned into a simulcast send section; the rid extension's id."""
    used = {int(n) for n in re.findall(r"^a=extmap:(\d+)", sdp, re.M)}
    rid_id = next(n for n in range(1, 15) if n not in used)
    sections = re.split(r"(?=^m=)", sdp, flags=re.M)
    for index, section in enumerate(sections):
        if re.search(rf"^a=mid:{re.escape(mid)}\r?$", section, re.M):
            lines = [line for line in section.split("\r\n")
                     if line and not line.startswith(("a=ssrc:", "a=ssrc-group:"))]
            highest_first = list(reversed(rids))
            lines += [f"a=extmap:{rid_id} {RID_URI}", *(f"a=rid:{rid} send" for rid in highest_first),
                      "a=simulcast:send " + ";".join(highest_first)]
            sections[index] = "\r\n".join(lines) + "\r\n"
    return "".join(sections), rid_id


class _LayerRtcp:
    """RTCP about one layer's SSRC: PLI and FIR ask for a keyframe, NACKs for resends."""

    def __init__(self, stream: _Stream) -> None:
        self.stream = stream

    async def handle(self, packet: object) -> None:
        stream = self.stream
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
            stream.keyframe = True
        elif isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK and stream.transport is not None:
            for sequence in packet.lost:  # resent as is: the SFU takes a late original as the retransmission
                data = stream.sent.get(sequence % HISTORY)
                if data is not None and int.from_bytes(data[2:4], "big") == sequence:
                    with contextlib.suppress(ConnectionError):
                        await send_rtp(stream.transport, data)


def _encode_layers(frame: VideoFrame, streams: list[_Stream],
                   keyframes: list[bool]) -> list[tuple[list[bytes], int]]:
    """Each layer's packets of ``frame`` (in the executor: one hand-off a frame, not one a layer)."""
    encoded = []
    for stream, keyframe in zip(streams, keyframes, strict=True):
        scaled = frame if stream.scale == 1 else frame.reformat(
            width=_even(frame.width / stream.scale), height=_even(frame.height / stream.scale))
        encoded.append(stream.encoder.encode(scaled, keyframe))
    return encoded


class SimulcastSender:
    def __init__(self, source: MediaStreamTrack, layers: list[PublishLayer]) -> None:
        self.source = source
        self.payload_type = 96  # the VP8 payload type of the SFU's answer, set before ``start``
        self._streams = [_Stream(x.rid, x.scale_resolution_down_by, random.randint(1, 2**32 - 1), Vp8Encoder(),
                                 random.randint(0, 65535))
                         for x in sorted(layers, key=lambda x: -x.scale_resolution_down_by)]
        self._task: asyncio.Task[None] | None = None
        self.frames = 0  # source frames sent (each as every layer)

    @property
    def rids(self) -> list[str]:
        """Lowest first."""
        return [s.rid for s in self._streams]

    def packets_sent(self) -> dict[str, int]:
        """RTP packets sent so far, by rid."""
        return {s.rid: s.packets for s in self._streams}

    def stats(self) -> dict[str, dict[str, object]]:
        """An ``outbound-rtp`` report per layer, shaped as aiortc's (which knows nothing of these packets)."""
        return {f"outbound-rtp-{s.rid}": {"type": "outbound-rtp", "kind": "video", "ssrc": s.ssrc, "rid": s.rid,
                                          "packetsSent": s.packets, "bytesSent": s.octets, "active": s.active}
                for s in self._streams}

    def set_active(self, active: dict[str, bool]) -> None:
        """Pause or resume layers by rid (the SFU's ``change_publish_quality``); a resumed layer starts on a
        keyframe."""
        for stream in self._streams:
            resumed = active.get(stream.rid, stream.active)
            if resumed and not stream.active:
                stream.keyframe = True
            stream.active = resumed

    def active(self) -> dict[str, bool]:
        return {s.rid: s.active for s in self._streams}

    def start(self, transport: RTCDtlsTransport, mid: str, mid_id: int, rid_id: int) -> None:
        if self._task is not None:
            return
        extensions = HeaderExtensionsMap()
        extensions.configure(RTCRtpParameters(headerExtensions=[
            RTCRtpHeaderExtensionParameters(id=mid_id, uri=MID_URI),
            RTCRtpHeaderExtensionParameters(id=rid_id, uri=RID_URI)]))
        for stream in self._streams:
            stream.transport = transport
            on_rtcp_for_ssrc(transport, stream.ssrc, _LayerRtcp(stream).handle)
        self._task = asyncio.ensure_future(self._run(transport, mid, extensions))

    async def _run(self, transport: RTCDtlsTransport, mid: str, extensions: HeaderExtensionsMap) -> None:
        loop = asyncio.get_running_loop()
        while transport.state in ("new", "connecting"):  # aiortc connects DTLS after the answer, in the background
            await asyncio.sleep(0.02)
        with contextlib.suppress(MediaStreamError):  # the source ended
            while True:
                frame = await self.source.recv()
                assert isinstance(frame, VideoFrame)
                streams = [stream for stream in self._streams if stream.active]
                keyframes = [stream.keyframe for stream in streams]
                for stream in streams:
                    stream.keyframe = False
                encoded = await loop.run_in_executor(None, _encode_layers, frame, streams, keyframes)
                for stream, (payloads, timestamp) in zip(streams, encoded, strict=True):
                    for index, payload in enumerate(payloads):
                        packet = RtpPacket(payload_type=self.payload_type, sequence_number=stream.sequence,
                                           timestamp=timestamp, ssrc=stream.ssrc, payload=payload,
                                           marker=int(index == len(payloads) - 1))
                        packet.extensions.mid, packet.extensions.rtp_stream_id = mid, stream.rid
                        data = packet.serialize(extensions)
                        stream.sent[stream.sequence % HISTORY] = data
                        stream.sequence = (stream.sequence + 1) & 0xFFFF
                        stream.packets += 1
                        stream.octets += len(payload)
                        try:
                            await send_rtp(transport, data)
                        except ConnectionError:  # not connected just now (an ICE restart): this packet is lost
                            pass
                self.frames += 1

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
