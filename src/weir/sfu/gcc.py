"""A send-side, delay-based bandwidth estimate after Google Congestion Control (draft-ietf-rmcat-gcc, with the
trendline filter libwebrtc runs in place of the draft's Kalman filter), fed packet by packet from transport-cc
feedback as (send time ms, arrival time ms, size in bytes), in arrival order.

- ``InterArrival`` groups packets into bursts: those sent within ``BURST_MS`` of a group's first packet, or
  arriving within ``BURST_MS`` of its last one and sooner than they were sent apart (a queue releasing them in
  one go), are one group. Each completed group gives how much longer it took to arrive after the previous one
  than to be sent after it: the growth of the queue between them.
- ``Trendline`` adds these up into the queueing delay built since the start, smooths it, and fits a line to
  the last ``WINDOW`` points (arrival time, smoothed delay). The slope, scaled by the number of samples, is
  compared with a threshold that follows it (quickly down, slowly up, and not at all for spikes), so the
  detector stays sensitive on a quiet path and is not set off by noise: above it for ``OVERUSE_MS`` and rising
  is overuse, below its negative is underuse (a queue draining), between is normal.
- ``AckedRate``: the bit rate of what arrived in the last ``ACKED_WINDOW_MS`` of arrival time.
- ``AimdRate``: the estimate. Overuse cuts it to ``BETA`` x the acked rate (at most once per response time)
  and holds; underuse holds; normal grows it: by 8 % a second while it is far from the acked rate at which
  congestion was last seen, by about one packet per response time near it. It grows only while it is under
  1.5 x the acked rate (plus 10 kbit/s) or under what the subscriber asks for: the SFU sends only what fits
  under the estimate, and without room to try the next layer the estimate could never rise to it.

``DelayBasedEstimate`` runs the four on each feedback. Nothing here does I/O or knows RTCP.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from typing import Literal

__all__ = ["AckedRate", "AimdRate", "DelayBasedEstimate", "InterArrival", "Trendline", "Usage"]

Usage = Literal["normal", "overuse", "underuse"]
BURST_MS = 5.0
MAX_BURST_MS = 100.0  # a burst spans at most this much arrival time
RESET_MS = 3000.0  # a group this much later than expected: the path changed, start over
WINDOW = 20  # points the trendline is fitted to
SMOOTHING = 0.9  # weight of the previous smoothed delay
TREND_GAIN = 4.0
TREND_SAMPLES = 60  # the slope is scaled by the number of samples, up to this
OVERUSE_MS = 10.0  # the trend must stay over the threshold this long
THRESHOLD_START = 12.5
THRESHOLD_MIN, THRESHOLD_MAX = 6.0, 600.0
THRESHOLD_UP, THRESHOLD_DOWN = 0.0087, 0.039  # per ms, towards the trend
THRESHOLD_SPIKE = 15.0  # a trend this far above the threshold does not move it
THRESHOLD_STEP_MS = 100.0
ACKED_WINDOW_MS = 1000.0
BETA = 0.85
GROWTH = 1.08  # per second, far from the last congestion
NEAR = 0.25  # within this share of the rate congestion was last seen at, growth is additive
CAPACITY_SMOOTHING = 0.2
PACKET_BITS = 1200 * 8
MIN_ADDITIVE_BPS = 4000.0  # per second
RESPONSE_MS = 100.0  # added to the round-trip time: how long a change takes to show in feedback
DEFAULT_RTT_MS = 100.0
THROUGHPUT_HEADROOM = 1.5
THROUGHPUT_MARGIN_BPS = 10_000.0
MIN_BPS = 10_000.0
MAX_STEP_S = 1.0  # growth counts at most this much time between two updates


class _Group:
    __slots__ = ("first_arrival", "first_send", "last_arrival", "last_send")

    def __init__(self, send_ms: float, arrival_ms: float) -> None:
        self.first_send = self.last_send = send_ms
        self.first_arrival = self.last_arrival = arrival_ms


class InterArrival:
    __slots__ = ("_current", "_previous")

    def __init__(self) -> None:
        self._current: _Group | None = None
        self._previous: _Group | None = None

    def add(self, send_ms: float, arrival_ms: float) -> tuple[float, float, float] | None:
        """Take one packet; when it starts a new group, the completed group's (send delta, arrival delta, arrival
        time) against the group before it."""
        current = self._current
        if current is None:
            self._current = _Group(send_ms, arrival_ms)
            return None
        if send_ms < current.first_send:
            return None  # reordered: it belongs to a group already done with
        if send_ms - current.first_send <= BURST_MS or self._in_burst(current, send_ms, arrival_ms):
            current.last_send = max(current.last_send, send_ms)
            current.last_arrival = arrival_ms
            return None
        previous, self._previous, self._current = self._previous, current, _Group(send_ms, arrival_ms)
        if previous is None:
            return None
        send_delta = current.last_send - previous.last_send
        arrival_delta = current.last_arrival - previous.last_arrival
        if arrival_delta < 0 or arrival_delta - send_delta > RESET_MS:
            self._previous = None  # the receiver's clock jumped, or the path changed: no delta across it
            return None
        return send_delta, arrival_delta, current.last_arrival

    @staticmethod
    def _in_burst(group: _Group, send_ms: float, arrival_ms: float) -> bool:
        arrival_delta = arrival_ms - group.last_arrival
        return (arrival_delta <= BURST_MS and arrival_delta < send_ms - group.last_send
                and arrival_ms - group.first_arrival < MAX_BURST_MS)


class Trendline:
    __slots__ = ("_accumulated", "_count", "_first_arrival", "_over_count", "_over_ms", "_points", "_previous_trend",
                 "_slope", "_smoothed", "_threshold_at", "state", "threshold")

    def __init__(self) -> None:
        self._count = 0
        self._accumulated = 0.0  # ms of queueing built since the start
        self._smoothed = 0.0
        self._first_arrival: float | None = None
        self._points: deque[tuple[float, float]] = deque(maxlen=WINDOW)
        self._slope = 0.0
        self._previous_trend = 0.0
        self._over_ms = -1.0  # how long the trend has been over the threshold; -1: it is not
        self._over_count = 0
        self.threshold = THRESHOLD_START
        self._threshold_at: float | None = None
        self.state: Usage = "normal"

    def update(self, send_delta: float, arrival_delta: float, arrival_ms: float) -> Usage:
        self._count = min(self._count + 1, 1000)
        self._accumulated += arrival_delta - send_delta
        self._smoothed = SMOOTHING * self._smoothed + (1 - SMOOTHING) * self._accumulated
        if self._first_arrival is None:
            self._first_arrival = arrival_ms
        self._points.append((arrival_ms - self._first_arrival, self._smoothed))
        if len(self._points) == WINDOW:
            self._slope = _slope(self._points, self._slope)
        self._detect(send_delta, arrival_ms)
        return self.state

    def _detect(self, send_delta: float, arrival_ms: float) -> None:
        if self._count < 2:
            return
        trend = min(self._count, TREND_SAMPLES) * self._slope * TREND_GAIN
        if trend > self.threshold:
            self._over_ms = send_delta / 2 if self._over_ms < 0 else self._over_ms + send_delta
            self._over_count += 1
            if self._over_ms > OVERUSE_MS and self._over_count > 1 and trend >= self._previous_trend:
                self._over_ms, self._over_count = 0.0, 0
                self.state = "overuse"
        else:
            self._over_ms, self._over_count = -1.0, 0
            self.state = "underuse" if trend < -self.threshold else "normal"
        self._previous_trend = trend
        self._adapt(abs(trend), arrival_ms)

    def _adapt(self, size: float, arrival_ms: float) -> None:
        """Move the threshold towards the trend's size, in proportion to the time since the last move."""
        last, self._threshold_at = self._threshold_at, arrival_ms
        if last is None or size > self.threshold + THRESHOLD_SPIKE:
            return
        rate = THRESHOLD_DOWN if size < self.threshold else THRESHOLD_UP
        step_ms = min(arrival_ms - last, THRESHOLD_STEP_MS)
        self.threshold += rate * (size - self.threshold) * step_ms
        self.threshold = min(max(self.threshold, THRESHOLD_MIN), THRESHOLD_MAX)


def _slope(points: Iterable[tuple[float, float]], previous: float) -> float:
    """The least-squares slope of ``points``; ``previous`` when their times are all equal."""
    xs, ys = zip(*points, strict=True)
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return previous
    return float(sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread)


class AckedRate:
    """What arrived in the last ``ACKED_WINDOW_MS`` of arrival time, as bit/s."""

    __slots__ = ("_octets", "_packets", "_start", "bps")

    def __init__(self) -> None:
        self._packets: deque[tuple[float, int]] = deque()
        self._octets = 0
        self._start: float | None = None  # the first arrival
        self.bps: float | None = None  # None until a whole window has arrived

    def add(self, arrival_ms: float, size: int) -> None:
        packets = self._packets
        packets.append((arrival_ms, size))
        self._octets += size
        while arrival_ms - packets[0][0] >= ACKED_WINDOW_MS:
            self._octets -= packets.popleft()[1]
        if self._start is None:
            self._start = arrival_ms
        elif arrival_ms - self._start >= ACKED_WINDOW_MS:
            self.bps = self._octets * 8000 / ACKED_WINDOW_MS


class AimdRate:
    __slots__ = ("_at_ms", "_capacity", "_decreased_ms", "_increasing", "bps", "decreases")

    def __init__(self, start_bps: float) -> None:
        self.bps = start_bps
        self._capacity: float | None = None  # the acked rate when congestion was last seen, smoothed
        self._increasing = False  # hold until the first normal update
        self._at_ms: float | None = None
        self._decreased_ms = -math.inf
        self.decreases = 0

    def update(self, usage: Usage, acked_bps: float | None, now_ms: float, rtt_ms: float | None = None,
               wanted_bps: float = 0.0) -> float:
        """The estimate after one feedback's ``usage``, the acked rate, and what the subscriber asks for."""
        elapsed_s = 0.0 if self._at_ms is None else min(max(now_ms - self._at_ms, 0.0) / 1000, MAX_STEP_S)
        self._at_ms = now_ms
        response_ms = (DEFAULT_RTT_MS if rtt_ms is None else rtt_ms) + RESPONSE_MS
        if usage == "overuse":
            if now_ms - self._decreased_ms >= response_ms:
                self._decrease(acked_bps)
                self._decreased_ms = now_ms
            self._increasing = False
        elif usage == "underuse":
            self._increasing = False  # a queue drains: hold, so that it empties
        elif not self._increasing:
            self._increasing = True  # from a hold: grow from the next update on
        else:
            self._increase(acked_bps, elapsed_s, response_ms, wanted_bps)
        return self.bps

    def _decrease(self, acked_bps: float | None) -> None:
        self.decreases += 1
        if acked_bps is None:
            self.bps = max(BETA * self.bps, MIN_BPS)
            return
        capacity = self._capacity
        if capacity is None or abs(acked_bps - capacity) > NEAR * capacity:
            self._capacity = acked_bps
        else:
            self._capacity = CAPACITY_SMOOTHING * acked_bps + (1 - CAPACITY_SMOOTHING) * capacity
        self.bps = max(min(self.bps, BETA * acked_bps), MIN_BPS)

    def _increase(self, acked_bps: float | None, elapsed_s: float, response_ms: float, wanted_bps: float) -> None:
        capacity = self._capacity
        if capacity is not None and acked_bps is not None and acked_bps > (1 + NEAR) * capacity:
            capacity = self._capacity = None  # more gets through than when it was congested: the path changed
        if capacity is not None and self.bps < (1 + NEAR) * capacity:
            grown = self.bps + max(MIN_ADDITIVE_BPS, PACKET_BITS * 1000 / response_ms) * elapsed_s
        else:
            grown = self.bps * GROWTH**elapsed_s
        limit = max(wanted_bps, THROUGHPUT_HEADROOM * (acked_bps or 0.0) + THROUGHPUT_MARGIN_BPS)
        self.bps = min(grown, max(self.bps, limit))


class DelayBasedEstimate:
    __slots__ = ("acked", "arrivals", "rate", "trendline")

    def __init__(self, start_bps: float) -> None:
        self.arrivals = InterArrival()
        self.trendline = Trendline()
        self.acked = AckedRate()
        self.rate = AimdRate(start_bps)

    def on_packets(self, packets: Iterable[tuple[float, float, int]], now_ms: float, rtt_ms: float | None = None,
                   wanted_bps: float = 0.0) -> float:
        """The estimate after one feedback's received packets, (send ms, arrival ms, bytes) in arrival order."""
        arrivals, trendline, acked = self.arrivals, self.trendline, self.acked
        for send_ms, arrival_ms, size in packets:
            acked.add(arrival_ms, size)
            deltas = arrivals.add(send_ms, arrival_ms)
            if deltas is not None:
                trendline.update(*deltas)
        return self.rate.update(trendline.state, acked.bps, now_ms, rtt_ms, wanted_bps)
