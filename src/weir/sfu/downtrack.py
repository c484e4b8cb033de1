"""One subscribed track of one subscriber: applies the forwarder's decisions and answers the subscriber's RTCP.

Per packet: ask the forwarder, copy the frame (the one copy of the payload per subscriber), rewrite VP8 ids or
RED blocks in the copy, remember the packet in the sequencer, then write a 12-byte header carrying this
subscriber's SSRC, payload type and munged numbers into the copy's headroom, in front of the payload, and hand
the copy on. An ``ExtensionSink`` writes that header itself, with its extension block, in one ``pack_into``
(``send_forwarded``); any other sink gets the packet alone (the room in front of the header dropped, which moves
nothing). The publisher's header extensions are not forwarded.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from typing import Protocol

from weir.sfu.codecs import red
from weir.sfu.codecs.vp8 import write_ids
from weir.sfu.forwarder import Forwarder
from weir.sfu.headerext import ExtensionSink
from weir.sfu.munger import Munger, Segment
from weir.sfu.packet import EXTENSION_ROOM, HEADROOM, InboundPacket
from weir.sfu.rtcp import SenderReport
from weir.sfu.rtp import FIXED_HEADER, FIXED_HEADER_SIZE, write_fixed_header
from weir.sfu.rtx import RtxStream
from weir.sfu.selector import LayerSelector
from weir.sfu.seqnum import SEQ_BITS, unwrap_near
from weir.sfu.sequencer import SEQUENCER_PACKETS, Sequencer

__all__ = ["DownTrack", "PacketSink", "TrackSource", "rewrite_vp8"]

PacketSink = Callable[[bytearray], object]

PAYLOAD_AT = len(HEADROOM)  # where the payload starts in a frame and in its copy; the header ends there

NACK_INTERVAL_NS = 50_000_000
NACK_MAX_RESENDS = 4
NACK_GIVE_UP_NS = 1_000_000_000  # a packet is given up no sooner than this after its first resend
UNASKED_RESEND_NS = 2_000_000_000  # for this long after its first NACK, a packet is resent again unasked
NACK_FILLS = 2  # stand-ins sent for a packet given up on (one can be lost too)
_PADDING = bytes((0, 0, 0, 4))  # padding-only payload: its last octet counts the padding (RFC 3550 5.1)
_PADDING_BIT = 0x20
_TIMESTAMP_SEARCH = 16


class TrackSource(Protocol):
    """What a down-track needs from the receiver feeding it."""

    def lookup(self, layer: int, ext_seq: int) -> InboundPacket | None: ...

    def request_keyframe(self, layer: int) -> None: ...

    def nack(self, layer: int, ext_seqs: list[int]) -> None: ...

    def update_fanout(self, downtrack: DownTrack) -> None: ...


# A codec's rewrite of the copied payload; returns the header's second byte (marker, payload type), given the usual
Rewrite = Callable[[bytearray, InboundPacket, Segment, int], int]


def rewrite_vp8(buf: bytearray, packet: InboundPacket, seg: Segment, marker_pt: int) -> int:
    """VP8's rewrite: the picture id and TL0PICIDX in this subscriber's numbering, none while both offsets are 0
    (the native fan-out, weir.sfu.rtc.lanes, does the same in C; tests/sfu/test_lanes.py holds them equal)."""
    if not seg.pid_offset and not seg.tl0_offset:  # the copy carries the publisher's ids, which are ours
        return marker_pt
    write_ids(
        buf,
        packet.pid_offset,
        packet.pid_bits,
        packet.ext_pid - seg.pid_offset,
        packet.tl0_offset,
        packet.ext_tl0 - seg.tl0_offset,
    )
    return marker_pt


class DownTrack:
    __slots__ = (
        "_forward",
        "_munger",
        "_payload_type",
        "_resent",
        "_unconfirmed",
        "_rewrite",
        "_send_forwarded",
        "_sequencer",
        "_sink",
        "_source",
        "_ssrc",
        "forwarder",
        "gaps_filled",
        "nack_hits",
        "nack_misses",
        "nack_throttled",
        "octets_sent",
        "packets_sent",
        "plis_received",
        "rtx",
    )

    def __init__(
        self,
        source: TrackSource,
        sink: PacketSink,
        *,
        ssrc: int,
        payload_type: int,
        clock_rate: int,
        vp8: bool = False,
        target_layer: int | None = 0,
        start_seq: int | None = None,
        start_ts: int | None = None,
        sequencer_capacity: int = SEQUENCER_PACKETS,
    ) -> None:
        self._source = source
        self._sink = sink
        self._send_forwarded = sink.send_forwarded if isinstance(sink, ExtensionSink) else None
        self._ssrc = ssrc
        self._payload_type = payload_type
        self._rewrite: Rewrite | None = rewrite_vp8 if vp8 else None  # None: no ids to rewrite
        self._munger = Munger(clock_rate, start_seq, start_ts)
        self._sequencer = Sequencer(sequencer_capacity)
        self.forwarder = Forwarder(self._munger, LayerSelector(target_layer), self)
        self._forward = self.forwarder.forward
        self.packets_sent = 0
        self.octets_sent = 0  # payload octets, as an SR counts them
        self.nack_hits = 0
        self.nack_misses = 0
        self.nack_throttled = 0  # NACKed packets not resent: too soon after their last resend, or too often
        self.plis_received = 0
        self.gaps_filled = 0  # packets given up on, a padding-only packet sent in their place
        self._resent: dict[int, tuple[int, int, int]] = {}  # out_seq → (first resent at, last, times), for NACKs
        self._unconfirmed: set[int] = set()  # resent, and no later NACK has left them out
        self.rtx: RtxStream | None = None  # where the subscriber negotiated RTX, retransmissions go as RTX packets

    def write(self, packet: InboundPacket) -> None:
        """The hot path: one packet of a layer this down-track wants."""
        seg = self._forward(packet)
        if seg is None:
            return
        out_seq = packet.ext_seq - seg.seq_offset
        buf = bytearray(packet.frame)  # _build, inlined: this runs once per subscriber per packet
        marker_pt = packet.marker | self._payload_type
        if self._rewrite is not None:
            marker_pt = self._rewrite(buf, packet, seg, marker_pt)
        self._sequencer.push(out_seq, seg)
        self.packets_sent += 1
        self.octets_sent += packet.payload_size
        if self._send_forwarded is not None:
            self._send_forwarded(buf, marker_pt, out_seq, packet.ext_ts - seg.ts_offset, self._ssrc)
        else:  # write_fixed_header, inlined
            FIXED_HEADER.pack_into(buf, EXTENSION_ROOM, 0x80, marker_pt, out_seq & 0xFFFF,
                                   (packet.ext_ts - seg.ts_offset) & 0xFFFFFFFF, self._ssrc)
            del buf[:EXTENSION_ROOM]
            self._sink(buf)

    @property
    def wanted_layers(self) -> frozenset[int]:
        return self.forwarder.wanted_layers

    @property
    def target_layer(self) -> int | None:
        return self.forwarder.target

    def use_red(self, payload_type: int | None) -> None:
        """The track carries RED (RFC 2198): forward its RED packets whole under ``payload_type``, their blocks
        typed with this down-track's payload type (Opus), or, with None, only their primary block, as Opus."""
        rewrite_red = red.rewriter(payload_type is not None, self._payload_type)
        red_pt = self._payload_type if payload_type is None else payload_type

        def rewrite(buf: bytearray, packet: InboundPacket, seg: Segment, marker_pt: int) -> int:
            if packet.red_primary < 0:
                return marker_pt
            rewrite_red(buf, PAYLOAD_AT, packet.red_primary)
            return packet.marker | red_pt

        self._rewrite = rewrite

    def skip(self, packet: InboundPacket) -> None:
        """A padding-only packet of a layer this down-track wants."""
        self.forwarder.skip(packet)

    def _build(self, packet: InboundPacket, seg: Segment, out_seq: int) -> bytearray:
        """The packet as sent under ``seg``, without extensions (retransmissions; ``write`` has it inline)."""
        buf = bytearray(packet.frame)
        marker_pt = packet.marker | self._payload_type
        if self._rewrite is not None:
            marker_pt = self._rewrite(buf, packet, seg, marker_pt)
        write_fixed_header(buf, marker_pt, out_seq, packet.ext_ts - seg.ts_offset, self._ssrc, EXTENSION_ROOM)
        del buf[:EXTENSION_ROOM]
        return buf

    def handle_nack(self, lost: Iterable[int], now_ns: int = 0) -> int:
        """Resend the packets a subscriber's NACK names, from the publisher's buffer (as RTX packets where the
        subscriber negotiated RTX); returns how many. A packet goes again at most ``NACK_MAX_RESENDS`` times and
        not within ``NACK_INTERVAL_NS`` of its last resend: a client that names every packet it still lacks in
        each NACK (aiortc does) would otherwise have the same packets sent over and over, a storm that keeps a
        narrow path lossy long after the loss that started it. One the SFU never got is asked of the publisher
        again instead. A packet still lacking after that many tries, and ``NACK_GIVE_UP_NS`` after the first, is
        given up: ``_fill`` stands in for it if the SFU has no copy (else the copy goes, at most ``NACK_FILLS``
        more times). Not sooner, and never over a copy: a busy client names packets whose resends are on their
        way, and a stand-in that arrives after the packet itself replaces it in aiortc's jitter buffer."""
        reference = self._munger.last_out_seq
        resent = 0
        history = self._resent
        upstream: dict[int, list[int]] = {}
        named = [unwrap_near(seq, reference, SEQ_BITS) for seq in lost]
        # a NACK names every packet its sender still lacks (aiortc's does): those it leaves out have come
        self._unconfirmed.intersection_update(named)
        for out_seq in named:
            first_at, last_at, times = history.get(out_seq) or (now_ns, -NACK_INTERVAL_NS, 0)
            if (times >= NACK_MAX_RESENDS + NACK_FILLS or now_ns - last_at < NACK_INTERVAL_NS
                    or times >= NACK_MAX_RESENDS and now_ns - first_at < NACK_GIVE_UP_NS):
                self.nack_throttled += 1
                continue
            if out_seq > reference or out_seq <= reference - SEQUENCER_PACKETS:
                self.nack_misses += 1  # never sent, or long forgotten
                continue
            history[out_seq] = (first_at, now_ns, times + 1)
            self._unconfirmed.add(out_seq)
            if times < NACK_MAX_RESENDS:
                resent += self._resend(out_seq, upstream)
            elif self._resend(out_seq, {}):  # given up, but a real copy is as good as a stand-in, and safe
                resent += 1
            else:
                self._fill(out_seq)
        for layer, ext_seqs in upstream.items():
            self._source.nack(layer, ext_seqs)
        if len(history) > SEQUENCER_PACKETS:  # forget the oldest half (insertion order)
            for key in list(itertools.islice(history, len(history) // 2)):
                del history[key]
        self.nack_hits += resent
        return resent

    def _resend(self, out_seq: int, upstream: dict[int, list[int]]) -> bool:
        """Resend ``out_seq`` from the publisher's buffer; False if it is not there (then added to ``upstream``,
        by layer, when the SFU knows which of the publisher's packets it is)."""
        found = self._sequencer.lookup(out_seq)
        if found is None:
            seg = self._munger.segment_of(out_seq)
            found = None if seg is None else (out_seq + seg.seq_offset, seg)
        packet = None if found is None else self._source.lookup(found[1].layer, found[0])
        if found is None or packet is None:
            self.nack_misses += 1
            if found is not None:
                upstream.setdefault(found[1].layer, []).append(found[0])
            return False
        buf = self._build(packet, found[1], out_seq)
        self._sink(buf if self.rtx is None else self.rtx.wrap(buf))
        return True

    def resend_unasked(self, now_ns: int) -> int:
        """Once an assessment: resend once more each packet resent that no later NACK has left out, first NACKed
        within ``UNASKED_RESEND_NS``, not resent for ``NACK_INTERVAL_NS`` nor given up; returns how many went.

        aiortc NACKs only when it sees a new gap: when the loss stops, a packet whose last resend (or NACK) was
        lost is never asked for again, and its gap holds every later frame until 512 more packets have come
        (8-17 s). A resend the subscriber did not need is a duplicate it drops."""
        resent = 0
        upstream: dict[int, list[int]] = {}
        for out_seq in list(self._unconfirmed):
            first_at, last_at, times = self._resent.get(out_seq) or (-UNASKED_RESEND_NS, 0, 0)
            if now_ns - first_at >= UNASKED_RESEND_NS or times >= NACK_MAX_RESENDS:
                self._unconfirmed.discard(out_seq)
            elif now_ns - last_at >= NACK_INTERVAL_NS:
                self._resent[out_seq] = (first_at, now_ns, times + 1)
                resent += self._resend(out_seq, upstream)
        for layer, ext_seqs in upstream.items():
            self._source.nack(layer, ext_seqs)
        self.nack_hits += resent
        return resent

    def _fill(self, out_seq: int) -> None:
        """Send a padding-only packet as ``out_seq``, which the subscriber will not get, and ask for a keyframe.

        A receiver's jitter buffer may hold every later frame until the gap closes: aiortc's waits until 512 more
        packets have come, 8-17 s at the low layers, before it drops what it holds and asks for a keyframe. The
        stand-in closes the gap at once (with the timestamp of the packet before it, so that frame is left whole)
        and the keyframe repairs what the lost packet's frame broke. It must never make up a frame on its own:
        aiortc hands an empty frame to its decoder as an end of stream, after which that decoder fails on every
        frame, keyframes included, for good."""
        self.gaps_filled += 1
        timestamp = self._timestamp_near(out_seq)
        buf = bytearray(FIXED_HEADER_SIZE + len(_PADDING))
        write_fixed_header(buf, self._payload_type, out_seq, timestamp, self._ssrc)
        buf[0] |= _PADDING_BIT
        buf[FIXED_HEADER_SIZE:] = _PADDING
        self._sink(buf)
        layer = self.forwarder.current
        if layer is not None:
            self._source.request_keyframe(layer)

    def _timestamp_near(self, out_seq: int) -> int:
        """The outgoing timestamp of the nearest earlier packet still known, else of the latest one sent."""
        for earlier in range(out_seq - 1, out_seq - _TIMESTAMP_SEARCH, -1):
            found = self._sequencer.lookup(earlier)
            packet = None if found is None else self._source.lookup(found[1].layer, found[0])
            if found is not None and packet is not None:
                return packet.ext_ts - found[1].ts_offset
        return self._munger.last_out_ts

    def sender_report(self, ntp_timestamp: int, rtp_timestamp: int, layer: int) -> SenderReport | None:
        """This down-track's SR for the publisher's SR of ``layer``: the same wall-clock instant, its RTP time in
        this subscriber's numbering (the offset works on the 32-bit value as on the unwrapped one), and this
        down-track's counts; None unless ``layer`` is the one being forwarded."""
        seg = self._munger.segment
        if seg is None or self.forwarder.current != layer:
            return None
        return SenderReport(
            self._ssrc, ntp_timestamp, (rtp_timestamp - seg.ts_offset) & 0xFFFFFFFF, self.packets_sent & 0xFFFFFFFF,
            self.octets_sent & 0xFFFFFFFF,
        )

    def handle_pli(self) -> None:
        """The subscriber lost its picture: ask the publisher for a keyframe of the layer being forwarded."""
        self.plis_received += 1
        layer = self.forwarder.current
        if layer is not None:
            self._source.request_keyframe(layer)

    def set_target_layer(self, layer: int | None) -> None:
        """Aim at ``layer`` (switching on its next keyframe); None pauses the track, which then costs nothing."""
        self.forwarder.set_target(layer)

    def on_layers_changed(self) -> None:
        self._source.update_fanout(self)

    def on_keyframe_needed(self, layer: int) -> None:
        self._source.request_keyframe(layer)
