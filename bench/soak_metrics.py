"""The soak harness's figures, from what the client processes report (bench/soak_client.py's lines).

Time is counted in whole seconds from the measurement's start ``t0``: second ``i`` is ``[t0 + i, t0 + i + 1)``.
A pair's ``frames[i]`` is how many video frames the receiver decoded from the sender in second ``i``,
``gap_ms[i]`` the longest time without a frame that ended in (or lasted to the end of) second ``i``.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field

INTERVAL_S = 5  # a frozen interval: this many seconds of a pair without a frame
FULL_RATE_FPS = 25  # of the synthetic camera's 30: "full rate" after the loss ends


@dataclass
class PairSeries:
    sender: str
    receiver: str
    capped: bool = False
    frames: list[float] = field(default_factory=list)
    gap_ms: list[int] = field(default_factory=list)
    width: list[int] = field(default_factory=list)
    height: list[int] = field(default_factory=list)

    def mean_fps(self, start: int, end: int) -> float:
        window = self.frames[start:end]
        return sum(window) / len(window) if window else 0.0

    def frozen_intervals(self, start: int, end: int) -> tuple[int, int]:
        """(intervals without a frame, intervals) of the whole ``INTERVAL_S`` intervals in ``[start, end)``."""
        starts = range(start, end - INTERVAL_S + 1, INTERVAL_S)
        return sum(1 for s in starts if sum(self.frames[s:s + INTERVAL_S]) < 1), len(starts)

    def longest_freeze_s(self, start: int, end: int) -> float:
        return max(self.gap_ms[start:end], default=0) / 1000

    def recovery_s(self, end: int) -> int | None:
        """Seconds from ``end`` to the first second with at least ``FULL_RATE_FPS`` frames (None: never)."""
        return next((i - end for i in range(end, len(self.frames)) if self.frames[i] >= FULL_RATE_FPS), None)

    def median_width(self, start: int, end: int) -> int:
        """The median width of the frames decoded in ``[start, end)`` (seconds without a frame do not count)."""
        widths = [w for w, n in zip(self.width[start:end], self.frames[start:end], strict=False) if w and n >= 1]
        return int(statistics.median(widths)) if widths else 0


def pair_series(lines: Iterable[dict], t0: int, seconds: int, capped_receivers: set[str]) -> list[PairSeries]:
    """Per-pair series over ``seconds`` seconds from the client processes' per-second lines (cumulative
    counts at each boundary); a second without a report counts no frames."""
    cumulative: dict[tuple[str, str], dict[int, list[float]]] = {}
    for line in lines:
        for receiver, senders in line["rx"].items():
            for sender, sample in senders.items():
                cumulative.setdefault((receiver, sender), {})[int(line["t"]) - t0] = sample
    pairs = []
    for (receiver, sender), by_boundary in sorted(cumulative.items()):
        series = PairSeries(sender, receiver, receiver in capped_receivers)
        for i in range(seconds):
            start, end = by_boundary.get(i), by_boundary.get(i + 1)
            series.frames.append(round(end[0] - start[0], 2) if start and end else 0.0)
            series.gap_ms.append(int(end[1]) if end else 0)
            series.width.append(int(end[2]) if end else 0)
            series.height.append(int(end[3]) if end else 0)
        pairs.append(series)
    return pairs


def rss_slope_mb_per_min(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (second, MB) samples, in MB per minute (0 with fewer than two)."""
    if len(samples) < 2:
        return 0.0
    xs, ys = [s for s, _ in samples], [mb for _, mb in samples]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return 60 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var if var else 0.0


def quality(pairs: list[PairSeries], start: int, end: int) -> dict[str, float]:
    """mean_fps (over pairs), min_pair_fps, frozen_interval_pct in ``[start, end)``."""
    if not pairs:
        return {"mean_fps": 0.0, "min_pair_fps": 0.0, "frozen_interval_pct": 100.0}
    fps = [p.mean_fps(start, end) for p in pairs]
    frozen = [p.frozen_intervals(start, end) for p in pairs]
    total = sum(n for _, n in frozen)
    return {"mean_fps": round(statistics.fmean(fps), 1), "min_pair_fps": round(min(fps), 1),
            "frozen_interval_pct": round(100 * sum(f for f, _ in frozen) / total, 1) if total else 0.0}
