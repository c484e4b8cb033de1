"""Per-down-track rewriting of sequence numbers, timestamps and VP8 ids, continuous across switches and pauses.

A subscriber must see one stream: sequence numbers that go up by one, timestamps that follow the clock, picture
ids that count frames, whatever layer is being forwarded and however long the track was paused. The munger keeps
that promise with a ``Segment``: offsets that turn a source ``ext_`` number into the outgoing one by subtraction.

- In order: the packet uses the current segment; a gap in the source (upstream loss) stays a gap, so the
  subscriber NACKs it and the retransmission, arriving late, fills it.
- Late (reordered or retransmitted): the packet uses the segment that was current when its number went by;
  older than the kept history, or from before a switch, it is dropped.
- Skipped (padding the SFU does not forward): the following packets use a new segment whose sequence offset is
  one more, so no hole is left. Possible only for the packet right after the highest one.
- Rebased (first packet, layer switch, resume): a new segment continues from the last packet sent: sequence
  number +1, timestamp + the arrival-time gap in clock ticks (at least 1), picture id and TL0PICIDX +1.

A ``Segment`` is immutable and made only on skip or rebase, so a forwarded packet allocates nothing here.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from weir.sfu.packet import InboundPacket

__all__ = ["SEGMENT_HISTORY", "Munger", "Segment"]

SEGMENT_HISTORY = 16  # segments kept for late packets
_NS_PER_SECOND = 1_000_000_000


@dataclass(frozen=True, slots=True)
class Segment:
    """Offsets for source packets from ``start`` on: outgoing = source ``ext_`` number - offset."""

    layer: int
    start: int  # first source ext_seq these offsets apply to
    seq_offset: int
    ts_offset: int
    pid_offset: int = 0  # VP8 picture id; 0 for codecs without one
    tl0_offset: int = 0  # VP8 TL0PICIDX


class Munger:
    __slots__ = ("_clock_rate", "_history", "_last", "_last_seq", "_start_seq", "_start_ts", "segment")

    segment: Segment | None

    def __init__(self, clock_rate: int, start_seq: int | None = None, start_ts: int | None = None) -> None:
        """``start_seq`` and ``start_ts`` are the first outgoing numbers; random by default (RFC 3550 5.1)."""
        self._clock_rate = clock_rate
        self._start_seq = random.getrandbits(15) if start_seq is None else start_seq
        self._start_ts = random.getrandbits(31) if start_ts is None else start_ts
        self.segment = None
        self._history: list[Segment] = []
        self._last: InboundPacket | None = None  # highest packet forwarded
        self._last_seq = 0  # highest source ext_seq seen in the current layer, forwarded or skipped

    @property
    def last_out_seq(self) -> int:
        """The outgoing ext_seq of the highest packet handled so far (start_seq - 1 before any)."""
        if self.segment is None:
            return self._start_seq - 1
        return self._last_seq - self.segment.seq_offset

    @property
    def last_out_ts(self) -> int:
        """The outgoing timestamp of the highest packet forwarded (start_ts before any)."""
        if self._last is None or self.segment is None:
            return self._start_ts
        return self._last.ext_ts - self.segment.ts_offset

    def rebase(self, packet: InboundPacket) -> Segment:
        """Start a new segment at ``packet`` (the first one, or a new layer, or after a pause)."""
        last, seg = self._last, self.segment
        out_seq, out_ts = self._start_seq, self._start_ts
        pid_offset = tl0_offset = 0
        if last is not None and seg is not None:
            out_seq = self._last_seq - seg.seq_offset + 1
            ticks = (packet.arrival_ns - last.arrival_ns) * self._clock_rate // _NS_PER_SECOND
            out_ts = last.ext_ts - seg.ts_offset + max(ticks, 1)
            if packet.ext_pid >= 0 and last.ext_pid >= 0:
                pid_offset = packet.ext_pid - (last.ext_pid - seg.pid_offset + 1)
            if packet.ext_tl0 >= 0 and last.ext_tl0 >= 0:
                tl0_offset = packet.ext_tl0 - (last.ext_tl0 - seg.tl0_offset + 1)
        new = Segment(
            packet.layer, packet.ext_seq, packet.ext_seq - out_seq, packet.ext_ts - out_ts, pid_offset, tl0_offset
        )
        self.segment = new
        self._history = [new]
        self._last = packet
        self._last_seq = packet.ext_seq
        return new

    def translate(self, packet: InboundPacket) -> Segment | None:
        """The segment for a packet of the current layer, or None when it is too old to place."""
        ext_seq = packet.ext_seq
        if ext_seq > self._last_seq:
            self._last = packet
            self._last_seq = ext_seq
            return self.segment
        for seg in reversed(self._history):
            if ext_seq >= seg.start:
                return seg
        return None

    def segment_of(self, out_seq: int) -> Segment | None:
        """The segment an outgoing ``out_seq`` falls under (sent or not), None if before the remembered ones."""
        for seg in reversed(self._history):
            if out_seq + seg.seq_offset >= seg.start:
                return seg
        return None

    def skip(self, packet: InboundPacket) -> None:
        """``packet`` of the current layer will not be forwarded: close the gap it would leave, if it can."""
        ext_seq = packet.ext_seq
        seg = self.segment
        if seg is None or ext_seq <= self._last_seq:
            return
        if ext_seq == self._last_seq + 1:
            new = Segment(seg.layer, ext_seq + 1, seg.seq_offset + 1, seg.ts_offset, seg.pid_offset, seg.tl0_offset)
            if seg.start == ext_seq:  # nothing was forwarded under ``seg``: replace it
                self._history[-1] = new
            else:
                self._history.append(new)
                del self._history[:-SEGMENT_HISTORY]
            self.segment = new
        self._last_seq = ext_seq
