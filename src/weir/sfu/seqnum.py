"""Unwrapping 16-bit sequence numbers and 32-bit timestamps into ``ext_`` ints.

Inside the SFU every sequence number, timestamp and picture id is an unbounded Python int (``ext_seq``,
``ext_ts``, ``ext_pid``); only the writers of packets (``rtp.py``, ``codecs/`` and the forwarding path's header
writers) truncate them. So the munger and the buffers do plain arithmetic and never meet a wrap-around.
"""

from __future__ import annotations

__all__ = ["SEQ_BITS", "TS_BITS", "Unwrapper", "unwrap_near"]

SEQ_BITS = 16
TS_BITS = 32


class Unwrapper:
    """Turns one stream of ``bits``-wide wrapping counters into ever-growing ints.

    A value is taken as the nearest one to the highest seen so far (within half the range either way), so late
    and reordered values unwrap correctly. The first value is returned as is; a value older than the first may
    come out negative, which is harmless: callers only compare and subtract.
    """

    __slots__ = ("_half", "_highest", "_mask", "_modulus", "_started")

    def __init__(self, bits: int) -> None:
        self._modulus = 1 << bits
        self._mask = self._modulus - 1
        self._half = self._modulus >> 1
        self._highest = 0
        self._started = False

    @property
    def highest(self) -> int:
        """The highest unwrapped value so far (0 before the first)."""
        return self._highest

    def unwrap(self, value: int) -> int:
        if not self._started:
            self._started = True
            self._highest = value
            return value
        highest = self._highest
        delta = (value - highest) & self._mask
        if delta >= self._half:
            return highest + delta - self._modulus
        ext = highest + delta
        self._highest = ext
        return ext


def unwrap_near(value: int, reference: int, bits: int) -> int:
    """The unwrapped int whose low ``bits`` are ``value``, nearest to the unwrapped ``reference``."""
    modulus = 1 << bits
    delta = (value - reference) & (modulus - 1)
    if delta >= modulus >> 1:
        delta -= modulus
    return reference + delta
