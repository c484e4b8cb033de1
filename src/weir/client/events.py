"""Typed coordinator events (the protocol's models) and the streams that deliver them."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import ValidationError

from weir.client._observable import Broadcast, Listener
from weir.protocol.events import EVENT_MODELS, Event

log = logging.getLogger(__name__)
E = TypeVar("E", bound=Event)


def parse_event(data: dict[str, Any]) -> Event | None:
    """The event's model from the catalogue; an unknown type (or an event a newer server changed) is a plain
    ``Event`` with its fields kept; a message without type or timestamp is dropped."""
    model = EVENT_MODELS.get(str(data.get("type")), Event)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        log.warning("event %s does not match its model: %s", data.get("type"), error.errors()[:1])
    try:
        return Event.model_validate(data)
    except ValidationError:
        return None


class EventStream(Broadcast[Event]):
    """``async for event in stream``, ``stream.subscribe()``, or ``stream.on(CallReactionEvent, handler)``."""

    def on(self, event_type: type[E], handler: Callable[[E], Awaitable[None] | None]) -> Listener:
        """Call ``handler`` for each event of ``event_type`` (the Dart SDK's ``callEvents.on<T>(...)``)."""
        def filtered(event: Event) -> Awaitable[None] | None:
            return handler(event) if isinstance(event, event_type) else None

        return self.listen(filtered)
