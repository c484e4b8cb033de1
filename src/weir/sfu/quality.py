"""Connection quality: loss, jitter and round-trip time scored as a mean opinion score, graded in three steps.

The score is the E-model (ITU-T G.107) in the reduced form widely used for WebRTC calls: the delay impairment
from an effective latency of RTT/2 + 2 x jitter + 10 ms, and 2.5 R-points per percent of loss. A grade changes
only when the new one has held for ``SETTLE`` assessments in a row, so that one bad second does not flap it.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["Grade", "QualityGrade", "RttMeter", "grade", "mos"]

Grade = Literal["unspecified", "poor", "good", "excellent"]
EXCELLENT_MOS = 4.2  # about 3 % loss on a short path
GOOD_MOS = 3.3  # about 12 % loss on a short path
SETTLE = 2
_SR_REMEMBERED = 16


def mos(loss: float, jitter_ms: float = 0.0, rtt_ms: float = 0.0) -> float:
    """Mean opinion score, 1 to about 4.4, for ``loss`` (0..1), jitter and round-trip time."""
    effective_ms = rtt_ms / 2 + 2 * jitter_ms + 10
    r = 93.2 - (effective_ms / 40 if effective_ms < 160 else (effective_ms - 120) / 10) - 250 * loss
    r = min(max(r, 0.0), 100.0)
    return 1 + 0.035 * r + 0.000007 * r * (r - 60) * (100 - r)


def grade(score: float) -> Grade:
    return "excellent" if score >= EXCELLENT_MOS else "good" if score >= GOOD_MOS else "poor"


class QualityGrade:
    """A participant's reported grade, moved only by a grade that has settled."""

    __slots__ = ("_candidate", "_count", "current")

    def __init__(self) -> None:
        self.current: Grade = "unspecified"
        self._candidate: Grade = "unspecified"
        self._count = 0

    def update(self, observed: Grade) -> bool:
        """Take one assessment's grade; True when the reported grade changed."""
        if observed == self.current:
            self._count = 0
            return False
        self._count = self._count + 1 if observed == self._candidate else 1
        self._candidate = observed
        if self._count < SETTLE:
            return False
        self.current, self._count = observed, 0
        return True


class RttMeter:
    """Round-trip time from reception reports: when the SFU sent the SR a report names, and the report's delay.

    Works whatever the clock behind the NTP timestamps (the SFU relays its publishers' timestamps).
    """

    __slots__ = ("_sent", "rtt_ms")

    def __init__(self) -> None:
        self._sent: dict[int, int] = {}  # middle 32 bits of an SR's NTP timestamp → monotonic ns when sent
        self.rtt_ms: float | None = None

    def sent(self, report: bytes, now_ns: int) -> None:
        """The SFU sent this SR (an RTCP datagram starting with one)."""
        if len(report) >= 16 and report[1] == 200:
            if len(self._sent) >= _SR_REMEMBERED:
                del self._sent[next(iter(self._sent))]
            self._sent[int.from_bytes(report[10:14], "big")] = now_ns

    def received(self, last_sr: int, delay_since_last_sr: int, now_ns: int) -> None:
        sent_ns = self._sent.get(last_sr) if last_sr else None
        if sent_ns is not None:
            rtt_ms = (now_ns - sent_ns) / 1e6 - delay_since_last_sr * 1000 / 65536
            self.rtt_ms = max(rtt_ms, 0.0)
