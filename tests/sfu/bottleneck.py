"""A simulated path for estimator tests: a sender that follows the estimate, a FIFO bottleneck link, and
feedback every ``FEEDBACK_MS`` of the packets that arrived by then."""

from __future__ import annotations

import random
from collections.abc import Callable

PACKET_BYTES = 1200
FEEDBACK_MS = 100.0
BASE_DELAY_MS = 20.0

Packet = tuple[float, float, int]  # send ms, arrival ms, bytes
Feedback = Callable[[list[Packet], float], float]  # packets in arrival order, now ms → the estimate (bit/s)


class Path:
    def __init__(self, capacity_bps: float, jitter_ms: float = 0.0, seed: int = 1) -> None:
        self.capacity_bps = capacity_bps
        self.jitter_ms = jitter_ms
        self.now_ms = 0.0
        self._random = random.Random(seed)
        self._free_ms = 0.0  # when the link has sent everything queued
        self._next_send_ms = 0.0
        self._in_flight: list[Packet] = []

    def run(self, seconds: float, wanted_bps: float, feedback: Feedback, rate_bps: float) -> list[float]:
        """Send at min(wanted, estimate) for ``seconds``; the estimate after each feedback."""
        estimates = []
        for _ in range(round(seconds * 1000 / FEEDBACK_MS)):
            end = self.now_ms + FEEDBACK_MS
            rate = min(wanted_bps, rate_bps)
            while self._next_send_ms < end:
                send = max(self._next_send_ms, self.now_ms)
                start = max(send + BASE_DELAY_MS, self._free_ms)
                self._free_ms = start + PACKET_BYTES * 8000 / self.capacity_bps
                arrival = self._free_ms + self._random.uniform(0, self.jitter_ms)
                self._in_flight.append((send, arrival, PACKET_BYTES))
                self._next_send_ms = send + PACKET_BYTES * 8000 / rate
            self.now_ms = end
            arrived = sorted((p for p in self._in_flight if p[1] <= end), key=lambda p: p[1])
            self._in_flight = [p for p in self._in_flight if p[1] > end]
            rate_bps = feedback(arrived, end)
            estimates.append(rate_bps)
        return estimates
