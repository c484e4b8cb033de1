"""``Downlink``: one subscriber's side of bandwidth and quality: what it reports, and which layers fit.

The subscriber's RTCP feeds it (REMB, and per reception report the loss, jitter and, by the SR it names, the
round-trip time). Once per assessment ``assess`` measures what was sent, updates the ``DownlinkEstimate`` and
allocates the subscriber's unmuted video slots within it: each slot's ``cap`` becomes the highest layer it may
get, or None when its video is paused because even the lowest layer has not fitted for ``PAUSE_AFTER``
assessments in a row. Its ``score`` grades what the subscriber reported, no better than "poor" while a video
is paused and "good" while one is reduced.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from weir.sfu.allocator import VideoDemand, allocate
from weir.sfu.bwe import DownlinkEstimate, RateMeter
from weir.sfu.ceiling import DownlinkCeiling
from weir.sfu.quality import RttMeter, mos
from weir.sfu.receiver import MAX_LAYERS
from weir.sfu.rtcp import ReportBlock

if TYPE_CHECKING:
    from weir.sfu.rtc.subscriber import Slot
    from weir.sfu.rtc.track import PublishedTrack

__all__ = ["Downlink"]

_FRACTION_SCALE = 256  # RFC 3550: fraction lost is in 1/256ths
PAUSED_SCORE = 2.0  # a subscriber with video paused for bandwidth is graded poor at best
REDUCED_SCORE = 4.0  # one sent a lower layer than it asked for, good at best
PAUSE_AFTER = 3  # assessments in a row without room for a video's lowest layer before it is paused


class Downlink:
    def __init__(self, now_ns: Callable[[], int]) -> None:
        self.estimate: DownlinkCeiling = DownlinkEstimate()  # the subscriber's negotiation may choose another
        self.rtt = RttMeter()
        self._now_ns = now_ns
        self._sent: dict[Slot, RateMeter] = {}  # what each slot was sent
        self._loss: float | None = None  # the worst fraction lost reported since the last assessment
        self._jitter_ms = 0.0
        self._limit = math.inf  # the best score the latest allocation allows
        self._starved: dict[Slot, int] = {}  # video slots without room for their lowest layer: for how long

    def on_remb(self, bitrate: int, ssrcs: tuple[int, ...]) -> None:
        self.estimate.on_remb(bitrate, ssrcs)

    def on_report(self, block: ReportBlock, clock_rate: int) -> None:
        fraction = block.fraction_lost / _FRACTION_SCALE
        self.estimate.on_loss(fraction)
        self._loss = max(self._loss or 0.0, fraction)
        self._jitter_ms = max(self._jitter_ms, block.jitter * 1000 / clock_rate)
        self.rtt.received(block.last_sr, block.delay_since_last_sr, self._now_ns())

    def rtcp_sender(self, send: Callable[[bytes], object]) -> Callable[[bytes], None]:
        """``send``, noting the time of each SR it carries (for the round-trip time)."""
        def send_noting_reports(data: bytes) -> None:
            self.rtt.sent(data, self._now_ns())
            send(data)

        return send_noting_reports

    def assess(self, slots: Sequence[Slot], costs: Mapping[PublishedTrack, Sequence[float]],
               priority: Callable[[PublishedTrack], int], now_ns: int) -> list[Slot]:
        """Allocate the video slots within the estimate (``priority`` says which videos to keep longest); returns
        those whose video was paused or resumed."""
        meters = {slot: self._sent.get(slot) or RateMeter() for slot in slots}
        self._sent = meters
        sent_by_ssrc = {slot.offered.ssrc: meter.sample(slot.downtrack.octets_sent, now_ns)
                        for slot, meter in meters.items()}
        live = [slot for slot in slots if slot.active and not slot.track.info.muted]
        video = [slot for slot in live if slot.track.kind == "video"]
        demands = [VideoDemand(slot.target, _costs(costs, slot), priority(slot.track)) for slot in video]
        audio = sum(_costs(costs, slot)[0] for slot in live if slot.track.kind == "audio")
        wanted = audio + sum(demand.costs[demand.wanted] for demand in demands)
        ceiling = self.estimate.update(sum(sent_by_ssrc.values()), wanted, now_ns / 1e9, sent_by_ssrc)
        changed = []
        self._limit = math.inf
        starved: dict[Slot, int] = {}
        for slot, layer in zip(video, allocate(demands, None if ceiling is None else ceiling - audio), strict=True):
            if layer is None:
                starved[slot] = self._starved.get(slot, 0) + 1
                if starved[slot] < PAUSE_AFTER and slot.cap is not None:
                    layer = 0  # not paused yet: the lowest layer, until the shortage has lasted
            if (layer is None) != (slot.cap is None):
                changed.append(slot)
            limited = layer is None or layer < slot.target
            slot.cap = layer if limited else MAX_LAYERS  # uncapped: a larger request applies at once
            if limited:
                self._limit = min(self._limit, PAUSED_SCORE if layer is None else REDUCED_SCORE)
        self._starved = starved
        return changed

    def score(self) -> float | None:
        """The mean opinion score of what was reported since the last call, no better than the allocation allows
        (video paused or reduced for bandwidth); None if nothing was reported and nothing is limited."""
        loss, self._loss = self._loss, None
        jitter, self._jitter_ms = self._jitter_ms, 0.0
        score = math.inf if loss is None else mos(loss, jitter, self.rtt.rtt_ms or 0.0)
        score = min(score, self._limit)
        return None if score == math.inf else score


def _costs(costs: Mapping[PublishedTrack, Sequence[float]], slot: Slot) -> Sequence[float]:
    layers = len(slot.track.rids) or 1
    return costs.get(slot.track) or [0.0] * layers
