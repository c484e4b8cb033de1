"""The SFU's seam to the coordinator: who may join, who left, who is still here, and the coordinator's events.

In ``weir serve`` the coordinator runs in the same process and ``LocalCoordinator`` calls it directly; a
scaled-out SFU implements the same four members over Redis (the bus already has that shape).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from weir.bus.base import Subscription
from weir.protocol.sfu.models import Pin


class CoordinatorUnavailable(Exception):
    """The coordinator did not answer the SFU (busy, restarting or unreachable): the caller may try again."""


@dataclass(frozen=True)
class ParticipantRecord:
    """A session participant as the coordinator knows it."""

    user_id: str
    session_id: str
    role: str
    anonymous: bool
    joined_at: datetime
    name: str = ""
    image: str = ""
    custom: dict[str, Any] = field(default_factory=dict)


def parse_pins(stored: list[dict[str, Any]]) -> tuple[Pin, ...]:
    """Pins as the coordinator stores and sends them (``pinned_at`` in ISO 8601)."""
    return tuple(Pin(user_id=p["user_id"], session_id=p["session_id"], pinned_at=datetime.fromisoformat(p["pinned_at"]))
                 for p in stored)


@dataclass(frozen=True)
class CallRecord:
    """What the SFU needs of a call: its running session's start and pins, and its effective settings."""

    cid: str
    started_at: datetime | None
    pins: tuple[Pin, ...]
    settings: dict[str, Any]


class CoordinatorLink(Protocol):
    async def admit(self, call_cid: str, session_id: str) -> tuple[CallRecord, ParticipantRecord] | None:
        """The call and the participant, if ``session_id`` is a participant of the call's running session.

        Raises ``CoordinatorUnavailable`` when the coordinator does not answer."""
        ...

    async def participant_left(self, call_cid: str, session_id: str, reason: str) -> None:
        """The SFU no longer has this participant: the coordinator ends its participation."""
        ...

    async def keep_alive(self, session_ids: Collection[str]) -> None:
        """These participants are connected to the SFU (the coordinator's inactivity sweep spares them)."""
        ...

    async def record_stats(self, call_cid: str, samples: list[dict[str, Any]]) -> None:
        """One interval's stats samples of a call's sessions (``weir.sfu.signaling.stats``), each naming its
        ``user_session_id`` and ``user_id``."""
        ...

    def subscribe(self) -> Subscription:
        """The coordinator's events from now on (permissions, mutes, kicks, pins, the call ending)."""
        ...


__all__ = ["CallRecord", "CoordinatorLink", "CoordinatorUnavailable", "ParticipantRecord", "parse_pins"]
