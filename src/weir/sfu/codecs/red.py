"""RED (RFC 2198) audio payloads, as browsers send Opus with redundancy: find the primary block, and rewrite
a packet for a subscriber (its block payload types, or down to the primary block alone).

::

    |1| block PT | timestamp offset (14) | block length (10) |   per redundant block, 4 bytes
    |0| block PT |                                             the primary block's header, 1 byte
    redundant block data ..., then the primary block's data

A subscriber that negotiated RED gets the packet whole, its block payload types set to the subscriber's Opus
payload type; one that did not gets the primary block alone: plain Opus, no decoding either way.
"""

from __future__ import annotations

from collections.abc import Callable

from weir.sfu.errors import RedError

__all__ = ["primary_offset", "rewriter"]

_REDUNDANT_HEADER = 4

Rewrite = Callable[[bytearray, int, int], None]  # (packet, payload start, primary data start)


def primary_offset(data: bytes, start: int, end: int) -> int:
    """Where the primary block's data starts in ``data[start:end]``; RedError if the headers do not fit."""
    pos = start
    skipped = 0
    while True:
        if pos >= end:
            raise RedError("RED block headers are truncated")
        if not data[pos] & 0x80:
            pos += 1
            break
        if pos + _REDUNDANT_HEADER > end:
            raise RedError("RED block header is truncated")
        skipped += (data[pos + 2] & 0x03) << 8 | data[pos + 3]
        pos += _REDUNDANT_HEADER
    primary = pos + skipped
    if primary > end:
        raise RedError(f"RED blocks of {skipped} bytes overrun the packet")
    return primary


def rewriter(whole: bool, primary_payload_type: int) -> Rewrite:
    """How a down-track rewrites a RED packet's payload: kept ``whole`` with every block typed
    ``primary_payload_type``, or cut to the primary block. The header is the down-track's to write: the RED
    payload type over a whole packet, its own (Opus) over a primary block."""
    if not whole:

        def primary_only(buf: bytearray, start: int, primary: int) -> None:
            del buf[start:primary]

        return primary_only

    def blocks(buf: bytearray, start: int, primary: int) -> None:
        pos = start
        while buf[pos] & 0x80:
            buf[pos] = 0x80 | primary_payload_type
            pos += _REDUNDANT_HEADER
        buf[pos] = primary_payload_type

    return blocks
