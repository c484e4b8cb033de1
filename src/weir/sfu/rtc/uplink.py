"""``Uplink``: one publisher's side of bandwidth and quality, from its receivers' counters.

Once per assessment it measures each published layer (its cost in bit/s, which allocation uses, and what was
lost on the way in), and gives the REMB to send the publisher: the ``UplinkEstimate`` for the video that
arrived at the loss it arrived with.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from weir.sfu.bwe import LayerMeter, UplinkEstimate
from weir.sfu.quality import mos

if TYPE_CHECKING:
    from weir.sfu.rtc.track import PublishedTrack

__all__ = ["Uplink"]


class Uplink:
    def __init__(self) -> None:
        self.estimate = UplinkEstimate()
        self.costs: dict[PublishedTrack, list[float]] = {}  # bit/s of each layer of each published track
        self._meters: dict[PublishedTrack, list[LayerMeter]] = {}
        self._at_ns: int | None = None
        self._loss: float | None = None
        self.lost = 0  # packets lost on the way in, over every assessment (for /metrics)

    def assess(self, tracks: Sequence[PublishedTrack], now_ns: int) -> int | None:
        """Measure the tracks; the REMB bit rate for the publisher's video, None without video arriving."""
        received = expected = video_octets = 0
        meters: dict[PublishedTrack, list[LayerMeter]] = {}
        for track in tracks:
            counters = track.receiver.counters()
            meters[track] = self._meters.get(track) or [LayerMeter() for _ in counters]
            for meter, (packets, octets, highest) in zip(meters[track], counters, strict=True):
                meter.sample(packets, octets, highest, now_ns)
                received += meter.received
                expected += meter.expected
                if track.kind == "video":
                    video_octets += meter.octets
        elapsed_ns = now_ns - self._at_ns if self._at_ns is not None else 0
        self._meters, self._at_ns = meters, now_ns
        self.costs = {track: [meter.cost.bps for meter in layers] for track, layers in meters.items()}
        self.lost += max(0, expected - received)
        self._loss = max(0, expected - received) / expected if expected > 0 else None
        if not video_octets or elapsed_ns <= 0:
            return None
        return self.estimate.update(video_octets * 8e9 / elapsed_ns, self._loss or 0.0, now_ns / 1e9)

    def score(self) -> float | None:
        """The mean opinion score of the latest assessment's loss; None if nothing arrived."""
        return None if self._loss is None else mos(self._loss)
