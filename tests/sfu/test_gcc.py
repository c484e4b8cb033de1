"""The delay-based estimate on a simulated path: it grows on a clean one, sees a queue build when more is sent
than the link carries (overuse), cuts to what gets through, and grows again once the path allows."""

from __future__ import annotations

from tests.sfu.bottleneck import Packet, Path
from weir.sfu.gcc import BETA, AckedRate, AimdRate, DelayBasedEstimate, InterArrival, Trendline

RTT_MS = 50.0


def driver(estimate: DelayBasedEstimate, wanted_bps: float):  # type: ignore[no-untyped-def]
    def feedback(packets: list[Packet], now_ms: float) -> float:
        return estimate.on_packets(packets, now_ms, RTT_MS, wanted_bps)
    return feedback


def test_a_clean_path_lets_it_grow_past_what_is_sent_and_no_further_than_half_again() -> None:
    estimate = DelayBasedEstimate(300_000)
    path = Path(capacity_bps=5_000_000, jitter_ms=2.0)
    estimates = path.run(30, 600_000, driver(estimate, 600_000), estimate.rate.bps)
    assert estimate.rate.decreases == 0 and estimate.trendline.state != "overuse"
    acked = estimate.acked.bps
    assert acked is not None and abs(acked - 600_000) < 60_000
    assert estimates[-1] > 600_000  # past what is asked for and sent: room to spare
    assert estimates[-1] < 1.55 * acked  # but not much more than half again without the throughput to show


def test_a_queue_that_grows_is_overuse_and_cuts_to_what_gets_through_then_it_recovers() -> None:
    estimate = DelayBasedEstimate(1_500_000)
    path = Path(capacity_bps=800_000, jitter_ms=1.0)
    wanted = 1_500_000
    feedback = driver(estimate, wanted)
    estimates = path.run(6, wanted, feedback, estimate.rate.bps)
    assert estimate.rate.decreases >= 1
    assert estimates[-1] < 800_000  # under the link's capacity: the queue drains
    assert min(estimates) >= 0.5 * BETA * 800_000  # cut to what got through, not to nothing
    # the link is freed: it grows back, past the old capacity
    path.capacity_bps = 3_000_000
    estimates = path.run(40, wanted, feedback, estimates[-1])
    assert max(estimates) > 1_200_000


def test_near_the_rate_congestion_was_seen_at_it_grows_additively() -> None:
    rate = AimdRate(1_000_000)
    rate.update("overuse", 1_000_000, 0.0)
    assert rate.bps == BETA * 1_000_000
    rate.update("normal", 1_000_000, 100.0)  # from the hold
    for step in range(2, 12):
        rate.update("normal", 1_000_000, step * 100.0)
    near = rate.bps - BETA * 1_000_000  # one second of additive growth: about a packet per response time
    far = AimdRate(BETA * 1_000_000)
    far.update("normal", 1_000_000, 100.0)
    for step in range(2, 12):
        far.update("normal", 1_000_000, step * 100.0)
    assert 0 < near < far.bps - BETA * 1_000_000
    assert abs(far.bps / (BETA * 1_000_000) - 1.08) < 0.001  # 8 % in a second, far from it


def test_one_decrease_per_response_time_and_underuse_holds() -> None:
    rate = AimdRate(1_000_000)
    rate.update("overuse", 900_000, 0.0)
    rate.update("overuse", 700_000, 100.0)  # within the round trip plus 100 ms
    assert rate.bps == BETA * 900_000 and rate.decreases == 1
    rate.update("overuse", 700_000, 300.0)
    assert rate.bps == BETA * 700_000
    held = rate.bps
    for now in (400.0, 500.0, 600.0):
        rate.update("underuse", 700_000, now)
    assert rate.bps == held


def test_bursts_form_one_group_and_reordered_packets_are_skipped() -> None:
    arrivals = InterArrival()
    assert arrivals.add(0.0, 100.0) is None
    assert arrivals.add(4.0, 104.0) is None  # within 5 ms of the group's first
    assert arrivals.add(20.0, 121.0) is None  # a new group; nothing to compare the first with yet
    assert arrivals.add(10.0, 122.0) is None  # sent before the current group: reordered
    assert arrivals.add(22.0, 123.0) is None
    assert arrivals.add(40.0, 141.0) == (22.0 - 4.0, 123.0 - 104.0, 123.0)
    # a queue releasing packets in one go: arriving within 5 ms, sooner than sent apart, joins the group
    assert arrivals.add(50.0, 142.0) is None
    assert arrivals.add(60.0, 160.0) == (50.0 - 22.0, 142.0 - 123.0, 142.0)


def test_the_threshold_adapts_to_a_noisy_path() -> None:
    trendline = Trendline()
    for index in range(200):
        jitter = 3.0 if index % 2 else -3.0
        trendline.update(20.0, 20.0 + jitter, index * 20.0)
    assert trendline.state == "normal"
    assert 6.0 <= trendline.threshold <= 600.0


def test_the_acked_rate_is_what_arrived_in_the_last_second() -> None:
    acked = AckedRate()
    for index in range(100):
        acked.add(index * 10.0, 1250)  # 1 Mbit/s
    assert acked.bps is None  # not a whole second yet
    for index in range(100, 200):
        acked.add(index * 10.0, 1250 if index < 150 else 625)  # then half as much
    assert acked.bps is not None and abs(acked.bps - 750_000) < 1
