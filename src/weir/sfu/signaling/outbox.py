"""One signaling socket's queue of outgoing messages, drained by that socket's writer task.

A bounded queue per socket means a slow client never holds up the others: when it overflows, the socket is
closed instead (the client reconnects with the fast strategy and gets the whole state again).
"""

from __future__ import annotations

import asyncio

from weir.protocol.sfu.errors import SignalError
from weir.protocol.sfu.events import ErrorEvent
from weir.protocol.sfu.models import ErrorInfo, Outbound

OUTBOX_SIZE = 1000
NORMAL_CLOSURE = 1000
POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013


def error_event(error: SignalError) -> ErrorEvent:
    policy = error.policy
    return ErrorEvent(error=ErrorInfo(code=error.code.value, message=error.message, should_retry=policy.should_retry),
                      reconnect_strategy=policy.strategy, request_id=error.request_id)


class Outbox:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[str | None] = asyncio.Queue(OUTBOX_SIZE)
        self.closed = False
        self.close_code = NORMAL_CLOSURE
        self.close_reason = ""

    def send(self, event: Outbound) -> None:
        if self.closed:
            return
        try:
            self.queue.put_nowait(event.model_dump_json())
        except asyncio.QueueFull:
            self.close(TRY_AGAIN_LATER, "too slow: the message queue overflowed")

    def fail(self, error: SignalError) -> None:
        """Send the error; close the socket after it when the error's policy says so."""
        self.send(error_event(error))
        if error.policy.closes:
            self.close(POLICY_VIOLATION, error.code.value)

    def close(self, code: int = NORMAL_CLOSURE, reason: str = "") -> None:
        """End the socket after what is queued (or, when the queue is full, instead of it)."""
        if self.closed:
            return
        self.closed, self.close_code, self.close_reason = True, code, reason
        while self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(None)


__all__ = ["Outbox", "error_event"]
