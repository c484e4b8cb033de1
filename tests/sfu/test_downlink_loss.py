"""The downlink's loss: from the subscriber's cumulative counters, across every stream, once per assessment."""

from __future__ import annotations

from dataclasses import dataclass

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
