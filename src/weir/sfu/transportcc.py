"""Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01): RTCP RTPFB
FMT 15, in which a subscriber says which transport-wide sequence numbers arrived, and when.

After the two SSRCs: the base sequence number and how many packets follow from it, a 24-bit reference time
(multiples of 64 ms, the receiver's clock) and a feedback counter; then 16-bit packet status chunks, either a
run (one status for up to 8191 packets) or a vector (14 one-bit or 7 two-bit statuses); then one receive delta
per received packet, in 250 µs ticks from the previous one (the first from the reference time): one unsigned
byte for a "small" status, two signed bytes for a "large" one. ``TransportCc`` holds the deltas in sequence
order, None for a packet that did not arrive; ``parse`` raises ``RtcpError`` for anything malformed.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from weir.sfu.errors import RtcpError

__all__ = ["DELTA_US", "REFERENCE_US", "TransportCc"]

DELTA_US = 250  # one receive delta tick
REFERENCE_US = 64_000  # one reference time tick
PT_RTPFB = 205
FMT_TRANSPORT_CC = 15
NOT_RECEIVED, SMALL, LARGE = 0, 1, 2
MAX_RUN = 0x1FFF
MIN_RUN = 7  # shorter runs go into vectors
_HEAD = struct.Struct("!IIHHI")  # sender SSRC, media SSRC, base sequence, status count, reference time + count
_CHUNK = struct.Struct("!H")
_LARGE = struct.Struct("!h")


def _status(delta: int | None) -> int:
    return NOT_RECEIVED if delta is None else SMALL if 0 <= delta <= 0xFF else LARGE


@dataclass(frozen=True, slots=True)
class TransportCc:
    sender_ssrc: int
    media_ssrc: int
    base_sequence: int
    reference_time: int  # 24 bits, in REFERENCE_US ticks
    feedback_count: int  # 8 bits, one more per feedback packet the receiver sent
    deltas: tuple[int | None, ...]  # per packet from base_sequence: receive delta in DELTA_US ticks, or None

    @classmethod
    def parse(cls, data: bytes, start: int, end: int) -> TransportCc:
        if start + _HEAD.size > end:
            raise RtcpError("transport-cc feedback is truncated")
        sender, media, base, count, reference = _HEAD.unpack_from(data, start)
        pos = start + _HEAD.size
        statuses: list[int] = []
        while len(statuses) < count:
            if pos + 2 > end:
                raise RtcpError("transport-cc status chunks are truncated")
            (chunk,) = _CHUNK.unpack_from(data, pos)
            pos += 2
            if not chunk & 0x8000:  # a run
                statuses += [chunk >> 13 & 3] * (chunk & MAX_RUN)
            elif chunk & 0x4000:  # seven two-bit statuses
                statuses += [chunk >> shift & 3 for shift in range(12, -1, -2)]
            else:  # fourteen one-bit statuses
                statuses += [chunk >> shift & 1 for shift in range(13, -1, -1)]
        del statuses[count:]
        deltas: list[int | None] = []
        for status in statuses:
            if status == NOT_RECEIVED:
                deltas.append(None)
            elif status == SMALL:
                if pos + 1 > end:
                    raise RtcpError("transport-cc receive deltas are truncated")
                deltas.append(data[pos])
                pos += 1
            elif status == LARGE:
                if pos + 2 > end:
                    raise RtcpError("transport-cc receive deltas are truncated")
                deltas.append(_LARGE.unpack_from(data, pos)[0])
                pos += 2
            else:
                raise RtcpError("transport-cc packet status 3 is reserved")
        return cls(sender, media, base, reference >> 8, reference & 0xFF, tuple(deltas))

    def __bytes__(self) -> bytes:
        """Runs where at least ``MIN_RUN`` statuses repeat, vectors elsewhere (one-bit where they suffice)."""
        if len(self.deltas) > 0xFFFF:
            raise ValueError("at most 65535 packets in one transport-cc feedback")
        if any(delta is not None and not -0x8000 <= delta <= 0x7FFF for delta in self.deltas):
            raise ValueError("a transport-cc receive delta is a signed 16-bit number of ticks")
        statuses = [_status(delta) for delta in self.deltas]
        chunks = []
        index, total = 0, len(statuses)
        while index < total:
            status = statuses[index]
            run = 1
            while index + run < total and run < MAX_RUN and statuses[index + run] == status:
                run += 1
            if run >= MIN_RUN or index + run == total:
                chunks.append(status << 13 | run)
                index += run
            elif LARGE not in statuses[index : index + 14]:
                chunks.append(0x8000 | sum(s << (13 - i) for i, s in enumerate(statuses[index : index + 14])))
                index += 14
            else:
                chunks.append(0xC000 | sum(s << (12 - 2 * i) for i, s in enumerate(statuses[index : index + 7])))
                index += 7
        deltas = b"".join(
            bytes((delta,)) if status == SMALL else _LARGE.pack(delta)
            for delta, status in zip(self.deltas, statuses, strict=True) if delta is not None
        )
        body = _HEAD.pack(self.sender_ssrc, self.media_ssrc, self.base_sequence, total,
                          (self.reference_time & 0xFFFFFF) << 8 | self.feedback_count & 0xFF)
        body += b"".join(_CHUNK.pack(chunk) for chunk in chunks) + deltas
        body += bytes(-len(body) % 4)
        return struct.pack("!BBH", 0x80 | FMT_TRANSPORT_CC, PT_RTPFB, len(body) // 4) + body
