"""What a provider said about one push."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Outcome(Enum):
    DELIVERED = "delivered"
    RETRY = "retry"  # a temporary failure: try again later
    FAILED = "failed"  # a permanent failure of this push
    UNREGISTERED = "unregistered"  # the token is dead: disable the device


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    detail: str = ""
    retry_after: float | None = None  # seconds, when the provider said so


DELIVERED = SendResult(Outcome.DELIVERED)


def retry_after(header: str | None) -> float | None:
    """A ``Retry-After`` header in seconds (the date form is ignored)."""
    try:
        return max(float(header), 0.0) if header else None
    except ValueError:
        return None


def http_failure(status: int, detail: str, retry_header: str | None = None) -> SendResult:
    """Throttling and server errors are retried; other errors are final."""
    if status == 429 or status >= 500:
        return SendResult(Outcome.RETRY, detail, retry_after(retry_header))
    return SendResult(Outcome.FAILED, detail)
