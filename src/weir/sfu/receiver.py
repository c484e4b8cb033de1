"""One published track: per-layer ingress (parse, unwrap, annotate, buffer) and fan-out to its down-tracks.

Each inbound packet is parsed once into an ``InboundPacket`` and handed only to the down-tracks that want its
layer (their forwarder's current or target layer). Those per-layer lists are tuples rebuilt after a change,
never per packet, so a paused down-track, or one on another layer, costs nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

from weir.sfu.audiolevel import read_audio_level
from weir.sfu.codecs.vp8 import Vp8Descriptor
from weir.sfu.downtrack import DownTrack
from weir.sfu.errors import PacketError
from weir.sfu.packet import HEADROOM, InboundPacket
from weir.sfu.packetbuffer import VIDEO_BUFFER_PACKETS, PacketBuffer
from weir.sfu.rtcp import Nack, Pli
from weir.sfu.rtp import RtpHeader
from weir.sfu.seqnum import SEQ_BITS, TS_BITS, Unwrapper

__all__ = ["LAYER_STALE_MS", "PLI_MIN_INTERVAL_MS", "Receiver", "RtcpSink"]

PLI_MIN_INTERVAL_MS = 500  # at most one keyframe request per layer per interval
LAYER_STALE_MS = 1000  # a layer with no packet for this long is not arriving
NACK_MAX_GAP = 64  # a longer run of missing packets asks for a keyframe instead of each packet
MAX_LAYERS = 3
_PID_BITS = 15
_TL0_BITS = 8

RtcpSink = Callable[[bytes], object]


def _discard(_: bytes) -> None:
    """Default upstream RTCP sink."""


class _Layer:
    """Ingress state of one simulcast layer."""

    __slots__ = ("buffer", "fanout", "highest", "last_arrival_ns", "last_pli_ns", "pid", "seq", "ssrc", "tl0", "ts")

    def __init__(self, buffer_capacity: int) -> None:
        self.buffer = PacketBuffer(buffer_capacity)
        self.seq = Unwrapper(SEQ_BITS)
        self.ts = Unwrapper(TS_BITS)
        self.pid = {7: Unwrapper(7), 15: Unwrapper(_PID_BITS)}
        self.tl0 = Unwrapper(_TL0_BITS)
        self.ssrc = -1
        self.highest = -1  # highest extended sequence number seen, to spot what the publisher's packets lack
        self.last_arrival_ns = -(1 << 62)
        self.last_pli_ns = -(1 << 62)
        self.fanout: tuple[DownTrack, ...] = ()


class Receiver:
    __slots__ = (
        "_audio_level_id",
        "_dirty",
        "_downtracks",
        "_layers",
        "_now_ns",
        "_sender_ssrc",
        "_upstream",
        "_video",
        "_vp8",
        "duplicates",
        "malformed",
        "nacks_sent",
        "plis_sent",
    )

    def __init__(
        self,
        *,
        kind: Literal["audio", "video"],
        layers: int = 1,
        vp8: bool = False,
        audio_level_id: int = 0,
        buffer_capacity: int = VIDEO_BUFFER_PACKETS,
        upstream: RtcpSink = _discard,
        sender_ssrc: int = 0,
        now_ns: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        """``kind``: only video tracks send keyframe requests upstream.

        ``vp8``: parse VP8 descriptors (keyframes, picture ids); otherwise every packet counts as a keyframe.

        ``audio_level_id``: the negotiated id of ``ssrc-audio-level``, 0 when not negotiated.
        ``upstream``: where keyframe requests for the publisher go.
        """
        if not 1 <= layers <= MAX_LAYERS:
            raise ValueError(f"1 to {MAX_LAYERS} layers")
        self._layers = [_Layer(buffer_capacity) for _ in range(layers)]
        self._video = kind == "video"
        self._vp8 = vp8
        self._audio_level_id = audio_level_id
        self._upstream = upstream
        self._sender_ssrc = sender_ssrc
        self._now_ns = now_ns
        self._downtracks: dict[DownTrack, None] = {}
        self._dirty = False
        self.malformed = 0
        self.duplicates = 0  # repeated packets, and packets older than the whole buffer
        self.nacks_sent = 0
        self.plis_sent = 0

    def receive(self, data: bytes, layer: int, arrival_ns: int) -> InboundPacket | None:
        """Take one decrypted RTP packet of ``layer`` and fan it out; None when dropped as malformed or repeated."""
        state = self._layers[layer]
        try:
            packet = self._annotate(RtpHeader.parse(data), layer, state, arrival_ns)
        except PacketError:
            self.malformed += 1
            return None
        if not state.buffer.add(packet):
            self.duplicates += 1
            return None
        state.last_arrival_ns = arrival_ns
        if packet.ext_seq > state.highest:
            if self._video and state.highest >= 0 and packet.ext_seq > state.highest + 1:
                self._missing(layer, state, state.highest + 1, packet.ext_seq)
            state.highest = packet.ext_seq
        if self._dirty:
            self._rebuild_fanout()
        if packet.payload_size:
            for downtrack in state.fanout:
                downtrack.write(packet)
        else:
            for downtrack in state.fanout:
                downtrack.skip(packet)
        return packet

    def _annotate(self, header: RtpHeader, layer: int, state: _Layer, arrival_ns: int) -> InboundPacket:
        start, end = header.payload_offset, header.payload_end
        state.ssrc = header.ssrc
        packet = InboundPacket(
            HEADROOM + memoryview(header.data)[start:end],
            end - start,
            layer,
            state.seq.unwrap(header.sequence_number),
            state.ts.unwrap(header.timestamp),
            arrival_ns,
            0x80 if header.marker else 0,
            True,
        )
        if self._vp8 and end > start:
            self._annotate_vp8(packet, header, state)
        if self._audio_level_id:
            raw = read_audio_level(header, self._audio_level_id)
            if raw >= 0:
                packet.audio_level = raw & 0x7F
                packet.voice = bool(raw & 0x80)
        return packet

    @staticmethod
    def _annotate_vp8(packet: InboundPacket, header: RtpHeader, state: _Layer) -> None:
        descriptor = Vp8Descriptor.parse(header.data, header.payload_offset, header.payload_end)
        shift = len(HEADROOM) - header.payload_offset  # data offset → frame offset
        packet.keyframe = descriptor.keyframe
        if descriptor.picture_id_bits:
            packet.pid_bits = descriptor.picture_id_bits
            packet.pid_offset = descriptor.picture_id_offset + shift
            packet.ext_pid = state.pid[descriptor.picture_id_bits].unwrap(descriptor.picture_id)
        if descriptor.tl0picidx_offset >= 0:
            packet.tl0_offset = descriptor.tl0picidx_offset + shift
            packet.ext_tl0 = state.tl0.unwrap(descriptor.tl0picidx)

    def add_downtrack(self, downtrack: DownTrack) -> None:
        self._downtracks[downtrack] = None
        self._dirty = True
        target = downtrack.forwarder.target
        if target is not None:
            self.request_keyframe(target)

    def remove_downtrack(self, downtrack: DownTrack) -> None:
        self._downtracks.pop(downtrack, None)
        self._dirty = True

    def update_fanout(self, downtrack: DownTrack) -> None:
        """A down-track's wanted layers changed; the fan-out lists are rebuilt before the next packet."""
        self._dirty = True

    def _rebuild_fanout(self) -> None:
        self._dirty = False
        wanted = {downtrack: downtrack.forwarder.wanted_layers for downtrack in self._downtracks}
        for index, state in enumerate(self._layers):
            state.fanout = tuple(downtrack for downtrack, layers in wanted.items() if index in layers)

    def available_layer(self, wanted: int, now_ns: int) -> int:
        """``wanted`` if it is arriving, else the best arriving layer below it, else the lowest arriving above.

        A publisher short of bandwidth (a browser with no estimate yet) sends only its low layers; forwarding what
        arrives beats waiting for a layer that may never come.
        """
        arriving = [index for index, state in enumerate(self._layers)
                    if now_ns - state.last_arrival_ns < LAYER_STALE_MS * 1_000_000]
        if not arriving or wanted in arriving:
            return wanted
        below = [index for index in arriving if index < wanted]
        return max(below) if below else min(arriving)

    def lookup(self, layer: int, ext_seq: int) -> InboundPacket | None:
        """A buffered packet, to answer a subscriber's NACK."""
        return self._layers[layer].buffer.get(ext_seq)

    def _missing(self, layer: int, state: _Layer, first: int, end: int) -> None:
        """Packets ``first`` to ``end - 1`` never came: NACK them upstream, or ask for a keyframe if too many."""
        if end - first > NACK_MAX_GAP:
            self.request_keyframe(layer)
            return
        self.nacks_sent += 1
        lost = tuple(seq & 0xFFFF for seq in range(first, end))
        self._upstream(bytes(Nack(self._sender_ssrc, state.ssrc, lost)))

    def request_keyframe(self, layer: int) -> None:
        """Send the publisher a PLI for ``layer`` of a video track, at most once per ``PLI_MIN_INTERVAL_MS``."""
        state = self._layers[layer]
        now = self._now_ns()
        if not self._video or state.ssrc < 0 or now - state.last_pli_ns < PLI_MIN_INTERVAL_MS * 1_000_000:
            return
        state.last_pli_ns = now
        self.plis_sent += 1
        self._upstream(bytes(Pli(self._sender_ssrc, state.ssrc)))
