"""When a failed delivery is tried again, as the seed documents it.

Response 408, 429 or >= 500: up to 3 attempts. Network error: up to 2. Request timeout: up to 3. Other answers
(4xx, 3xx) are final. One request may take at most 6 s and all attempts of a delivery together at most 15 s, so
the last attempt gets what is left of the budget, and no attempt starts with less than ``min_attempt`` left.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

RETRYABLE_STATUSES = frozenset({408, 429})
MAX_ATTEMPTS_ON_STATUS = 3
MAX_ATTEMPTS_ON_NETWORK_ERROR = 2
MAX_ATTEMPTS_ON_TIMEOUT = 3


@dataclass(frozen=True)
class Outcome:
    """What one attempt got: an HTTP status, or a network error or timeout (``error``) with a ``detail``."""

    status: int | None = None
    error: Literal["network", "timeout"] | None = None
    detail: str = ""

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def describe(self) -> str:
        if self.status is not None:
            return f"HTTP {self.status}: {self.detail}" if self.detail else f"HTTP {self.status}"
        return f"{self.error}: {self.detail}" if self.detail else str(self.error)


@dataclass(frozen=True)
class RetryPolicy:
    request_timeout: float = 6.0
    total_timeout: float = 15.0
    delays: tuple[float, ...] = (0.5, 1.5)  # before attempt 2, attempt 3 (the last repeats)
    min_attempt: float = 1.0

    def max_attempts(self, outcome: Outcome) -> int:
        if outcome.error == "network":
            return MAX_ATTEMPTS_ON_NETWORK_ERROR
        if outcome.error == "timeout":
            return MAX_ATTEMPTS_ON_TIMEOUT
        status = outcome.status or 0
        if status in RETRYABLE_STATUSES or status >= 500:
            return MAX_ATTEMPTS_ON_STATUS
        return 1

    def timeout_for(self, elapsed: float) -> float:
        """The timeout of an attempt starting ``elapsed`` seconds into the delivery."""
        return max(0.0, min(self.request_timeout, self.total_timeout - elapsed))

    def retry_delay(self, outcome: Outcome, attempt: int, elapsed: float) -> float | None:
        """Seconds to wait before the next attempt, or None when ``attempt`` (1-based) was the last."""
        if outcome.delivered or attempt >= self.max_attempts(outcome):
            return None
        delay = self.delays[min(attempt, len(self.delays)) - 1] if self.delays else 0.0
        if elapsed + delay + self.min_attempt > self.total_timeout:
            return None
        return delay
