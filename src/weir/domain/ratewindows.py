"""Fixed-window counters: how many hits a key had in the current window (the coordinator's rate limits and the
SFU's join limit both count this way)."""

from __future__ import annotations

import time
from collections.abc import Callable

PRUNE_ABOVE_KEYS = 100_000


class FixedWindows:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._counts: dict[tuple[str, ...], tuple[int, int]] = {}

    def _start(self, window: int) -> int:
        return int(self._clock() // window) * window

    def hit(self, key: tuple[str, ...], window: int) -> tuple[int, int]:
        """Count one hit; returns the count in the current window and when that window ends (Unix time)."""
        start = self._start(window)
        count, seen_start = self._counts.get(key, (0, start))
        if seen_start != start:
            count = 0
            if len(self._counts) > PRUNE_ABOVE_KEYS:
                self._prune()
        self._counts[key] = (count + 1, start)
        return count + 1, start + window

    def count(self, key: tuple[str, ...], window: int) -> tuple[int, int]:
        """The hits so far in the current window, without counting one; and when the window ends."""
        start = self._start(window)
        count, seen_start = self._counts.get(key, (0, start))
        return (count if seen_start == start else 0), start + window

    def _prune(self) -> None:
        """Forget keys whose window (of up to a minute) has passed."""
        cutoff = self._clock() - 60
        self._counts = {k: v for k, v in self._counts.items() if v[1] >= cutoff}
