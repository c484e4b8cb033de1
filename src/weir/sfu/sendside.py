"""``SendSideEstimate``: the downlink ceiling of a subscriber that negotiated transport-cc.

The subscriber reports when each transport-wide sequence number arrived (``TransportCc``); matched with when
the SFU sent it and its size (``SendHistory``), every feedback feeds the delay-based estimate (gcc.py). Once per
assessment the ceiling is that estimate, or less where loss says so: GoogCC's loss rule, as the other estimates
run it (``LossCuts``: cut by half the loss above 10 %, unless cutting did not lower it; regrow 8 % an assessment
under 2 %, until the delay-based estimate is the lower again). REMB is not used.

Until the path first shows congestion (an overuse, or loss cut for), the estimate is kept at least at what the
subscriber asks for: the SFU forwards layers publishers already send, so, like the REMB estimate that starts
with no ceiling, it starts by forwarding what is asked for and lets the delay and loss it causes say otherwise,
rather than starting every subscriber at ``START_BPS`` and pausing videos while it climbs.
"""

from __future__ import annotations

import math
from operator import itemgetter

from weir.sfu.bwe import CLEAN_LOSS, HEAVY_LOSS, MIN_BITRATE, LossCuts
from weir.sfu.gcc import DelayBasedEstimate
from weir.sfu.headerext import SendHistory
from weir.sfu.quality import RttMeter
from weir.sfu.transportcc import DELTA_US, REFERENCE_US, TransportCc

__all__ = ["START_BPS", "SendSideEstimate"]

START_BPS = 300_000  # bit/s before anything is known, as WebRTC's send-side estimators start
LOSS_REGROWTH = 1.08  # per clean assessment
_REFERENCE_BITS = 24
_arrival = itemgetter(1)


class SendSideEstimate:
    __slots__ = ("_cuts", "_loss", "_loss_bound", "_reference", "_rtt", "_settled", "ceiling", "delay", "feedbacks",
                 "history", "wanted_bps")

    def __init__(self, history: SendHistory, rtt: RttMeter | None = None, start_bps: float = START_BPS) -> None:
        self.history = history
        self._rtt = rtt
        self.delay = DelayBasedEstimate(start_bps)
        self.ceiling: float | None = None
        self.feedbacks = 0  # transport-cc feedback packets taken
        self._reference: tuple[int, int] | None = None  # the latest reference time, as sent and unwrapped
        self.wanted_bps = 0.0  # what the subscriber's requests cost, at the latest assessment
        self._loss: float | None = None  # the worst fraction lost reported since the last update
        self._cuts = LossCuts()
        self._loss_bound: float | None = None  # where loss keeps the ceiling under the delay-based estimate
        self._settled = False  # the path has shown congestion once

    @property
    def bps(self) -> float:
        """The delay-based estimate."""
        return self.delay.rate.bps

    def on_remb(self, bitrate: int, ssrcs: tuple[int, ...] = ()) -> None:
        """REMB is not used: transport-cc feedback replaces it."""

    def on_loss(self, fraction: float) -> None:
        self._loss = fraction if self._loss is None else max(self._loss, fraction)

    def on_feedback(self, feedback: TransportCc, now_ns: int) -> None:
        """Take one feedback packet: the packets it reports received go to the delay-based estimate."""
        history = self.history
        arrival_us = self._unwrap_reference(feedback.reference_time) * REFERENCE_US
        packets = []
        base = feedback.base_sequence
        for offset, delta in enumerate(feedback.deltas):
            if delta is None:
                continue
            arrival_us += delta * DELTA_US
            seq = history.unwrap((base + offset) & 0xFFFF)
            if seq is not None:
                index = seq & history.mask
                packets.append((history.sent_ns[index] / 1e6, arrival_us / 1000, history.sizes[index]))
        packets.sort(key=_arrival)
        self.feedbacks += 1
        self.delay.on_packets(packets, now_ns / 1e6, None if self._rtt is None else self._rtt.rtt_ms, self.wanted_bps)

    def update(self, sent_bps: float, wanted_bps: float, now_s: float,
               sent_by_ssrc: dict[int, float] | None = None, next_bps: float = 0.0,
               floor_bps: float = MIN_BITRATE) -> float:
        """The new ceiling: the delay-based estimate, or the loss bound where that is lower (never under
        ``floor_bps``, audio and every video's lowest layer, unless the loss is heavy). ``next_bps`` (what the
        allocation's next step up would need) is not needed here: the estimate may grow up to all that is asked
        for."""
        self.wanted_bps = wanted_bps
        rate = self.delay.rate
        reported, self._loss = self._loss, None
        loss = reported or 0.0
        if reported is not None and self._cuts.cut(loss, now_s):
            base = min(rate.bps, self._loss_bound or math.inf)
            self._loss_bound = max(MIN_BITRATE if loss > HEAVY_LOSS else max(MIN_BITRATE, floor_bps),
                                   base * (1 - loss / 2))
            self._settled = True
        elif self._loss_bound is not None and loss < CLEAN_LOSS:
            self._loss_bound *= LOSS_REGROWTH
            if self._loss_bound >= rate.bps:
                self._loss_bound = None
        self._settled = self._settled or rate.decreases > 0
        if not self._settled:
            rate.bps = max(rate.bps, wanted_bps)
        self.ceiling = min(rate.bps, self._loss_bound or math.inf)
        return self.ceiling

    def _unwrap_reference(self, reference: int) -> int:
        if self._reference is None:
            unwrapped = reference
        else:
            last, last_unwrapped = self._reference
            step = (reference - last) & ((1 << _REFERENCE_BITS) - 1)
            if step >= 1 << (_REFERENCE_BITS - 1):
                step -= 1 << _REFERENCE_BITS
            unwrapped = last_unwrapped + step
        self._reference = (reference, unwrapped)
        return unwrapped
