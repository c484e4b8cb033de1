"""Which lost video packets a receiver asks for (NACK, RFC 4585), and asks for again until they come.

aiortc's receiver NACKs only when a packet reveals a new gap, naming everything still missing; once the loss
stops no new gap appears, so a packet whose last resend was lost too is never asked for again and its gap holds
the jitter buffer. Here, as in libwebrtc's receiver, a missing packet is asked for when its gap appears and again
each retry interval after that, at most ``MAX_TRIES`` times and for at most ``MAX_AGE_S``. The interval is the
round trip from a NACK to its repair (Karn's rule: only packets asked for once are timed), smoothed as TCP's
retransmission timer (RFC 6298) and kept within 60-500 ms: the SFU resends one packet at most once per 50 ms.

Retries ride on arriving packets (``received`` is called per packet, there is no timer): a stream that stops
sending has nothing to repair until it sends again. The frame buffer (``framebuffer.FrameBuffer``) reads how long
a hole has been waited for (``waited``) and clears what it gave up on (``clear_up_to``).
"""

from __future__ import annotations

__all__ = ["MAX_AGE_S", "MAX_TRACKED", "MAX_TRIES", "NackRequester"]

MAX_TRIES = 10
MAX_AGE_S = 1.5  # a packet missing longer than this is not asked for again
MAX_TRACKED = 256  # of a longer run of missing packets only the latest are asked for
RTT_DEFAULT_S = 0.1  # until a repair has been timed (libwebrtc's default)
RETRY_MIN_S = 0.06
RETRY_MAX_S = 0.5
HOLE_WAIT_TRIES = 4  # the frame buffer waits this many retry intervals for a hole ...
HOLE_WAIT_MIN_S = 0.2  # ... but at least this long
HOLE_WAIT_MAX_S = 1.0  # ... and at most this long
SEQ_MASK = 0xFFFF
HALF = 0x8000


class _Missing:
    """One packet not received yet: when its gap was seen, when it was last asked for, how many times."""

    __slots__ = ("asked_at", "seen_at", "tries")

    def __init__(self, now: float) -> None:
        self.seen_at = now
        self.asked_at = now
        self.tries = 1


class NackRequester:
    """The missing packets of one video stream (16-bit sequence numbers) and the round trip of their repair."""

    __slots__ = ("_highest", "_missing", "_next_retry", "_rttvar", "_srtt", "due", "given_up", "retry_interval",
                 "sent")

    def __init__(self) -> None:
        self._highest: int | None = None
        self._missing: dict[int, _Missing] = {}  # in the order the gaps were seen
        self._next_retry = 0.0
        self._srtt: float | None = None
        self._rttvar = 0.0
        self.retry_interval = RTT_DEFAULT_S
        self.due: list[int] = []  # what to NACK now, after ``received`` returned True
        self.sent = 0  # sequence numbers named in NACKs, retries included
        self.given_up = 0  # packets dropped from the list after MAX_TRIES or MAX_AGE_S

    def received(self, seq: int, now: float) -> bool:
        """Note that ``seq`` arrived at ``now`` (seconds, monotonic); True when ``due`` names packets to NACK:
        the new gap this packet revealed and the packets whose retry interval has passed."""
        due = self.due
        due.clear()
        highest = self._highest
        if highest is None:
            self._highest = seq
            return False
        ahead = (seq - highest) & SEQ_MASK
        if ahead == 0:
            pass
        elif ahead < HALF:
            self._highest = seq
            if ahead > 1:
                self._gap(seq, min(ahead - 1, MAX_TRACKED), now)
        else:
            entry = self._missing.pop(seq, None)
            if entry is not None and entry.tries == 1:
                self._time_repair(now - entry.asked_at)
        if self._missing and now >= self._next_retry:
            self._retry(now)
        self.sent += len(due)
        return bool(due)

    def waited(self, seq: int, now: float) -> float | None:
        """How long ``seq`` has been missing; None when it is not asked for (never seen missing, or given up)."""
        entry = self._missing.get(seq)
        return None if entry is None else now - entry.seen_at

    @property
    def hole_wait(self) -> float:
        """How long the frame buffer should wait for a missing packet before giving up on its frame."""
        return min(max(HOLE_WAIT_TRIES * self.retry_interval, HOLE_WAIT_MIN_S), HOLE_WAIT_MAX_S)

    def clear_up_to(self, seq: int) -> None:
        """Stop asking for packets before ``seq``: the frame buffer gave up on them."""
        missing = self._missing
        for old in [s for s in missing if 0 < (seq - s) & SEQ_MASK < HALF]:
            del missing[old]

    def _gap(self, seq: int, count: int, now: float) -> None:
        missing, due = self._missing, self.due
        for lost in range(seq - count, seq):
            lost &= SEQ_MASK
            missing[lost] = _Missing(now)
            due.append(lost)
        if len(missing) > MAX_TRACKED:
            for old in list(missing)[: len(missing) - MAX_TRACKED]:
                del missing[old]

    def _retry(self, now: float) -> None:
        interval = self.retry_interval
        next_retry = now + interval
        expired: list[int] = []
        due = self.due
        for seq, entry in self._missing.items():
            if entry.tries >= MAX_TRIES or now - entry.seen_at >= MAX_AGE_S:
                expired.append(seq)
            elif now - entry.asked_at >= interval:
                entry.asked_at = now
                entry.tries += 1
                due.append(seq)
            else:
                next_retry = min(next_retry, entry.asked_at + interval)
        for seq in expired:
            del self._missing[seq]
        self.given_up += len(expired)
        self._next_retry = next_retry

    def _time_repair(self, sample: float) -> None:
        if self._srtt is None:
            self._srtt, self._rttvar = sample, sample / 2
        else:
            self._rttvar = 0.75 * self._rttvar + 0.25 * abs(self._srtt - sample)
            self._srtt = 0.875 * self._srtt + 0.125 * sample
        self.retry_interval = min(max(self._srtt + 4 * self._rttvar, RETRY_MIN_S), RETRY_MAX_S)
