"""RTX (RFC 4588): retransmissions in a stream of their own, SSRC-multiplexed.

An RTX packet carries the original packet's payload behind a 2-byte original sequence number (OSN), under the
RTX payload type (whose ``apt`` names the original's) and the RTX stream's own SSRC and sequence numbers; the
timestamp and marker are the original's.

Publishers' RTX packets are unwrapped by ``Receiver.receive_rtx`` with ``original_sequence_number``; a
down-track whose subscriber negotiated RTX resends through its ``RtxStream``.
"""

from __future__ import annotations

import random

from weir.sfu.errors import RtxError
from weir.sfu.rtp import FIXED_HEADER_SIZE, RtpHeader, write_fixed_header

__all__ = ["OSN_SIZE", "RtxStream", "original_sequence_number"]

OSN_SIZE = 2


def original_sequence_number(header: RtpHeader) -> int:
    """The OSN an RTX packet carries; its payload proper starts ``OSN_SIZE`` bytes into the payload."""
    start = header.payload_offset
    if header.payload_end - start < OSN_SIZE:
        raise RtxError("RTX payload shorter than its original sequence number")
    data = header.data
    return data[start] << 8 | data[start + 1]


class RtxStream:
    """One down-track's RTX stream: its SSRC, payload type and sequence numbers."""

    __slots__ = ("_seq", "payload_type", "sent", "ssrc")

    def __init__(self, ssrc: int, payload_type: int, start_seq: int | None = None) -> None:
        self.ssrc = ssrc
        self.payload_type = payload_type
        self._seq = random.getrandbits(15) if start_seq is None else start_seq
        self.sent = 0

    def wrap(self, packet: bytearray) -> bytearray:
        """The RTX packet for ``packet``, as a down-track builds it: a 12-byte header, then the payload."""
        out = bytearray(len(packet) + OSN_SIZE)
        out[FIXED_HEADER_SIZE + OSN_SIZE :] = memoryview(packet)[FIXED_HEADER_SIZE:]
        timestamp = int.from_bytes(packet[4:8], "big")
        write_fixed_header(out, (packet[1] & 0x80) | self.payload_type, self._seq, timestamp, self.ssrc)
        out[FIXED_HEADER_SIZE : FIXED_HEADER_SIZE + OSN_SIZE] = packet[2:4]
        self._seq += 1
        self.sent += 1
        return out
