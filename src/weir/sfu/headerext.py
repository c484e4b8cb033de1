"""The header extensions the SFU writes on forwarded video: ``abs-send-time`` and the transport-wide sequence
number, so that subscribers can estimate bandwidth.

A receive-side estimator (aiortc's, and Chromium's when only goog-remb is negotiated) times packets by
abs-send-time (6.18 fixed-point seconds in 24 bits): aiortc sends no REMB at all without it. A subscriber that
negotiated transport-cc instead reports when each transport-wide sequence number arrived, and the SFU estimates
from its own record of when it sent each one and how big it was (``SendHistory``).

``ExtensionSink`` stands between a video down-track (media and RTX) and its transport and adds one
one-byte-header extension block (RFC 8285) carrying what the subscriber negotiated. A forwarded packet comes as
its payload behind 24 spare bytes, and the sink writes header and block in front of the payload with one
``pack_into`` of a template that ends where the payload starts (``send_forwarded``): nothing moves. A
retransmission comes as a plain packet, with its 12-byte header, and gets the block inserted. One
``SendHistory`` numbers every stamped packet of a subscriber's transport.
"""

from __future__ import annotations

import struct
import time
from array import array
from collections.abc import Callable

from weir.sfu.rtp import FIXED_HEADER

__all__ = ["ABS_SEND_TIME_ID", "ABS_SEND_TIME_URI", "TRANSPORT_CC_ID", "TRANSPORT_CC_URI", "ExtensionSink",
           "SendHistory"]

ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
TRANSPORT_CC_URI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
ABS_SEND_TIME_ID = 1  # the ids the SFU's own subscriber offers give them
TRANSPORT_CC_ID = 2
HISTORY_BITS = 12  # packets remembered: 4096, seconds of media at any rate a subscriber is sent
_ONE_BYTE_PROFILE = 0xBEDE
_ONE = struct.Struct("!HHI")  # profile, length in words (1), one element padded to a word
_TWO = struct.Struct("!HHII")  # profile, length in words (2), abs-send-time element, sequence element and a pad
_FIXED_HEADER = 12
_ROOM = 12  # packet.EXTENSION_ROOM: what ``send_forwarded`` finds in front of the header's 12 bytes; room for ``_TWO``
_HEAD_ONE = struct.Struct("!BBHIIHHI")  # a fixed header with the extension bit, then ``_ONE``
_HEAD_TWO = struct.Struct("!BBHIIHHII")  # the same, then ``_TWO``
_AT_ONE = _ROOM - _ONE.size  # where a header followed by ``_ONE`` starts, to end at the payload
_PLAIN, _EXTENDED = 0x80, 0x90  # the first header byte: version 2, without and with the extension bit
_FRACTION_BITS = 18
_NS = 1_000_000_000
_TIME_MASK = 0xFFFFFF
_PLAIN_MASK = 0x1F  # extension bit and CSRC count: a plain header has neither


class SendHistory:
    """The transport-wide sequence numbers of one subscriber's transport, and when each packet went and its size
    (a ring of ``1 << HISTORY_BITS``). Sequence numbers are unwrapped ints: ``next_seq`` is the next one."""

    __slots__ = ("mask", "next_seq", "sent_ns", "sizes")

    def __init__(self, bits: int = HISTORY_BITS) -> None:
        self.mask = (1 << bits) - 1
        self.next_seq = 1
        self.sent_ns = array("q", bytes(8 << bits))  # monotonic ns
        self.sizes = array("l", bytes(array("l").itemsize << bits))  # bytes

    def unwrap(self, seq16: int) -> int | None:
        """The unwrapped number of a 16-bit ``seq16`` a subscriber reports, None if it was never sent or has
        left the ring."""
        seq = self.next_seq - 1 - ((self.next_seq - 1 - seq16) & 0xFFFF)
        return seq if 0 < seq and self.next_seq - seq <= self.mask + 1 else None


class ExtensionSink:
    """Wraps a packet sink; each plain packet gets abs-send-time (``abs_send_time_id``, 0 for none) and, while
    ``history`` is set, the next transport-wide sequence number (``transport_cc_id``) before it goes on."""

    __slots__ = ("_abs", "_now_ns", "_send", "_seq", "history")

    def __init__(self, send: Callable[[bytearray], object], abs_send_time_id: int, transport_cc_id: int = 0,
                 history: SendHistory | None = None, now_ns: Callable[[], int] = time.monotonic_ns) -> None:
        for ext_id in (abs_send_time_id, transport_cc_id):
            if not 0 <= ext_id <= 14:
                raise ValueError("a one-byte header extension id is 1 to 14")
        if not abs_send_time_id and not transport_cc_id:
            raise ValueError("an extension sink writes at least one extension")
        self._send = send
        self._abs = (abs_send_time_id << 4 | 2) << 24 if abs_send_time_id else 0  # length field: 3 bytes, as 2
        self._seq = (transport_cc_id << 4 | 1) << 24 if transport_cc_id else 0  # 2 bytes, as 1
        self.history = history if transport_cc_id else None
        self._now_ns = now_ns

    def __call__(self, packet: bytearray) -> None:
        if packet[0] & _PLAIN_MASK:
            self._send(packet)
            return
        now = self._now_ns()
        history = self.history
        if history is not None:
            seq = history.next_seq
            history.next_seq = seq + 1
            if self._abs:
                packet[_FIXED_HEADER:_FIXED_HEADER] = _TWO.pack(
                    _ONE_BYTE_PROFILE, 2, self._abs | (now << _FRACTION_BITS) // _NS & _TIME_MASK,
                    self._seq | (seq & 0xFFFF) << 8)
            else:
                packet[_FIXED_HEADER:_FIXED_HEADER] = _ONE.pack(_ONE_BYTE_PROFILE, 1, self._seq | (seq & 0xFFFF) << 8)
            index = seq & history.mask
            history.sent_ns[index] = now
            history.sizes[index] = len(packet)
        elif self._abs:
            packet[_FIXED_HEADER:_FIXED_HEADER] = _ONE.pack(
                _ONE_BYTE_PROFILE, 1, self._abs | (now << _FRACTION_BITS) // _NS & _TIME_MASK)
        else:  # transport-cc offered, not (or not yet) answered
            self._send(packet)
            return
        packet[0] |= 0x10
        self._send(packet)

    def send_forwarded(self, buf: bytearray, marker_pt: int, ext_seq: int, ext_ts: int, ssrc: int) -> None:
        """Stamp and send a forwarded packet: ``buf`` is its payload behind 24 spare bytes (``packet.HEADROOM``).
        The header (``marker_pt`` is its second byte, as for ``rtp.write_fixed_header``) and the block are written
        with one template ending at the payload, and the spare bytes left in front dropped, which moves nothing.
        The bytes sent are those ``__call__`` makes of the same packet with its plain header."""
        seq, ts = ext_seq & 0xFFFF, ext_ts & 0xFFFFFFFF
        history = self.history
        if history is None:
            if self._abs:
                _HEAD_ONE.pack_into(buf, _AT_ONE, _EXTENDED, marker_pt, seq, ts, ssrc, _ONE_BYTE_PROFILE, 1,
                                    self._abs | (self._now_ns() << _FRACTION_BITS) // _NS & _TIME_MASK)
                del buf[:_AT_ONE]
            else:  # transport-cc offered, not (or not yet) answered
                FIXED_HEADER.pack_into(buf, _ROOM, _PLAIN, marker_pt, seq, ts, ssrc)
                del buf[:_ROOM]
            self._send(buf)
            return
        now = self._now_ns()
        number = history.next_seq
        history.next_seq = number + 1
        element = self._seq | (number & 0xFFFF) << 8
        if self._abs:
            _HEAD_TWO.pack_into(buf, 0, _EXTENDED, marker_pt, seq, ts, ssrc, _ONE_BYTE_PROFILE, 2,
                                self._abs | (now << _FRACTION_BITS) // _NS & _TIME_MASK, element)
        else:
            _HEAD_ONE.pack_into(buf, _AT_ONE, _EXTENDED, marker_pt, seq, ts, ssrc, _ONE_BYTE_PROFILE, 1, element)
            del buf[:_AT_ONE]
        index = number & history.mask
        history.sent_ns[index] = now
        history.sizes[index] = len(buf)
        self._send(buf)
