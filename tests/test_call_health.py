"""Call health: the seed's thresholds as a classifier, client report readings, and bounded timelines."""

from __future__ import annotations

import pytest

from weir.domain.call_health import Reading, call_level, classify, combine, percentile, worst
from weir.domain.client_stats import client_reading, totals
from weir.protocol.app_settings import check_event_types
from weir.sfu.signaling.stats import SessionStats
from weir.store.call_stats import compact


@pytest.mark.parametrize(("reading", "level"), [
    (Reading(jitter_ms=39.9), "good"), (Reading(jitter_ms=40), "fair"), (Reading(jitter_ms=50), "fair"),
    (Reading(jitter_ms=50.1), "poor"),
    (Reading(rtt_ms=149), "good"), (Reading(rtt_ms=150), "fair"), (Reading(rtt_ms=301), "poor"),
    (Reading(fps=30), "good"), (Reading(fps=24), "good"), (Reading(fps=23), "fair"), (Reading(fps=15), "fair"),
    (Reading(fps=14.9), "poor"),
    (Reading(encode_ms=24), "good"), (Reading(encode_ms=25), "fair"), (Reading(encode_ms=34), "poor"),
    (Reading(decode_ms=19), "good"), (Reading(decode_ms=20), "fair"), (Reading(decode_ms=34), "poor"),
    (Reading(packet_loss=0.049), "good"), (Reading(packet_loss=0.05), "fair"), (Reading(packet_loss=0.10), "fair"),
    (Reading(packet_loss=0.12), "poor"),
    (Reading(concealment=0.01), "good"), (Reading(concealment=0.07), "fair"), (Reading(concealment=0.2), "poor"),
    (Reading(), "unknown"),
])
def test_each_threshold_of_the_seed(reading: Reading, level: str) -> None:
    assert classify(reading)[0] == level


def test_issues_name_the_metric_and_value_worst_first() -> None:
    level, issues = classify(Reading(jitter_ms=45, packet_loss=0.12, rtt_ms=20, fps=12))
    assert level == "poor"
    assert [i.text for i in issues] == ["poor: packet loss 12%", "poor: frame rate 12 fps", "fair: jitter 45 ms"]
    assert [i.metric for i in issues] == ["packet_loss", "fps", "jitter"]


def test_a_call_is_as_good_as_its_worst_participant() -> None:
    good = classify(Reading(jitter_ms=10, rtt_ms=20))
    lossy = classify(Reading(packet_loss=0.15))
    slightly = classify(Reading(packet_loss=0.07, rtt_ms=200))
    level, issues = call_level([good, lossy, slightly])
    assert level == "poor"
    assert [i.text for i in issues] == ["poor: packet loss 15%", "fair: round trip 200 ms"]
    assert call_level([])[0] == "unknown"
    assert worst(["good", "unknown"]) == "good"


def test_combine_averages_the_metrics_each_reading_has() -> None:
    merged = combine([Reading(packet_loss=0.1, fps=30), Reading(packet_loss=0.2), Reading(rtt_ms=100)])
    assert merged.packet_loss == pytest.approx(0.15) and merged.fps == 30 and merged.rtt_ms == 100
    assert merged.jitter_ms is None


def test_percentiles_interpolate() -> None:
    assert percentile([1, 2, 3, 4, 5], 50) == 3
    assert percentile([10], 90) == 10
    assert percentile([0, 10], 90) == pytest.approx(9)


def test_python_and_browser_reports_give_loss_jitter_rtt_and_rates() -> None:
    python_before = totals({"audio_packetsSent": 100, "audio_bytesSent": 1000})
    python_after = totals({"audio_packetsSent": 200, "audio_bytesSent": 11000, "audio_packetsLost": 12,
                           "round_trip_time": 0.08})
    browser_before = totals({"video.0.packetsReceived": 100, "video.0.packetsLost": 0, "video.0.framesDecoded": 0})
    browser_after = totals({"video.0.packetsReceived": 190, "video.0.packetsLost": 10, "video.0.framesDecoded": 60,
                            "video.0.jitter": 0.02, "video.1.framesDecoded": 0, "bogus.x.packetsLost": 99})
    reading, kbps = client_reading((python_before, python_after), (browser_before, browser_after), 2.0)
    assert reading.packet_loss == pytest.approx(0.12)  # 12 of 100 sent (the downlink lost 10 of 100)
    assert reading.rtt_ms == pytest.approx(80) and reading.jitter_ms == pytest.approx(20)
    assert reading.fps == pytest.approx(30)  # one stream decoding
    assert kbps == pytest.approx(40)  # 10000 bytes in 2 s
    assert reading.concealment is None and reading.encode_ms is None


def test_browser_reports_give_encode_and_decode_time_and_concealment() -> None:
    before = totals({"video.h.framesEncoded": 100, "video.h.totalEncodeTime": 1.0})
    after = totals({"video.h.framesEncoded": 130, "video.h.totalEncodeTime": 2.2})
    sub_before = totals({"video.1.framesDecoded": 10, "video.1.totalDecodeTime": 0.1,
                         "audio.2.concealedSamples": 100, "audio.2.totalSamplesReceived": 48000})
    sub_after = totals({"video.1.framesDecoded": 40, "video.1.totalDecodeTime": 0.4,
                        "audio.2.concealedSamples": 7300, "audio.2.totalSamplesReceived": 96000})
    reading, _ = client_reading((before, after), (sub_before, sub_after), 1.0)
    assert reading.encode_ms == pytest.approx(40) and reading.decode_ms == pytest.approx(10)
    assert reading.concealment == pytest.approx(0.15)
    assert reading.fps == pytest.approx(30)
    assert [i.text for i in classify(reading)[1]] == ["poor: encode time 40 ms", "poor: audio concealment 15%"]


def test_a_counter_that_went_back_tells_nothing() -> None:
    reading, kbps = client_reading((totals({"audio_bytesSent": 900}), totals({"audio_bytesSent": 10})),
                                   (totals({}), totals({"audio_packetsLost": 5})), 1.0)
    assert kbps is None and reading.packet_loss is None


def test_a_long_timeline_stays_bounded_and_keeps_the_worst() -> None:
    points = [{"at": f"t{i}", "packet_loss": 0.01, "fps": 30.0, "bitrate_kbps": 500.0} for i in range(1000)]
    points[3]["packet_loss"], points[2]["fps"] = 0.4, 5.0
    kept = compact(points, limit=240)
    assert len(kept) <= 240
    assert kept[0]["at"] == "t0" and kept[-1]["at"] == "t999"
    assert max(p["packet_loss"] for p in kept) == 0.4 and min(p["fps"] for p in kept) == 5.0


def test_the_seed_models_name_for_the_report_event_is_an_alias() -> None:
    assert check_event_types(["call.report_ready", "call.stats_report_ready"]) == ["call.stats_report_ready"]
    assert check_event_types(["call.user_feedback"]) == ["call.user_feedback_submitted"]
    with pytest.raises(ValueError, match="unknown event types: call.nope"):
        check_event_types(["call.nope"])


def _published(layers: list[list[object]], repaired: int = 0) -> dict[str, object]:
    return {"rtt_ms": 20.0, "tracks": [{"track_type": "video", "direction": "published", "kind": "video",
                                        "layers": layers, "repaired": repaired, "nacks": 3, "plis": 1}]}


def test_the_sfu_counts_what_never_arrived_before_retransmission() -> None:
    stats = SessionStats()
    stats.sample(_published([["q", 100, 1000, 99], ["h", 0, 0, -1]]))
    # q: 100 more numbers, 90 originals arrived and 5 repairs; h starts (its first packets have no gap to measure)
    sample = stats.sample(_published([["q", 195, 2000, 199], ["h", 50, 500, 49]], repaired=5))
    (track,) = sample["tracks"]
    assert track["packets_lost"] == 10 and track["layers"] == ["q", "h"] and track["nacks"] == 3
    assert sample["reading"]["packet_loss"] == pytest.approx(0.10) and sample["reading"]["rtt_ms"] == 20.0
