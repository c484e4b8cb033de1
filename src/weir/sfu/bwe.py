"""Bandwidth estimates, updated once per assessment (about a second) from counters the media path keeps anyway.

Nothing here runs per packet.

- ``DownlinkEstimate``: how much one subscriber's downlink carries. Its inputs are the subscriber's REMB and the
  loss its receiver reports. A receive-side REMB (aiortc's, Chromium's without transport-cc) cannot rise much
  above what it is sent (WebRTC's AIMD caps it at 1.5 x the measured throughput), so it is read as a congestion
  signal, not as room to grow: the estimate is a ceiling set when the path shows congestion (loss in two
  updates in a row, or a REMB that fell under what is sent) and grown back slowly once it has been clean for a
  hold time, which doubles each time a regrowth runs into congestion again.
- ``UplinkEstimate``: the REMB the SFU sends a publisher so that its encoder (aiortc sets its target bit rate
  from it) or its send-side estimator (Chromium with goog-remb) ramps up. It is the loss-based rule of GoogCC
  (draft-ietf-rmcat-gcc) run at the receiver: grow 8 % a second under 2 % loss, hold up to 10 %, cut by half
  the loss above.
"""

from __future__ import annotations

import math

__all__ = ["DownlinkEstimate", "LayerMeter", "RateMeter", "UplinkEstimate"]

MIN_BITRATE = 10_000  # bit/s: no estimate goes below this
CONGESTED_LOSS = 0.10  # a fraction lost above this is congestion
CLEAN_LOSS = 0.02  # under this a path counts as clean
REMB_CONGESTED = 0.8  # a falling REMB under this share of what is sent says the path queues
REGROWTH = 1.25  # per clean assessment, once the hold is over
HOLD_MIN_S = 2.0
HOLD_MAX_S = 32.0
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


class DownlinkEstimate:
    __slots__ = ("_hold_s", "_hold_until", "_last_remb", "_loss", "_lossy", "_regrown_at", "ceiling", "remb")

    def __init__(self) -> None:
        self.remb: int | None = None
        self.ceiling: float | None = None  # bit/s the subscriber may be sent; None while nothing says less
        self._loss: float | None = None  # the worst fraction lost reported since the last update
        self._last_remb: int | None = None  # the REMB at the last update
        self._lossy = False  # the loss was over CONGESTED_LOSS at the last update
        self._hold_s = HOLD_MIN_S
        self._hold_until = -math.inf
        self._regrown_at = -math.inf

    def on_remb(self, bitrate: int) -> None:
        self.remb = bitrate

    def on_loss(self, fraction: float) -> None:
        self._loss = fraction if self._loss is None else max(self._loss, fraction)

    def update(self, sent_bps: float, wanted_bps: float, now_s: float) -> float | None:
        """The new ceiling, given what was sent (bit/s) and what the subscriber's requests would cost."""
        reported, self._loss = self._loss, None
        loss = reported or 0.0
        remb = self.remb
        # loss counts only twice in a row (an update without a report leaves the streak as it was): one stall of
        # the client is not congestion
        lossy, was_lossy = loss > CONGESTED_LOSS, self._lossy
        if reported is not None:
            self._lossy = lossy
        # a REMB says the path queues when it fell, under what is sent: a browser's estimate starts low and
        # climbs while it is sent more, which is no congestion
        last, self._last_remb = self._last_remb, remb
        queueing = remb is not None and last is not None and remb < last and remb < REMB_CONGESTED * sent_bps
        if lossy and was_lossy or queueing:
            cut = sent_bps * (1 - loss / 2)
            if remb is not None:
                cut = min(cut, remb)
            self.ceiling = max(MIN_BITRATE, min(cut, self.ceiling if self.ceiling is not None else math.inf))
            if now_s - self._regrown_at < 2 * HOLD_MIN_S:  # the last regrowth ran into it: wait longer next time
                self._hold_s = min(self._hold_s * 2, HOLD_MAX_S)
            elif now_s - self._hold_until > HOLD_MAX_S:  # the first congestion in a long while
                self._hold_s = HOLD_MIN_S
            self._hold_until = now_s + self._hold_s
        elif self.ceiling is not None and now_s >= self._hold_until and loss < CLEAN_LOSS:
            self.ceiling *= REGROWTH
            self._regrown_at = now_s
            if self.ceiling > UNCAPPED_MARGIN * wanted_bps and (remb is None or remb > self.ceiling):
                self.ceiling = None
        return self.ceiling


class UplinkEstimate:
    __slots__ = ("bitrate",)

    def __init__(self) -> None:
        self.bitrate = float(UPLINK_START)

    def update(self, incoming_bps: float, loss: float) -> int:
        """The REMB for a publisher whose media arrived at ``incoming_bps`` with ``loss`` (0..1) lost."""
        if loss > CONGESTED_LOSS:
            self.bitrate = incoming_bps * (1 - loss / 2)
        elif loss < CLEAN_LOSS:
            self.bitrate = min(self.bitrate * UPLINK_GROWTH, UPLINK_HEADROOM * incoming_bps + UPLINK_START)
        self.bitrate = max(self.bitrate, MIN_BITRATE)
        return int(self.bitrate)
