"""Connection quality: the E-model score, its three grades, settling, and RTT from reception reports."""

from __future__ import annotations

from weir.sfu.quality import QualityGrade, RttMeter, grade, mos
from weir.sfu.rtcp import SenderReport


def test_the_score_falls_with_loss_jitter_and_round_trip_time() -> None:
    assert grade(mos(0.0, 2, 20)) == "excellent"
    assert grade(mos(0.05, 5, 50)) == "good"
    assert grade(mos(0.3)) == "poor"
    assert grade(mos(0.0, 5, 900)) != "excellent"  # a long round trip alone costs
    assert mos(0.01) > mos(0.02) > mos(0.1) > mos(0.5) >= 1.0


def test_a_grade_moves_only_once_the_new_one_has_settled() -> None:
    reported = QualityGrade()
    assert reported.current == "unspecified"
    assert not reported.update("excellent")
    assert reported.update("excellent") and reported.current == "excellent"
    assert not reported.update("poor")  # one bad assessment
    assert not reported.update("excellent") and reported.current == "excellent"
    assert not reported.update("poor")
    assert reported.update("poor") and reported.current == "poor"


def test_round_trip_time_comes_from_when_the_named_sr_was_sent() -> None:
    meter = RttMeter()
    report = bytes(SenderReport(1, 0x1234_5678_9ABC_DEF0, 0, 0, 0))
    meter.sent(report, 1_000_000_000)
    meter.received(0x5678_9ABC, 65536 // 10, 1_150_000_000)  # 150 ms later, 100 ms of it held by the client
    assert meter.rtt_ms is not None and abs(meter.rtt_ms - 50) < 0.1
    meter.received(0x1111_1111, 0, 2_000_000_000)  # an SR it never sent: no change
    assert abs(meter.rtt_ms - 50) < 0.1
