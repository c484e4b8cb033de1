"""Bandwidth estimates, updated once per assessment (about a second) from counters the media path keeps anyway.

Nothing here runs per packet.

- ``RembGroups``: a subscriber's REMB, as the latest bit rate of each set of SSRCs a REMB named. Chromium sends
  one REMB for its whole connection; aiortc runs one estimator per receiver, so each of its REMBs speaks for one
  track only, and reading one as the whole downlink's would starve every other track.
- ``DownlinkEstimate``: how much one subscriber's downlink carries. A receive-side REMB (aiortc's, Chromium's
  without transport-cc) cannot rise much above what it is sent (WebRTC's AIMD caps it at 1.5 x the measured
  throughput), so it is read as a congestion signal, not as room to grow: the estimate is a ceiling set when the
  path shows congestion (loss over 10 %, or REMBs under what they were sent and not rising, with some loss
  beside them, two updates in a row) and grown back
  once it has been clean for a hold time, which doubles (up to ``HOLD_MAX_S``) each time a regrowth runs into
  congestion again; a regrowth stops at what got through when the path last broke (for ``LIMIT_MEMORY_S``, doubled
  up to ``LIMIT_MEMORY_MAX_S`` each time a regrowth past it broke the path again: a policer that lost every try at
  the top layer was probed every 30 s) and
  goes no further than 1.5 x what is sent (but always as far as the floor: audio and every video's lowest layer). A cut
  starts from the ceiling when the SFU's own allocation sent less (app-limited), so
  sending little never ratchets the ceiling down, and ``LossCuts`` stops cutting for loss that does not fall
  when less is sent: random loss is no congestion.
- ``UplinkEstimate``: the REMB the SFU sends a publisher so that its encoder (aiortc sets its target bit rate
  from it) or its send-side estimator (Chromium with goog-remb) ramps up. It is the loss-based rule of GoogCC
  (draft-ietf-rmcat-gcc) run at the receiver: grow 8 % a second under 2 % loss, hold up to 10 %, cut by half
  the loss above (while cutting lowers the loss).
"""

from __future__ import annotations

import math

__all__ = ["DownlinkEstimate", "LayerMeter", "LossCuts", "RateMeter", "RembGroups", "UplinkEstimate"]

MIN_BITRATE = 10_000  # bit/s: no estimate goes below this
CONGESTED_LOSS = 0.10  # a fraction lost above this is congestion
CLEAN_LOSS = 0.02  # under this a path counts as clean
REMB_CONGESTED = 0.8  # a falling REMB under this share of what is sent says the path queues
REGROWTH = 1.25  # per clean assessment, once the hold is over
HOLD_MIN_S = 2.0
HOLD_MAX_S = 8.0
RESPONSIVE_LOSS = 0.75  # a cut answered: the loss fell under this share of what it was
HEAVY_LOSS = 0.3  # above this, loss is cut for whether or not cutting lowers it, and may pause every video
LOSS_CUT_MEMORY_S = 10.0  # after this long, loss that did not answer a cut may be cut for again
REMB_FORGET_S = 10.0  # a REMB group not refreshed for this long is dropped
APP_LIMITED = 0.8  # sending under this share of the ceiling, what got through says nothing of the path
UNTRIED_MARGIN = 1.5  # a regrowth goes at most this far past what is sent (beyond the allocation's next step)
LIMIT_MEMORY_S = 20.0  # for this long, a regrowth stops at what got through when the path last broke
LIMIT_MEMORY_MAX_S = 160.0  # the memory doubles up to this for each regrowth past the limit that broke the path
UNCAPPED_MARGIN = 1.5  # a ceiling this far above what is wanted is no ceiling
UPLINK_GROWTH = 1.08
UPLINK_START = 1_000_000  # bit/s before anything is measured
UPLINK_HEADROOM = 2.0  # the uplink estimate stays within this multiple of what arrives (plus UPLINK_START)
SMOOTHING = 0.5  # weight of the newest interval in a rate


class RateMeter:
    """Bits per second from a cumulative octet counter, smoothed over assessments."""

    __slots__ = ("_at_ns", "_octets", "bps")

    def __init__(self) -> None:
        self._octets = 0
        self._at_ns: int | None = None
        self.bps = 0.0

    def sample(self, octets: int, now_ns: int, *, hold_when_idle: bool = False) -> float:
        """Take the counter now; with ``hold_when_idle`` an interval without octets keeps the rate as it was
        (the cost of a layer that was paused is what it cost while it was sent)."""
        if hold_when_idle and octets == self._octets:
            self._at_ns = now_ns
        elif self._at_ns is not None and now_ns > self._at_ns:
            rate = (octets - self._octets) * 8e9 / (now_ns - self._at_ns)
            self.bps = SMOOTHING * rate + (1 - SMOOTHING) * self.bps
        self._octets, self._at_ns = octets, now_ns
        return self.bps


class LayerMeter:
    """Cost and loss of one received layer, from its receiver's (packets, octets, highest sequence) counters."""

    __slots__ = ("_highest", "_octets", "_packets", "cost", "expected", "octets", "received")

    def __init__(self) -> None:
        self.cost = RateMeter()  # bit/s while the layer arrives, held while it does not
        self._packets = self._octets = 0
        self._highest = -1
        self.octets = 0  # payload octets in the latest interval
        self.received = 0  # packets in the latest interval
        self.expected = 0  # packets the sequence numbers say were sent in it

    def sample(self, packets: int, octets: int, highest: int, now_ns: int) -> None:
        self.cost.sample(octets, now_ns, hold_when_idle=True)
        self.received, self.octets = packets - self._packets, octets - self._octets
        self.expected = highest - self._highest if self._highest >= 0 else self.received
        self._packets, self._octets, self._highest = packets, octets, highest


class LossCuts:
    """Whether loss calls for a cut: above ``CONGESTED_LOSS``, unless the last cut did not lower it (within
    ``LOSS_CUT_MEMORY_S``): moderate loss that stays as high when less is sent is the path's own, not congestion,
    and NACKs repair it. Loss above ``HEAVY_LOSS`` is always cut for."""

    __slots__ = ("_answered", "_at_s")

    def __init__(self) -> None:
        self._answered: float | None = None  # the loss the last cut answered
        self._at_s = -math.inf

    def cut(self, loss: float, now_s: float, *, lasting: bool = True) -> bool:
        """Whether to cut for ``loss`` (``lasting``: it has lasted long enough to count)."""
        if loss < CLEAN_LOSS or now_s - self._at_s > LOSS_CUT_MEMORY_S:
            self._answered = None
        if not lasting or loss <= CONGESTED_LOSS or (
            loss <= HEAVY_LOSS and self._answered is not None and loss >= RESPONSIVE_LOSS * self._answered
        ):
            return False
        self._answered, self._at_s = loss, now_s
        return True


class RembGroups:
    """The latest REMB of each set of SSRCs a subscriber's REMBs named."""

    __slots__ = ("_groups",)

    def __init__(self) -> None:
        self._groups: dict[frozenset[int], _Remb] = {}

    def on_remb(self, bitrate: int, ssrcs: tuple[int, ...]) -> None:
        group = self._groups.get(key := frozenset(ssrcs))
        if group is None:
            self._groups[key] = group = _Remb(bitrate)
        group.bitrate, group.fresh = bitrate, True

    @property
    def total(self) -> int | None:
        """The sum of every group's latest REMB; None before the first."""
        return sum(group.bitrate for group in self._groups.values()) if self._groups else None

    def shortfall(self, sent_by_ssrc: dict[int, float], now_s: float) -> float:
        """How far (bit/s) the REMBs under what their SSRCs are sent fall short of it: 0 when none does.

        A REMB that rose at its latest report does not count: a browser's estimate starts low and climbs while
        it is sent more, and aiortc's, after its track was paused, climbs 8 % a second from where it was."""
        short = 0.0
        for key, group in list(self._groups.items()):
            sent = sum(sent_by_ssrc.get(ssrc, 0.0) for ssrc in key)
            if group.fresh:
                group.rising = group.previous is None or group.bitrate > group.previous
                group.previous, group.fresh, group.at_s = group.bitrate, False, now_s
            elif now_s - group.at_s > REMB_FORGET_S:
                del self._groups[key]
                continue
            if not sent:  # paused: what it says now is stale by the time the track comes back
                group.previous, group.rising = None, True
            elif not group.rising and group.bitrate < REMB_CONGESTED * sent:
                short += sent - group.bitrate
        return short


class _Remb:
    __slots__ = ("at_s", "bitrate", "fresh", "previous", "rising")

    def __init__(self, bitrate: int) -> None:
        self.bitrate = bitrate
        self.previous: int | None = None  # the bit rate at the last update that had a fresh one
        self.rising = True  # it rose at its latest report, or there is nothing to compare it with yet
        self.fresh = True  # received since the last update
        self.at_s = -math.inf  # the last update that found it fresh


class DownlinkEstimate:
    __slots__ = ("_cuts", "_heavy", "_hold_s", "_hold_until", "_limit", "_limit_at", "_limit_memory_s", "_loss",
                 "_lossy", "_queueing", "_regrown_at", "ceiling", "rembs")

    def __init__(self) -> None:
        self.rembs = RembGroups()
        self.ceiling: float | None = None  # bit/s the subscriber may be sent; None while nothing says less
        self._loss: float | None = None  # the worst fraction lost reported since the last update
        self._lossy = False  # the loss called for a cut at the last update that had a report
        self._heavy = False  # the loss was heavy at the last update that had a report: no floor
        self._queueing = False  # REMBs fell under what was sent at the last update
        self._cuts = LossCuts()
        self._hold_s = HOLD_MIN_S
        self._hold_until = -math.inf
        self._regrown_at = -math.inf
        self._limit = math.inf  # what got through when the path last showed congestion
        self._limit_at = -math.inf
        self._limit_memory_s = LIMIT_MEMORY_S

    @property
    def remb(self) -> int | None:
        return self.rembs.total

    def on_remb(self, bitrate: int, ssrcs: tuple[int, ...] = ()) -> None:
        self.rembs.on_remb(bitrate, ssrcs)

    def on_loss(self, fraction: float) -> None:
        self._loss = fraction if self._loss is None else max(self._loss, fraction)

    def update(self, sent_bps: float, wanted_bps: float, now_s: float,
               sent_by_ssrc: dict[int, float] | None = None, next_bps: float = 0.0,
               floor_bps: float = MIN_BITRATE) -> float | None:
        """The new ceiling, given what was sent (bit/s, in all and by SSRC) and what the subscriber's requests
        would cost. ``next_bps`` is what the allocation's next step up would need in all (a paused video's lowest
        layer back, say): a regrowth reaches at least that, up to twice the ceiling, so paused video comes back
        within seconds. ``floor_bps`` (the audio and every video's lowest layer) is as low as a cut goes unless the
        loss is heavy: video is never all paused for loss that sending less does not cure."""
        reported, self._loss = self._loss, None
        loss = reported or 0.0
        # loss and queueing count only twice in a row (an update without a loss report leaves that streak as it
        # was): one stall of the client is not congestion
        was_lossy = self._lossy
        if reported is not None:
            self._lossy = loss > CONGESTED_LOSS
        lossy = reported is not None and self._cuts.cut(loss, now_s, lasting=self._lossy and was_lossy)
        # a REMB under what is sent counts only with some loss beside it: aiortc's estimator, in a client whose
        # event loop is busy decoding, reads its own delays as queueing
        short = self.rembs.shortfall(sent_by_ssrc or {}, now_s)
        queueing, was_queueing = short > 0 and loss >= CLEAN_LOSS, self._queueing
        self._queueing = queueing
        if lossy or queueing and was_queueing:
            # from the estimate, not from less that the allocation chose to send; at most what got through
            base = sent_bps if self.ceiling is None else self.ceiling
            limited = sent_bps < APP_LIMITED * base  # the allocation sent less than allowed: no sign of capacity
            delivered = base - short if not lossy else base if limited else sent_bps * (1 - loss)
            cut = min(base * (1 - loss / 2) if lossy else base, delivered)
            if self._limit < math.inf and base > self._limit:  # a regrowth past the limit broke the path again
                self._limit_memory_s = min(2 * self._limit_memory_s, LIMIT_MEMORY_MAX_S)
            elif now_s - self._limit_at > 2 * self._limit_memory_s:  # the limit is long stale: forget the backoff
                self._limit_memory_s = LIMIT_MEMORY_S
            self._limit, self._limit_at = max(delivered, floor_bps), now_s
            self.ceiling = max(MIN_BITRATE, min(cut, self.ceiling if self.ceiling is not None else math.inf))
            if now_s - self._regrown_at < 2 * HOLD_MIN_S:  # the last regrowth ran into it: wait longer next time
                self._hold_s = min(self._hold_s * 2, HOLD_MAX_S)
            elif now_s - self._hold_until > HOLD_MAX_S:  # the first congestion in a long while
                self._hold_s = HOLD_MIN_S
            self._hold_until = now_s + self._hold_s
        elif self.ceiling is not None and now_s >= self._hold_until and loss < CLEAN_LOSS and not queueing:
            grown = max(self.ceiling * REGROWTH, min(next_bps, 2 * self.ceiling))
            # not far past what is sent (an untried ceiling is no estimate), nor, for a while, past what got
            # through when the path last broke
            grown = min(grown, max(UNTRIED_MARGIN * sent_bps, next_bps))
            if now_s - self._limit_at < self._limit_memory_s:
                # never under the floor, though: after heavy loss paused every video nothing is sent or reported,
                # and a lowest layer whose measured cost drifted a little above what got through would stay
                # paused for the whole memory
                grown = min(grown, max(self._limit, floor_bps))
            self.ceiling = max(self.ceiling, grown)
            self._regrown_at = now_s
            if self.ceiling >= UNCAPPED_MARGIN * wanted_bps:
                self.ceiling = None
        if reported is not None:
            self._heavy = loss > HEAVY_LOSS
        if self.ceiling is not None and not self._heavy:  # the floor follows what audio and the lowest layers cost
            self.ceiling = max(self.ceiling, floor_bps)
        return self.ceiling


class UplinkEstimate:
    __slots__ = ("_cuts", "bitrate")

    def __init__(self) -> None:
        self.bitrate = float(UPLINK_START)
        self._cuts = LossCuts()

    def update(self, incoming_bps: float, loss: float, now_s: float) -> int:
        """The REMB for a publisher whose media arrived at ``incoming_bps`` with ``loss`` (0..1) lost."""
        if self._cuts.cut(loss, now_s):
            self.bitrate = incoming_bps * (1 - loss / 2)
        elif loss < CLEAN_LOSS:
            self.bitrate = min(self.bitrate * UPLINK_GROWTH, UPLINK_HEADROOM * incoming_bps + UPLINK_START)
        self.bitrate = max(self.bitrate, MIN_BITRATE)
        return int(self.bitrate)
