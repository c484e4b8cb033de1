"""RTCP packets (RFC 3550, RFC 4585, RFC 5104, REMB and transport-cc drafts) and compound datagrams.

``parse_compound`` turns one datagram into a list of packet objects; SDES, APP, XR and feedback types the SFU
does not act on are checked for length and skipped. Each packet class has ``parse`` and, where the SFU sends
it, ``__bytes__`` (transport-cc feedback has a module of its own, ``transportcc.py``). Anything malformed raises
``RtcpError``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar

from weir.sfu.errors import RtcpError
from weir.sfu.transportcc import FMT_TRANSPORT_CC, PT_RTPFB, TransportCc

__all__ = [
    "Bye",
    "Fir",
    "Nack",
    "Pli",
    "ReceiverReport",
    "Remb",
    "ReportBlock",
    "RtcpPacket",
    "SenderReport",
    "TransportCc",
    "parse_compound",
]

RTCP_VERSION = 2
PT_SR = 200
PT_RR = 201
PT_SDES = 202
PT_BYE = 203
PT_PSFB = 206  # payload-specific feedback, RFC 4585
FMT_NACK = 1
FMT_PLI = 1
FMT_FIR = 4  # RFC 5104
FMT_AFB = 15  # application-layer feedback; REMB is one
REMB_ID = b"REMB"
REMB_MANTISSA_BITS = 18
MAX_COUNT = 31  # the 5-bit count / FMT field

_HEADER = struct.Struct("!BBH")
_U32 = struct.Struct("!I")
_TWO_U32 = struct.Struct("!II")
_SENDER_INFO = struct.Struct("!IQIII")  # sender SSRC, NTP timestamp, RTP timestamp, packets, octets
_REPORT_BLOCK = struct.Struct("!IB3sIIII")
_NACK_ITEM = struct.Struct("!HH")
_FIR_ITEM = struct.Struct("!IB3x")
_REMB_HEAD = struct.Struct("!4sB3s")


def _header(pt: int, count: int, body_size: int) -> bytes:
    return _HEADER.pack(RTCP_VERSION << 6 | count, pt, body_size // 4)


@dataclass(frozen=True, slots=True)
class ReportBlock:
    """One reception report (RFC 3550 section 6.4.1)."""

    ssrc: int
    fraction_lost: int
    packets_lost: int  # cumulative, signed 24-bit
    highest_sequence: int  # extended highest sequence number received
    jitter: int
    last_sr: int
    delay_since_last_sr: int

    SIZE: ClassVar[int] = _REPORT_BLOCK.size

    @classmethod
    def parse(cls, data: bytes, offset: int) -> ReportBlock:
        ssrc, fraction, lost, highest, jitter, lsr, dlsr = _REPORT_BLOCK.unpack_from(data, offset)
        return cls(ssrc, fraction, int.from_bytes(lost, "big", signed=True), highest, jitter, lsr, dlsr)

    def __bytes__(self) -> bytes:
        lost = self.packets_lost.to_bytes(3, "big", signed=True)
        return _REPORT_BLOCK.pack(
            self.ssrc, self.fraction_lost, lost, self.highest_sequence, self.jitter, self.last_sr,
            self.delay_since_last_sr,
        )


def _report_blocks(data: bytes, offset: int, count: int, end: int) -> tuple[ReportBlock, ...]:
    if offset + count * ReportBlock.SIZE > end:
        raise RtcpError(f"{count} report blocks do not fit")
    return tuple(ReportBlock.parse(data, offset + i * ReportBlock.SIZE) for i in range(count))


def _check_count(items: tuple[object, ...], what: str) -> None:
    if len(items) > MAX_COUNT:
        raise ValueError(f"at most {MAX_COUNT} {what} in one packet")


@dataclass(frozen=True, slots=True)
class SenderReport:
    ssrc: int
    ntp_timestamp: int  # 64-bit NTP format
    rtp_timestamp: int
    packet_count: int
    octet_count: int
    reports: tuple[ReportBlock, ...] = ()

    @classmethod
    def parse(cls, data: bytes, count: int, start: int, end: int) -> SenderReport:
        if start + _SENDER_INFO.size > end:
            raise RtcpError("sender report is truncated")
        ssrc, ntp, rtp_ts, packets, octets = _SENDER_INFO.unpack_from(data, start)
        reports = _report_blocks(data, start + _SENDER_INFO.size, count, end)
        return cls(ssrc, ntp, rtp_ts, packets, octets, reports)

    def __bytes__(self) -> bytes:
        _check_count(self.reports, "report blocks")
        body = _SENDER_INFO.pack(
            self.ssrc, self.ntp_timestamp, self.rtp_timestamp, self.packet_count, self.octet_count
        ) + b"".join(bytes(r) for r in self.reports)
        return _header(PT_SR, len(self.reports), len(body)) + body


@dataclass(frozen=True, slots=True)
class ReceiverReport:
    ssrc: int
    reports: tuple[ReportBlock, ...] = ()

    @classmethod
    def parse(cls, data: bytes, count: int, start: int, end: int) -> ReceiverReport:
        if start + 4 > end:
            raise RtcpError("receiver report is truncated")
        (ssrc,) = _U32.unpack_from(data, start)
        return cls(ssrc, _report_blocks(data, start + 4, count, end))

    def __bytes__(self) -> bytes:
        _check_count(self.reports, "report blocks")
        body = _U32.pack(self.ssrc) + b"".join(bytes(r) for r in self.reports)
        return _header(PT_RR, len(self.reports), len(body)) + body


@dataclass(frozen=True, slots=True)
class Bye:
    ssrcs: tuple[int, ...]
    reason: bytes = b""

    @classmethod
    def parse(cls, data: bytes, count: int, start: int, end: int) -> Bye:
        pos = start + 4 * count
        if pos > end:
            raise RtcpError(f"BYE with {count} SSRCs is truncated")
        ssrcs = struct.unpack_from(f"!{count}I", data, start)
        reason = b""
        if pos < end:
            size = data[pos]
            if pos + 1 + size > end:
                raise RtcpError("BYE reason overruns the packet")
            reason = data[pos + 1 : pos + 1 + size]
        return cls(ssrcs, reason)

    def __bytes__(self) -> bytes:
        _check_count(self.ssrcs, "SSRCs")
        if len(self.reason) > 255:
            raise ValueError("BYE reason is at most 255 bytes")
        body = b"".join(_U32.pack(s) for s in self.ssrcs)
        if self.reason:
            body += bytes((len(self.reason),)) + self.reason
            body += bytes(-len(body) % 4)
        return _header(PT_BYE, len(self.ssrcs), len(body)) + body


@dataclass(frozen=True, slots=True)
class Nack:
    """Generic NACK (RFC 4585 section 6.2.1): the 16-bit sequence numbers the receiver lacks."""

    sender_ssrc: int
    media_ssrc: int
    lost: tuple[int, ...]

    @classmethod
    def parse(cls, data: bytes, start: int, end: int) -> Nack:
        sender, media = _TWO_U32.unpack_from(data, start)
        lost: list[int] = []
        for pos in range(start + 8, end - 3, 4):
            pid, blp = _NACK_ITEM.unpack_from(data, pos)
            lost.append(pid)
            lost.extend((pid + bit + 1) & 0xFFFF for bit in range(16) if blp >> bit & 1)
        return cls(sender, media, tuple(lost))

    def __bytes__(self) -> bytes:
        """Pack ``lost`` into PID/BLP pairs; a number within 16 after the current PID joins its bitmask."""
        items: list[list[int]] = []
        for seq in self.lost:
            if items:
                distance = (seq - items[-1][0]) & 0xFFFF
                if 1 <= distance <= 16:
                    items[-1][1] |= 1 << (distance - 1)
                    continue
            items.append([seq & 0xFFFF, 0])
        body = _TWO_U32.pack(self.sender_ssrc, self.media_ssrc) + b"".join(
            _NACK_ITEM.pack(pid, blp) for pid, blp in items
        )
        return _header(PT_RTPFB, FMT_NACK, len(body)) + body


@dataclass(frozen=True, slots=True)
class Pli:
    """Picture loss indication (RFC 4585 section 6.3.1)."""

    sender_ssrc: int
    media_ssrc: int

    def __bytes__(self) -> bytes:
        return _header(PT_PSFB, FMT_PLI, 8) + _TWO_U32.pack(self.sender_ssrc, self.media_ssrc)


@dataclass(frozen=True, slots=True)
class Fir:
    """Full intra request (RFC 5104 section 4.3.1): ``entries`` are (media SSRC, command sequence number)."""

    sender_ssrc: int
    entries: tuple[tuple[int, int], ...]

    @classmethod
    def parse(cls, data: bytes, start: int, end: int) -> Fir:
        if (end - start - 8) % _FIR_ITEM.size:
            raise RtcpError("FIR entries are not 8 bytes each")
        (sender,) = _U32.unpack_from(data, start)
        entries = tuple(_FIR_ITEM.unpack_from(data, pos) for pos in range(start + 8, end, _FIR_ITEM.size))
        return cls(sender, entries)

    def __bytes__(self) -> bytes:
        body = _TWO_U32.pack(self.sender_ssrc, 0) + b"".join(
            _FIR_ITEM.pack(ssrc, seq & 0xFF) for ssrc, seq in self.entries
        )
        return _header(PT_PSFB, FMT_FIR, len(body)) + body


@dataclass(frozen=True, slots=True)
class Remb:
    """Receiver estimated maximum bitrate (draft-alvestrand-rmcat-remb), in bits per second."""

    sender_ssrc: int
    bitrate: int
    ssrcs: tuple[int, ...]

    @classmethod
    def parse(cls, data: bytes, start: int, end: int) -> Remb | None:
        """None for application feedback that is not REMB."""
        if start + 8 + _REMB_HEAD.size > end or data[start + 8 : start + 12] != REMB_ID:
            return None
        (sender,) = _U32.unpack_from(data, start)
        _, count, packed = _REMB_HEAD.unpack_from(data, start + 8)
        pos = start + 8 + _REMB_HEAD.size
        if pos + 4 * count > end:
            raise RtcpError(f"REMB with {count} SSRCs is truncated")
        value = int.from_bytes(packed, "big")
        bitrate = (value & ((1 << REMB_MANTISSA_BITS) - 1)) << (value >> REMB_MANTISSA_BITS)
        return cls(sender, bitrate, struct.unpack_from(f"!{count}I", data, pos))

    def __bytes__(self) -> bytes:
        """The bitrate is rounded down to what an 18-bit mantissa and 6-bit exponent can say."""
        if len(self.ssrcs) > 255:
            raise ValueError("at most 255 SSRCs in one REMB")
        exponent = max(0, self.bitrate.bit_length() - REMB_MANTISSA_BITS)
        if exponent > 63:
            raise ValueError("REMB bitrate out of range")
        packed = (exponent << REMB_MANTISSA_BITS | self.bitrate >> exponent).to_bytes(3, "big")
        body = (
            _TWO_U32.pack(self.sender_ssrc, 0)
            + _REMB_HEAD.pack(REMB_ID, len(self.ssrcs), packed)
            + b"".join(_U32.pack(s) for s in self.ssrcs)
        )
        return _header(PT_PSFB, FMT_AFB, len(body)) + body


RtcpPacket = SenderReport | ReceiverReport | Bye | Nack | TransportCc | Pli | Fir | Remb


def _feedback(data: bytes, pt: int, fmt: int, start: int, end: int) -> RtcpPacket | None:
    if start + 8 > end:
        raise RtcpError("feedback packet shorter than its two SSRCs")
    if pt == PT_RTPFB:
        if fmt == FMT_NACK:
            return Nack.parse(data, start, end)
        if fmt == FMT_TRANSPORT_CC:
            return TransportCc.parse(data, start, end)
        return None
    if fmt == FMT_PLI:
        return Pli(*_TWO_U32.unpack_from(data, start))
    if fmt == FMT_FIR:
        return Fir.parse(data, start, end)
    if fmt == FMT_AFB:
        return Remb.parse(data, start, end)
    return None


def _parse_one(data: bytes, pt: int, count: int, start: int, end: int) -> RtcpPacket | None:
    if pt == PT_SR:
        return SenderReport.parse(data, count, start, end)
    if pt == PT_RR:
        return ReceiverReport.parse(data, count, start, end)
    if pt == PT_BYE:
        return Bye.parse(data, count, start, end)
    if pt in (PT_RTPFB, PT_PSFB):
        return _feedback(data, pt, count, start, end)
    return None  # SDES, APP, XR and anything newer: skipped


def parse_compound(data: bytes) -> list[RtcpPacket]:
    """Every packet the SFU understands in one RTCP datagram, in order."""
    size = len(data)
    if size < _HEADER.size:
        raise RtcpError(f"RTCP datagram of {size} bytes is too short")
    packets: list[RtcpPacket] = []
    pos = 0
    while pos < size:
        if pos + _HEADER.size > size:
            raise RtcpError("trailing bytes after the last RTCP packet")
        b0, pt, words = _HEADER.unpack_from(data, pos)
        if b0 >> 6 != RTCP_VERSION:
            raise RtcpError(f"RTCP version {b0 >> 6}, expected 2")
        start = pos + _HEADER.size
        end = pos = start + 4 * words
        if end > size:
            raise RtcpError(f"RTCP packet type {pt} of {words} words overruns the datagram")
        if b0 & 0x20:
            pad = data[end - 1] if end > start else 0
            if pad == 0 or pad > end - start:
                raise RtcpError(f"RTCP padding count {pad} is invalid")
            end -= pad
        packet = _parse_one(data, pt, b0 & 0x1F, start, end)
        if packet is not None:
            packets.append(packet)
    return packets
