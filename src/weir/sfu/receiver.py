"""One published track: per-layer ingress (parse, unwrap, annotate, buffer) and fan-out to its down-tracks.

Each inbound packet is parsed once into an ``InboundPacket`` and handed only to the down-tracks that want its
layer (their forwarder's current or target layer). Those per-layer lists are tuples rebuilt after a change,
never per packet, so a paused down-track, or one on another layer, costs nothing.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Literal, Protocol

from weir.sfu.audiolevel import read_audio_level
from weir.sfu.codecs import KeyframeDetector
from weir.sfu.codecs.red import primary_offset
from weir.sfu.codecs.vp8 import Vp8Descriptor
from weir.sfu.errors import PacketError
from weir.sfu.packet import HEADROOM, InboundPacket
from weir.sfu.packetbuffer import VIDEO_BUFFER_PACKETS, PacketBuffer
from weir.sfu.rtcp import Nack, Pli
from weir.sfu.rtp import RtpHeader
from weir.sfu.rtx import OSN_SIZE, original_sequence_number
from weir.sfu.seqnum import SEQ_BITS, TS_BITS, Unwrapper

__all__ = ["LAYER_STALE_MS", "PLI_MIN_INTERVAL_MS", "FanOut", "FanoutMember", "Receiver", "RtcpSink", "write_each"]

PLI_MIN_INTERVAL_MS = 500  # at most one keyframe request per layer per interval
LAYER_STALE_MS = 1000  # a layer with no packet for this long is not arriving
NACK_MAX_GAP = 64  # a longer run of missing packets asks for a keyframe instead of each packet
RENACK_INTERVAL_NS = 50_000_000  # a packet subscribers still lack is asked of the publisher again at most this often
MAX_LAYERS = 3
_PID_BITS = 15
_TL0_BITS = 8

RtcpSink = Callable[[bytes], object]


def _discard(_: bytes) -> None:
    """Default upstream RTCP sink."""


class FanoutMember(Protocol):
    """What a receiver fans packets out to: a subscriber's ``DownTrack``, or a relay toward another SFU."""

    @property
    def wanted_layers(self) -> frozenset[int]:
        """The layers whose packets it must see."""
        ...

    @property
    def target_layer(self) -> int | None: ...

    def write(self, packet: InboundPacket) -> None: ...

    def skip(self, packet: InboundPacket) -> None: ...


WantedSink = Callable[[frozenset[int]], object]
FanOut = Callable[[InboundPacket, tuple[FanoutMember, ...]], object]


def write_each(packet: InboundPacket, members: tuple[FanoutMember, ...]) -> None:
    """The fan-out in Python: each member writes the packet. ``weir.sfu.rtc.lanes.fan_out`` does the same in one
    C call, writing the common case's down-tracks itself."""
    for member in members:
        member.write(packet)


def _ignore_wanted(_: frozenset[int]) -> None:
    """Default: nobody needs to hear which layers the fan-out wants."""


class _Layer:
    """Ingress state of one simulcast layer."""

    __slots__ = ("buffer", "fanout", "highest", "last_arrival_ns", "last_pli_ns", "octets", "packets", "pid",
                 "renacked", "seq", "ssrc", "tl0", "ts")

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
        self.renacked: dict[int, int] = {}  # ext_seq → when subscribers' NACKs last had it asked for again
        self.packets = 0  # packets and payload octets received, for rate and loss (weir.sfu.bwe.LayerMeter)
        self.octets = 0
        self.fanout: tuple[FanoutMember, ...] = ()


class Receiver:
    __slots__ = (
        "_audio_level_id",
        "_dirty",
        "_downtracks",
        "_fan_out",
        "_keyframe",
        "_layers",
        "_now_ns",
        "_on_wanted",
        "_red_payload_type",
        "_reported",
        "_sender_ssrc",
        "_upstream",
        "_video",
        "_vp8",
        "duplicates",
        "malformed",
        "nacks_sent",
        "plis_sent",
        "rtx_received",
        "rtx_repaired",
    )

    def __init__(
        self,
        *,
        kind: Literal["audio", "video"],
        layers: int = 1,
        vp8: bool = False,
        keyframe: KeyframeDetector | None = None,
        audio_level_id: int = 0,
        red_payload_type: int = -1,
        buffer_capacity: int = VIDEO_BUFFER_PACKETS,
        upstream: RtcpSink = _discard,
        sender_ssrc: int = 0,
        now_ns: Callable[[], int] = time.monotonic_ns,
        on_wanted: WantedSink = _ignore_wanted,
        fan_out: FanOut = write_each,
    ) -> None:
        """``kind``: only video tracks send keyframe requests upstream.

        ``vp8``: parse VP8 descriptors (keyframes, picture ids). ``keyframe``: tells the keyframes of another codec
        (``codecs.KEYFRAME_DETECTORS``). With neither, every packet counts as a keyframe.

        ``audio_level_id``: the negotiated id of ``ssrc-audio-level``, 0 when not negotiated.
        ``red_payload_type``: packets of this payload type are RED (RFC 2198); -1 when RED is not negotiated.
        ``upstream``: where keyframe requests for the publisher go.
        ``on_wanted``: told the layers the fan-out wants whenever a member joins, leaves or changes its layers
        (a relayed track asks the SFU it comes from for just those).
        ``fan_out``: hands each packet to the members of its layer (``weir.sfu.rtc.lanes.fan_out``: in C).
        """
        if not 1 <= layers <= MAX_LAYERS:
            raise ValueError(f"1 to {MAX_LAYERS} layers")
        self._layers = [_Layer(buffer_capacity) for _ in range(layers)]
        self._video = kind == "video"
        self._vp8 = vp8
        self._keyframe = keyframe
        self._audio_level_id = audio_level_id
        self._red_payload_type = red_payload_type
        self._upstream = upstream
        self._sender_ssrc = sender_ssrc
        self._now_ns = now_ns
        self._on_wanted = on_wanted
        self._fan_out = fan_out
        self._reported: tuple[int, frozenset[int]] = (-(1 << 62), frozenset())
        self._downtracks: dict[FanoutMember, None] = {}
        self._dirty = False
        self.malformed = 0
        self.duplicates = 0  # repeated packets, and packets older than the whole buffer
        self.nacks_sent = 0
        self.plis_sent = 0
        self.rtx_received = 0
        self.rtx_repaired = 0  # RTX packets that brought a missing packet

    def receive(self, data: bytes, layer: int, arrival_ns: int) -> InboundPacket | None:
        """Take one decrypted RTP packet of ``layer`` and fan it out; None when dropped as malformed or repeated."""
        state = self._layers[layer]
        try:
            header = RtpHeader.parse(data)
            packet = self._annotate(header, layer, state, arrival_ns, header.sequence_number, header.payload_offset)
        except PacketError:
            self.malformed += 1
            return None
        state.ssrc = header.ssrc
        return self._deliver(packet, layer, state, arrival_ns)

    def receive_rtx(self, data: bytes, layer: int, arrival_ns: int) -> InboundPacket | None:
        """Take one decrypted RTX packet repairing ``layer``: the original it carries goes on as if it had come
        late; None when malformed, already had, or padding only (a bandwidth probe)."""
        state = self._layers[layer]
        try:
            header = RtpHeader.parse(data)
            start = header.payload_offset
            padding_only = header.payload_end == start  # not even an OSN
            packet = None if padding_only else self._annotate(
                header, layer, state, arrival_ns, original_sequence_number(header), start + OSN_SIZE
            )
        except PacketError:
            self.malformed += 1
            return None
        self.rtx_received += 1
        if packet is None or not packet.payload_size:
            return None
        delivered = self._deliver(packet, layer, state, arrival_ns)
        if delivered is not None:
            self.rtx_repaired += 1
        return delivered

    def _deliver(self, packet: InboundPacket, layer: int, state: _Layer, arrival_ns: int) -> InboundPacket | None:
        """Buffer ``packet``, NACK what came before it that is missing, and fan it out."""
        if not state.buffer.add(packet):
            self.duplicates += 1
            return None
        state.last_arrival_ns = arrival_ns
        state.packets += 1
        state.octets += packet.payload_size
        if packet.ext_seq > state.highest:
            if self._video and state.highest >= 0 and packet.ext_seq > state.highest + 1:
                self._missing(layer, state, state.highest + 1, packet.ext_seq)
            state.highest = packet.ext_seq
        if self._dirty:
            self._rebuild_fanout()
        if packet.payload_size:
            self._fan_out(packet, state.fanout)
        else:
            for downtrack in state.fanout:
                downtrack.skip(packet)
        return packet

    def _annotate(
        self, header: RtpHeader, layer: int, state: _Layer, arrival_ns: int, seq: int, start: int
    ) -> InboundPacket:
        """``header``'s packet, numbered ``seq``, its payload from ``start`` (behind an RTX packet's OSN)."""
        end = header.payload_end
        packet = InboundPacket(
            HEADROOM + memoryview(header.data)[start:end],
            end - start,
            layer,
            state.seq.unwrap(seq),
            state.ts.unwrap(header.timestamp),
            arrival_ns,
            0x80 if header.marker else 0,
            True,
        )
        if end > start:
            if self._vp8:
                self._annotate_vp8(packet, header.data, start, end, state)
            elif self._keyframe is not None:
                packet.keyframe = self._keyframe(header.data, start, end)
            if header.payload_type == self._red_payload_type:
                packet.red_primary = primary_offset(header.data, start, end) + len(HEADROOM) - start
        if self._audio_level_id:
            raw = read_audio_level(header, self._audio_level_id)
            if raw >= 0:
                packet.audio_level = raw & 0x7F
                packet.voice = bool(raw & 0x80)
        return packet

    @staticmethod
    def _annotate_vp8(packet: InboundPacket, data: bytes, start: int, end: int, state: _Layer) -> None:
        descriptor = Vp8Descriptor.parse(data, start, end)
        shift = len(HEADROOM) - start  # data offset → frame offset
        packet.keyframe = descriptor.keyframe
        if descriptor.picture_id_bits:
            packet.pid_bits = descriptor.picture_id_bits
            packet.pid_offset = descriptor.picture_id_offset + shift
            packet.ext_pid = state.pid[descriptor.picture_id_bits].unwrap(descriptor.picture_id)
        if descriptor.tl0picidx_offset >= 0:
            packet.tl0_offset = descriptor.tl0picidx_offset + shift
            packet.ext_tl0 = state.tl0.unwrap(descriptor.tl0picidx)

    def add_downtrack(self, downtrack: FanoutMember) -> None:
        self._downtracks[downtrack] = None
        self._fanout_changed()
        target = downtrack.target_layer
        if target is not None:
            self.request_keyframe(target)

    def remove_downtrack(self, downtrack: FanoutMember) -> None:
        self._downtracks.pop(downtrack, None)
        self._fanout_changed()

    def update_fanout(self, downtrack: FanoutMember) -> None:
        """A down-track's wanted layers changed; the fan-out lists are rebuilt before the next packet."""
        self._fanout_changed()

    def _fanout_changed(self) -> None:
        self._dirty = True
        self._on_wanted(self.wanted_layers())

    def wanted_layers(self) -> frozenset[int]:
        """Every layer some member of the fan-out wants."""
        return frozenset().union(*(downtrack.wanted_layers for downtrack in self._downtracks))

    def _rebuild_fanout(self) -> None:
        self._dirty = False
        wanted = {downtrack: downtrack.wanted_layers for downtrack in self._downtracks}
        for index, state in enumerate(self._layers):
            state.fanout = tuple(downtrack for downtrack, layers in wanted.items() if index in layers)

    def available_layer(self, wanted: int, now_ns: int) -> int:
        """``wanted`` if it is arriving, else the best arriving layer below it, else the lowest arriving above.

        A publisher short of bandwidth (a browser with no estimate yet) sends only its low layers; forwarding what
        arrives beats waiting for a layer that may never come.
        """
        arriving = self.arriving_layers(now_ns)
        if not arriving or wanted in arriving:
            return wanted
        below = [index for index in arriving if index < wanted]
        return max(below) if below else min(arriving)

    def arriving_layers(self, now_ns: int) -> list[int]:
        """The layers the publisher is sending: those that arrived lately, or, for a track relayed from another
        SFU (which sends only the layers asked for), what that SFU last reported arriving there."""
        at_ns, reported = self._reported
        if now_ns - at_ns < LAYER_STALE_MS * 1_000_000:
            return sorted(reported)
        return [index for index, state in enumerate(self._layers)
                if now_ns - state.last_arrival_ns < LAYER_STALE_MS * 1_000_000]

    def report_arrivals(self, layers: frozenset[int], now_ns: int) -> None:
        """The SFU this track is relayed from says these layers arrive there (``arriving_layers``)."""
        self._reported = now_ns, layers

    def counters(self) -> list[tuple[int, int, int]]:
        """Per layer: packets and payload octets received, and the highest extended sequence number seen."""
        return [(state.packets, state.octets, state.highest) for state in self._layers]

    @property
    def ssrcs(self) -> list[int]:
        """The publisher's SSRC of each layer seen so far."""
        return [state.ssrc for state in self._layers if state.ssrc >= 0]

    def lookup(self, layer: int, ext_seq: int) -> InboundPacket | None:
        """A buffered packet, to answer a subscriber's NACK."""
        return self._layers[layer].buffer.get(ext_seq)

    def nack(self, layer: int, ext_seqs: list[int]) -> None:
        """A subscriber asks for packets of ``layer`` that never came: NACK those still missing upstream again
        (the first NACK or its retransmission may have been lost too), each at most once per NACK interval."""
        state = self._layers[layer]
        now = self._now_ns()
        asked = state.renacked
        due = [seq for seq in ext_seqs
               if state.highest - NACK_MAX_GAP <= seq < state.highest and state.buffer.get(seq) is None
               and now - asked.get(seq, -(1 << 62)) >= RENACK_INTERVAL_NS]
        if not due or state.ssrc < 0:
            return
        for seq in due:
            asked[seq] = now
        if len(asked) > NACK_MAX_GAP:  # forget the oldest half (insertion order)
            for key in list(itertools.islice(asked, len(asked) // 2)):
                del asked[key]
        self.nacks_sent += 1
        self._upstream(bytes(Nack(self._sender_ssrc, state.ssrc, tuple(seq & 0xFFFF for seq in due))))

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
