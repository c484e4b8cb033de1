"""Per-down-track memory of what was sent: outgoing ``ext_seq`` → munger segment, hence source ``ext_seq``.

It answers a subscriber's NACK: the segment names the source layer (whose ``PacketBuffer`` holds the packet)
and the offsets to rewrite it with again, so a retransmission is byte for byte what was first sent. The source
number is the outgoing one plus the segment's sequence offset, so it is not stored.
"""

from __future__ import annotations

from weir.sfu.munger import Segment

__all__ = ["SEQUENCER_PACKETS", "Sequencer"]

SEQUENCER_PACKETS = 512
_EMPTY = -(1 << 63)


class Sequencer:
    __slots__ = ("_keys", "_mask", "_segments")

    def __init__(self, capacity: int = SEQUENCER_PACKETS) -> None:
        if capacity <= 0 or capacity & (capacity - 1):
            raise ValueError("capacity must be a power of two")
        self._mask = capacity - 1
        self._keys = [_EMPTY] * capacity
        self._segments: list[Segment | None] = [None] * capacity

    def push(self, out_seq: int, segment: Segment) -> None:
        """``out_seq`` was sent under ``segment``."""
        index = out_seq & self._mask
        self._keys[index] = out_seq
        self._segments[index] = segment

    def lookup(self, out_seq: int) -> tuple[int, Segment] | None:
        """(source ext_seq, segment) of a packet sent as ``out_seq``, or None when forgotten or never sent."""
        index = out_seq & self._mask
        segment = self._segments[index]
        if self._keys[index] != out_seq or segment is None:
            return None
        return out_seq + segment.seq_offset, segment
