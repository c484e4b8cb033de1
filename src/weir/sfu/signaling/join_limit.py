"""How many SFU joins one user may start a minute: a user's token-holding clients cannot flood the SFU's
admissions (each asks the coordinator) however many sockets they open."""

from __future__ import annotations

import time
from collections.abc import Callable

from weir.domain.ratewindows import FixedWindows
from weir.protocol.sfu.errors import SfuErrorCode, SignalError

WINDOW_SECONDS = 60


class JoinLimit:
    def __init__(self, per_minute: int, enabled: bool = True, clock: Callable[[], float] = time.time) -> None:
        self.per_minute, self.enabled = per_minute, enabled
        self._windows = FixedWindows(clock)

    def check(self, user_id: str, request_id: str | None = None) -> None:
        if not self.enabled:
            return
        used, _ = self._windows.hit(("join", user_id), WINDOW_SECONDS)
        if used > self.per_minute:
            raise SignalError(SfuErrorCode.RATE_LIMITED,
                              f"more than {self.per_minute} joins a minute: try again later", request_id)
