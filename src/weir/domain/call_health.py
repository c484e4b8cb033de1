"""Call health: the seed's thresholds (jitter, RTT, FPS, encode and decode time, loss, audio concealment) as a
good / fair / poor classifier, per reading, per participant and per call.

A ``Reading`` is what one participant saw over an interval; any metric may be missing (no video, no report).
Losses and concealment are fractions (0.12 = 12 %).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from statistics import fmean
from typing import Literal

Level = Literal["good", "fair", "poor", "unknown"]
LEVELS: tuple[Level, ...] = ("unknown", "good", "fair", "poor")  # from best known to worst; unknown is no data


@dataclass(frozen=True, slots=True)
class Reading:
    jitter_ms: float | None = None
    rtt_ms: float | None = None
    fps: float | None = None
    encode_ms: float | None = None
    decode_ms: float | None = None
    packet_loss: float | None = None
    concealment: float | None = None


@dataclass(frozen=True, slots=True)
class Issue:
    metric: str
    level: Literal["fair", "poor"]
    value: float
    text: str


@dataclass(frozen=True, slots=True)
class _Threshold:
    metric: str  # the name issues carry
    field: str  # the Reading field
    label: str
    fair: float  # the value from which it is fair (beyond good)
    poor: float  # the value beyond which it is poor
    higher_is_better: bool = False
    unit: str = "ms"


# Seed L3400–3530: good below ``fair``, fair up to ``poor``, poor beyond it (FPS: the other way round).
THRESHOLDS: tuple[_Threshold, ...] = (
    _Threshold("packet_loss", "packet_loss", "packet loss", 0.05, 0.10, unit="%"),
    _Threshold("jitter", "jitter_ms", "jitter", 40, 50),
    _Threshold("rtt", "rtt_ms", "round trip", 150, 300),
    _Threshold("fps", "fps", "frame rate", 24, 15, higher_is_better=True, unit="fps"),
    _Threshold("encode_time", "encode_ms", "encode time", 25, 33),
    _Threshold("decode_time", "decode_ms", "decode time", 20, 33),
    _Threshold("audio_concealment", "concealment", "audio concealment", 0.05, 0.10, unit="%"),
)


def _level(threshold: _Threshold, value: float) -> Level:
    if threshold.higher_is_better:
        return "good" if value >= threshold.fair else "fair" if value >= threshold.poor else "poor"
    return "good" if value < threshold.fair else "fair" if value <= threshold.poor else "poor"


def _shown(threshold: _Threshold, value: float) -> str:
    if threshold.unit == "%":
        return f"{value * 100:.0f}%"
    return f"{value:.0f} {threshold.unit}"


def worst(levels: Iterable[Level]) -> Level:
    """The worst of ``levels``; unknown when none is known."""
    return max(levels, key=LEVELS.index, default="unknown")


def classify(reading: Reading) -> tuple[Level, list[Issue]]:
    """The reading's level (its worst metric) and every metric beyond good, worst first."""
    levels: list[Level] = []
    issues: list[Issue] = []
    for threshold in THRESHOLDS:
        value = getattr(reading, threshold.field)
        if value is None:
            continue
        level = _level(threshold, value)
        levels.append(level)
        if level in ("fair", "poor"):
            issues.append(Issue(threshold.metric, level, float(value),  # type: ignore[arg-type]
                                f"{level}: {threshold.label} {_shown(threshold, value)}"))
    issues.sort(key=lambda issue: issue.level != "poor")
    return worst(levels), issues


def combine(readings: Sequence[Reading]) -> Reading:
    """One reading for a stretch of time: the mean of each metric where readings have it."""
    values: dict[str, float | None] = {}
    for item in fields(Reading):
        present = [v for r in readings if (v := getattr(r, item.name)) is not None]
        values[item.name] = fmean(present) if present else None
    return Reading(**values)


def _severity(issue: Issue) -> tuple[int, float]:
    return LEVELS.index(issue.level), -issue.value if issue.metric == "fps" else issue.value


def call_level(participants: Iterable[tuple[Level, list[Issue]]]) -> tuple[Level, list[Issue]]:
    """A call is as good as its worst participant; its issues are each metric's worst among them."""
    levels: list[Level] = []
    by_metric: dict[str, Issue] = {}
    for level, issues in participants:
        levels.append(level)
        for issue in issues:
            known = by_metric.get(issue.metric)
            if known is None or _severity(issue) > _severity(known):
                by_metric[issue.metric] = issue
    ordered = sorted(by_metric.values(), key=lambda issue: issue.level != "poor")
    return worst(levels), ordered


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct`` percentile (0–100) of ``values`` by linear interpolation; ``values`` must not be empty."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * pct / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


__all__ = ["LEVELS", "THRESHOLDS", "Issue", "Level", "Reading", "call_level", "classify", "combine", "percentile",
           "worst"]
