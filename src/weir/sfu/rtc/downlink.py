"""``Downlink``: one subscriber's side of bandwidth and quality: what it reports, and which layers fit.

The subscriber's RTCP feeds it (REMB, and per reception report the jitter and, by the SR it names, the
round-trip time). Once per assessment ``assess`` measures what was sent and what was lost, updates the
``DownlinkEstimate`` and
allocates the subscriber's unmuted video slots within it: each slot's ``cap`` becomes the highest layer it may
get, or None when its video is paused because even the lowest layer has not fitted for ``PAUSE_AFTER``
assessments in a row; a step up waits for ``RISE_AFTER``. Against flapping (each switch costs the subscriber a
keyframe wait) a slot switches layers at most once per ``SWITCH_HOLD_S``, and a step down that saves less than
``MIN_SAVING`` of the layer's cost is not taken, unless the ceiling does not carry what is kept by more than
``CARRY_MARGIN``. A loss report that ends a reporting gap of ``STALL_GAP_S`` (the client's event loop was
blocked) is not read as the path's loss. Its ``score`` grades what the subscriber reported, no
better than "poor" while a video is paused and "good" while one is reduced.
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

_SANE_SPAN = 1 << 15  # a report's sequence numbers cannot advance this far in one assessment
PAUSED_SCORE = 2.0  # a subscriber with video paused for bandwidth is graded poor at best
REDUCED_SCORE = 4.0  # one sent a lower layer than it asked for, good at best
PAUSE_AFTER = 3  # assessments in a row without room for a video's lowest layer before it is paused
RISE_AFTER = 2  # assessments in a row with room for a higher layer (or a paused video) before it gets it
SWITCH_HOLD_S = 8.0  # a slot's layer changes at most once in this long (unless the ceiling does not carry it)
MIN_SAVING = 0.25  # a step down that saves less than this share of the layer's cost is not worth a keyframe wait
CARRY_MARGIN = 1.15  # held layers may overshoot the ceiling by this much before they are stepped down anyway
STALL_GAP_S = 3.0  # reports this far apart: the client stalled, and the report after the gap is no loss sample


class Downlink:
    def __init__(self, now_ns: Callable[[], int]) -> None:
        self.estimate: DownlinkCeiling = DownlinkEstimate()  # the subscriber's negotiation may choose another
        self.rtt = RttMeter()
        self._now_ns = now_ns
        self._sent: dict[Slot, RateMeter] = {}  # what each slot was sent
        self._loss: float | None = None  # the share lost since the previous assessment, across every stream
        self._counted: dict[Slot, tuple[int, int]] = {}  # each slot's (cumulative lost, highest sequence) then
        self._jitter_ms = 0.0
        self._limit = math.inf  # the best score the latest allocation allows
        self._starved: dict[Slot, int] = {}  # video slots without room for their lowest layer: for how long
        self._rising: dict[Slot, int] = {}  # video slots allocated more than they have: for how long
        self._switched_s: dict[Slot, float] = {}  # when each video slot last changed layers
        self._report_ns: int | None = None  # when the latest reception report arrived
        self._sampled_ns: int | None = None  # when the report behind the latest loss sample arrived

    def on_remb(self, bitrate: int, ssrcs: tuple[int, ...]) -> None:
        self.estimate.on_remb(bitrate, ssrcs)

    def on_report(self, block: ReportBlock, clock_rate: int) -> None:
        self._report_ns = self._now_ns()
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
        self._loss = self._lost_since_last(slots)
        if self._loss is not None and not self._after_gap():
            self.estimate.on_loss(self._loss)
        live = [slot for slot in slots if slot.active and not slot.track.info.muted]
        video = [slot for slot in live if slot.track.kind == "video"]
        demands = [VideoDemand(slot.target, _costs(costs, slot), priority(slot.track)) for slot in video]
        audio = sum(_costs(costs, slot)[0] for slot in live if slot.track.kind == "audio")
        wanted = audio + sum(demand.costs[demand.wanted] for demand in demands)
        allocated = audio + sum(d.costs[min(s.cap, d.wanted)]
                                for s, d in zip(video, demands, strict=True) if s.cap is not None)
        # the floor moderate loss may not cut under: audio and every video's lowest layer. Random loss that NACKs
        # repair is no congestion; pausing videos for it froze them for seconds at each pause and resume (six
        # participants under 10 % loss: five Opus streams alone filled the old floor of one lowest layer)
        lowest = sum(demand.costs[0] for demand in demands)
        ceiling = self.estimate.update(sum(sent_by_ssrc.values()), wanted, now_ns / 1e9, sent_by_ssrc,
                                       next_bps=allocated + _next_step(video, demands), floor_bps=audio + lowest)
        changed = []
        self._limit = math.inf
        starved: dict[Slot, int] = {}
        rising: dict[Slot, int] = {}
        now_s = now_ns / 1e9
        layers = allocate(demands, None if ceiling is None else ceiling - audio)
        if ceiling is not None:
            layers = self._held(video, demands, layers, ceiling - audio, now_s)
        for slot, layer in zip(video, layers, strict=True):
            if layer is None:
                starved[slot] = self._starved.get(slot, 0) + 1
                if starved[slot] < PAUSE_AFTER and slot.cap is not None:
                    layer = 0  # not paused yet: the lowest layer, until the shortage has lasted
            before = None if slot.cap is None else min(slot.cap, slot.target)
            if layer is not None and (before is None or layer > before):
                # a step up waits for a second assessment: measured costs swing with keyframes, and each switch
                # costs the subscriber a keyframe wait
                rising[slot] = self._rising.get(slot, 0) + 1
                if rising[slot] < RISE_AFTER:
                    layer = before
            if layer is not None and before is not None and layer > before \
                    and now_s - self._switched_s.get(slot, -math.inf) < SWITCH_HOLD_S:
                layer = before  # switched lately: a step up waits out the hold
            if layer != before:
                self._switched_s[slot] = now_s
            if (layer is None) != (slot.cap is None):
                changed.append(slot)
            limited = layer is None or layer < slot.target
            slot.cap = layer if limited else MAX_LAYERS  # uncapped: a larger request applies at once
            if limited:
                self._limit = min(self._limit, PAUSED_SCORE if layer is None else REDUCED_SCORE)
        self._starved, self._rising = starved, rising
        self._switched_s = {slot: at for slot, at in self._switched_s.items() if slot in video}
        return changed

    def _held(self, video: Sequence[Slot], demands: Sequence[VideoDemand], layers: list[int | None],
              ceiling: float, now_s: float) -> list[int | None]:
        """``layers`` with the steps down that are not worth a switch left out (they save under ``MIN_SAVING``
        of the layer's cost, or the slot switched within ``SWITCH_HOLD_S``), unless what is then kept overshoots
        the ceiling by more than ``CARRY_MARGIN``: the test pattern's layers cost nearly the same, and flipping
        between them under loss froze every video at each switch."""
        held = list(layers)
        for index, (slot, demand, layer) in enumerate(zip(video, demands, layers, strict=True)):
            before = None if slot.cap is None else min(slot.cap, slot.target)
            if layer is None or before is None or layer >= before or before >= len(demand.costs):
                continue
            saving = demand.costs[before] - demand.costs[layer]
            if saving < MIN_SAVING * demand.costs[before] \
                    or now_s - self._switched_s.get(slot, -math.inf) < SWITCH_HOLD_S:
                held[index] = before
        total = sum(d.costs[layer] for d, layer in zip(demands, held, strict=True) if layer is not None)
        return held if total <= CARRY_MARGIN * ceiling else layers

    def _after_gap(self) -> bool:
        """Whether the latest loss sample ends a reporting gap: a client whose event loop was blocked for seconds
        reports, once it runs again, the whole stall's packets as lost at once; that is no congestion."""
        before, self._sampled_ns = self._sampled_ns, self._report_ns
        return before is not None and self._report_ns is not None and \
            self._report_ns - before > STALL_GAP_S * 1e9

    def _lost_since_last(self, slots: Sequence[Slot]) -> float | None:
        """The share of packets lost since the last assessment across every stream the subscriber reported on,
        from its reports' cumulative counters; None if none advanced. Not from the reports' ``fraction_lost``:
        that covers whatever interval the client chose, and aiortc's swings to 50 % over a few late packets."""
        lost = expected = 0
        counted: dict[Slot, tuple[int, int]] = {}
        for slot in slots:
            if slot.report is None:
                continue
            now = counted[slot] = (slot.report.packets_lost, slot.report.highest_sequence)
            before = self._counted.get(slot)
            if before is not None and 0 < now[1] - before[1] < _SANE_SPAN:
                expected += now[1] - before[1]
                lost += now[0] - before[0]
        self._counted = counted
        return max(0, min(lost, expected)) / expected if expected else None

    def score(self) -> float | None:
        """The mean opinion score of what was reported since the last call, no better than the allocation allows
        (video paused or reduced for bandwidth); None if nothing was reported and nothing is limited."""
        loss = self._loss
        jitter, self._jitter_ms = self._jitter_ms, 0.0
        score = math.inf if loss is None else mos(loss, jitter, self.rtt.rtt_ms or 0.0)
        score = min(score, self._limit)
        return None if score == math.inf else score


def _next_step(video: Sequence[Slot], demands: Sequence[VideoDemand]) -> float:
    """What the cheapest step up from the current allocation would add: a paused video's lowest layer, or a
    reduced one's next layer; 0 when nothing is held back."""
    steps = []
    for slot, demand in zip(video, demands, strict=True):
        if slot.cap is None:
            steps.append(demand.costs[0])
        elif slot.cap < demand.wanted:
            steps.append(demand.costs[slot.cap + 1] - demand.costs[slot.cap])
    return min((step for step in steps if step > 0), default=0.0)


def _costs(costs: Mapping[PublishedTrack, Sequence[float]], slot: Slot) -> Sequence[float]:
    layers = len(slot.track.rids) or 1
    return costs.get(slot.track) or [0.0] * layers
