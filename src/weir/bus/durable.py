"""``DurableSink``: where an event is stored for delivery in the same transaction as the change that caused it.

The webhook outbox and push are such sinks: a crash can lose neither the change nor its delivery. The bus
itself carries events only after commit (``EventEmitter``).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["DurableSink"]


class DurableSink(Protocol):
    def __call__(self, session: AsyncSession, event: dict[str, Any], /) -> Awaitable[None]:
        """Store ``event`` (its JSON) for delivery, inside the caller's transaction ``session``."""
        ...
