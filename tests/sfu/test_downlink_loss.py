"""The downlink's loss: from the subscriber's cumulative counters, across every stream, once per assessment."""

from __future__ import annotations

from dataclasses import dataclass

from tests.sfu.test_receiver import Layer, feed, setup, subscribe
from weir.sfu.downtrack import NACK_INTERVAL_NS, DownTrack
from weir.sfu.rtc.downlink import Downlink
from weir.sfu.rtcp import ReportBlock


def report(lost: int, highest: int, fraction: int = 0) -> ReportBlock:
    return ReportBlock(ssrc=1, fraction_lost=fraction, packets_lost=lost, highest_sequence=highest, jitter=0,
                       last_sr=0, delay_since_last_sr=0)


@dataclass(eq=False)
class ReportedSlot:
    report: ReportBlock


def test_loss_is_what_the_cumulative_counters_say_across_streams_not_a_reports_own_fraction() -> None:
    downlink = Downlink(lambda: 0)
    audio, video = ReportedSlot(report(0, 1000)), ReportedSlot(report(0, 5000))
    assert downlink._lost_since_last([audio, video]) is None  # type: ignore[list-item]  # nothing to compare with yet
    # aiortc's fraction swings to 56 % over a few late packets; the counters say 3 of 150 were lost
    audio.report = report(2, 1050, fraction=143)
    video.report = report(1, 5100, fraction=20)
    assert downlink._lost_since_last([audio, video]) == 3 / 150  # type: ignore[list-item]
    audio.report = report(1, 1100)  # late packets arrived: the count went down
    assert downlink._lost_since_last([audio, video]) == 0.0  # type: ignore[list-item]


@dataclass(eq=False)
class NackedSlot:
    downtrack: DownTrack


def test_loss_counts_what_the_subscriber_nacked_though_retransmissions_repaired_it() -> None:
    receiver, _, _ = setup(layers=1)
    downtrack, _ = subscribe(receiver, 0, start_seq=0)
    layer = Layer(0, 0, 0, 0)
    downlink = Downlink(lambda: 0)
    slot = NackedSlot(downtrack)
    feed(receiver, layer, layer.frame(keyframe=True))
    assert downlink._nacked_since_last([slot]) is None  # type: ignore[list-item]  # nothing to compare with yet
    frames = [layer.frame() for _ in range(10)]
    feed(receiver, layer, [packet for frame in frames[:8] + frames[9:] for packet in frame])  # one never came
    downtrack.handle_nack([1, 2, 3], 0)  # three of the nine sent, repaired at once
    downtrack.handle_nack([1, 2, 3, 9], NACK_INTERVAL_NS)  # the same again, and the one the SFU never got
    assert downlink._nacked_since_last([slot]) == 3 / 9  # type: ignore[list-item]
    assert downlink._nacked_since_last([slot]) is None  # type: ignore[list-item]  # nothing sent since
