"""The send-side estimate end to end: packets stamped by the extension sink, transport-cc feedback built from
their simulated arrival and parsed off the wire, matched with the send history; the start, the loss rule, and
the reference time's wrap."""

from __future__ import annotations

import pytest

from tests.sfu.bottleneck import Packet, Path
from weir.sfu.headerext import ExtensionSink, SendHistory
from weir.sfu.rtcp import parse_compound
from weir.sfu.rtp import build_packet
from weir.sfu.sendside import START_BPS, SendSideEstimate
from weir.sfu.transportcc import DELTA_US, REFERENCE_US, TransportCc

LOST_EVERY = 40  # every 40th packet is reported lost
REFERENCE_WRAP_MS = (1 << 24) * REFERENCE_US / 1000


class Subscriber:
    """Sends what the path carries through a real ``ExtensionSink`` and reports it back as transport-cc."""

    def __init__(self, estimate: SendSideEstimate, clock_offset_ms: float = 0.0) -> None:
        self.estimate = estimate
        self.offset_ms = clock_offset_ms  # the subscriber's clock against the SFU's
        self._send_ms = 0.0
        self._wire: list[int] = []
        self.sink = ExtensionSink(self._wire.append, 0, 5, estimate.history, now_ns=lambda: int(self._send_ms * 1e6))
        self.count = 0

    def __call__(self, packets: list[Packet], now_ms: float) -> float:
        if packets:
            arrivals = []
            for send_ms, arrival_ms, size in packets:
                self._send_ms = send_ms
                self.sink(bytearray(build_packet(payload_type=96, sequence_number=1, timestamp=1, ssrc=1,
                                                 payload=bytes(size - 12))))
                arrivals.append(arrival_ms + self.offset_ms)
            self._report(arrivals)
        self.estimate.update(0.0, self.wanted_bps, now_ms / 1000)
        return self.estimate.ceiling or 0.0

    def _report(self, arrivals: list[float]) -> None:
        base = self.estimate.history.next_seq - len(arrivals)
        reference = int(arrivals[0] * 1000 // REFERENCE_US)
        at_us = reference * REFERENCE_US
        deltas: list[int | None] = []
        for index, arrival_ms in enumerate(arrivals):
            if (base + index) % LOST_EVERY == 0:
                deltas.append(None)
                continue
            ticks = round((arrival_ms * 1000 - at_us) / DELTA_US)
            deltas.append(ticks)
            at_us += ticks * DELTA_US
        feedback = TransportCc(1, 2, base & 0xFFFF, reference & 0xFFFFFF, self.count & 0xFF, tuple(deltas))
        self.count += 1
        (parsed,) = parse_compound(bytes(feedback))
        assert isinstance(parsed, TransportCc)
        self.estimate.on_feedback(parsed, int(arrivals[-1] * 1e6))

    wanted_bps = 0.0

    def run(self, path: Path, seconds: float, wanted_bps: float) -> list[float]:
        self.wanted_bps = wanted_bps
        return path.run(seconds, wanted_bps, self, self.estimate.ceiling or START_BPS)


def test_on_a_clean_path_the_ceiling_is_the_delay_based_estimate_and_it_grows() -> None:
    estimate = SendSideEstimate(SendHistory())
    subscriber = Subscriber(estimate)
    ceilings = subscriber.run(Path(5_000_000), 20, 400_000)
    assert estimate.feedbacks == len(ceilings)
    assert estimate.delay.acked.bps is not None and estimate.delay.acked.bps > 350_000
    assert ceilings[-1] == estimate.bps > 1.3 * 400_000  # grown past what is sent and asked for
    assert estimate.delay.rate.decreases == 0


def test_it_forwards_what_is_asked_for_until_the_path_congests_then_follows_the_estimate() -> None:
    estimate = SendSideEstimate(SendHistory())
    subscriber = Subscriber(estimate)
    path = Path(800_000)
    first = subscriber.run(path, 1, 1_500_000)
    assert first[0] >= 1_500_000 > START_BPS  # what is asked for, from the start
    ceilings = subscriber.run(path, 8, 1_500_000)
    assert estimate.delay.rate.decreases >= 1
    assert ceilings[-1] < 800_000  # now under what the link carries
    path.capacity_bps = 4_000_000
    assert max(subscriber.run(path, 30, 1_500_000)) > 1_000_000  # and it grows back


def test_loss_lowers_the_ceiling_under_the_delay_based_estimate_until_it_is_clean_again() -> None:
    estimate = SendSideEstimate(SendHistory())
    subscriber = Subscriber(estimate)
    path = Path(5_000_000)
    subscriber.run(path, 5, 600_000)
    delay_based = estimate.bps
    estimate.on_loss(0.3)
    estimate.on_remb(1_000, (1,))  # REMB says nothing here
    assert estimate.update(600_000, 600_000, 100.0) == delay_based * (1 - 0.3 / 2)
    estimate.on_loss(0.0)
    assert estimate.update(600_000, 600_000, 101.0) == delay_based * (1 - 0.3 / 2) * 1.08
    for second in range(102, 106):
        estimate.on_loss(0.0)
        estimate.update(600_000, 600_000, float(second))
    assert estimate.ceiling == estimate.bps  # regrown past the delay-based estimate: that is the ceiling again


def test_feedback_whose_reference_time_wraps_reads_the_same() -> None:
    results = []
    for offset in (0.0, REFERENCE_WRAP_MS - 3_000):  # the subscriber's 24-bit reference time wraps 3 s in
        estimate = SendSideEstimate(SendHistory())
        subscriber = Subscriber(estimate, clock_offset_ms=offset)
        path = Path(700_000)
        subscriber.run(path, 10, 1_000_000)
        results.append((estimate.bps, estimate.delay.rate.decreases))
    assert results[0] == pytest.approx(results[1]) and results[0][1] >= 1


def test_feedback_for_numbers_never_sent_is_ignored() -> None:
    estimate = SendSideEstimate(SendHistory())
    estimate.on_feedback(TransportCc(1, 2, 100, 0, 0, (4, 4, None, 4)), 0)
    assert estimate.feedbacks == 1 and estimate.delay.acked.bps is None
