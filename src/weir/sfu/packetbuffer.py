"""The NACK buffer: the last packets of one inbound stream, by ``ext_seq``, in a fixed ring.

Memory is bounded by ``capacity`` packets; a slot holds the newest packet whose ``ext_seq`` maps to it, so a
lookup either finds exactly the packet asked for or misses.
"""

from __future__ import annotations

from weir.sfu.packet import InboundPacket

__all__ = ["AUDIO_BUFFER_PACKETS", "VIDEO_BUFFER_PACKETS", "PacketBuffer"]

VIDEO_BUFFER_PACKETS = 1024  # ~3 s of a 2.5 Mbit/s layer
AUDIO_BUFFER_PACKETS = 128  # ~2.5 s of 20 ms Opus frames
_EMPTY = -(1 << 63)


class PacketBuffer:
    __slots__ = ("_keys", "_mask", "_packets")

    def __init__(self, capacity: int = VIDEO_BUFFER_PACKETS) -> None:
        if capacity <= 0 or capacity & (capacity - 1):
            raise ValueError("capacity must be a power of two")
        self._mask = capacity - 1
        self._keys = [_EMPTY] * capacity
        self._packets: list[InboundPacket | None] = [None] * capacity

    @property
    def capacity(self) -> int:
        return self._mask + 1

    def add(self, packet: InboundPacket) -> bool:
        """Keep ``packet``; False for a duplicate, or one older than the packet already in its slot."""
        ext_seq = packet.ext_seq
        index = ext_seq & self._mask
        if self._keys[index] >= ext_seq:
            return False
        self._keys[index] = ext_seq
        self._packets[index] = packet
        return True

    def get(self, ext_seq: int) -> InboundPacket | None:
        index = ext_seq & self._mask
        if self._keys[index] != ext_seq:
            return None
        return self._packets[index]
