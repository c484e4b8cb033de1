"""The ``abs-send-time`` header extension on forwarded video, so that subscribers can estimate bandwidth.

A receive-side estimator (aiortc's, and Chromium's when only goog-remb is negotiated) times packets by this
extension: aiortc sends no REMB at all without it. Down-tracks write a plain 12-byte header; ``AbsSendTimeSink``
stands between a video down-track and its transport and inserts a one-byte-header extension block (RFC 8285)
carrying the send time, 6.18 fixed-point seconds in 24 bits.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable

__all__ = ["ABS_SEND_TIME_ID", "ABS_SEND_TIME_URI", "AbsSendTimeSink"]

ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
ABS_SEND_TIME_ID = 1  # the id the SFU's own subscriber offers give it
_ONE_BYTE_PROFILE = 0xBEDE
_BLOCK = struct.Struct("!HHI")  # profile, length in words (1), element: id/len byte and 24-bit time
_FIXED_HEADER = 12
_FRACTION_BITS = 18
_NS = 1_000_000_000
_TIME_MASK = 0xFFFFFF
_PLAIN_MASK = 0x1F  # extension bit and CSRC count: a plain header has neither


class AbsSendTimeSink:
    """Wraps a packet sink; each packet gets its send time before it goes on."""

    __slots__ = ("_element", "_now_ns", "_send")

    def __init__(self, send: Callable[[bytearray], object], ext_id: int,
                 now_ns: Callable[[], int] = time.monotonic_ns) -> None:
        if not 1 <= ext_id <= 14:
            raise ValueError("a one-byte header extension id is 1 to 14")
        self._send = send
        self._element = (ext_id << 4 | 2) << 24  # length field: 3 bytes, written as 2
        self._now_ns = now_ns

    def __call__(self, packet: bytearray) -> None:
        if not packet[0] & _PLAIN_MASK:
            stamp = (self._now_ns() << _FRACTION_BITS) // _NS & _TIME_MASK
            packet[_FIXED_HEADER:_FIXED_HEADER] = _BLOCK.pack(_ONE_BYTE_PROFILE, 1, self._element | stamp)
            packet[0] |= 0x10
        self._send(packet)
