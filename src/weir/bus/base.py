"""The bus interface and the envelope every event travels in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Envelope:
    """One event and who it is for.

    ``event`` is the JSON object clients receive. ``user_ids`` are the users it is addressed to (a call's
    members, the callees of a ring, the subject of a ``user.*`` event); ``call_cid`` also reaches every
    connection watching that call unless ``watchers`` is false (ring events go to callees only).
    """

    event: dict[str, Any]
    call_cid: str | None = None
    user_ids: frozenset[str] = field(default_factory=frozenset)
    watchers: bool = True
    close_sockets: bool = False  # the addressed users' sockets close once the event is delivered

    @property
    def type(self) -> str:
        return str(self.event.get("type", ""))


class Subscription(Protocol):
    def __aiter__(self) -> AsyncIterator[Envelope]: ...

    async def ready(self) -> None:
        """Return once every envelope published from now on will reach this subscription."""
        ...

    async def close(self) -> None: ...


class EventBus(Protocol):
    async def publish(self, envelope: Envelope) -> None: ...

    def subscribe(self) -> Subscription:
        """Every envelope published from now on, in order, until ``close``."""
        ...
