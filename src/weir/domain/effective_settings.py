"""A call's effective settings, typed where Weir reads them.

The stored settings stay plain JSON (the call type's, with the call's override merged on top): the API returns
them whole and capabilities look paths up in them. What the coordinator acts on is read here, once, with the
defaults in one place instead of a ``.get(...)`` chain at every use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_INACTIVITY_TIMEOUT_SECONDS = 30


def _section(settings: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = settings.get(name)
    return value if isinstance(value, Mapping) else {}


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


@dataclass(frozen=True, slots=True)
class Limits:
    max_participants: int  # 0: no limit
    max_participants_exclude_owner: bool
    max_participants_exclude_roles: frozenset[str]
    max_duration_seconds: int  # 0: no timer


@dataclass(frozen=True, slots=True)
class RingTimeouts:
    auto_cancel_ms: int  # 0: off
    incoming_call_ms: int
    missed_call_ms: int
    end_call_when_all_rejected: bool


@dataclass(frozen=True, slots=True)
class EffectiveSettings:
    raw: dict[str, Any]  # as stored and returned by the API
    backstage_enabled: bool
    join_ahead_time_seconds: int | None
    limits: Limits
    ring: RingTimeouts
    inactivity_timeout_seconds: int

    @classmethod
    def of(cls, settings: dict[str, Any]) -> EffectiveSettings:
        backstage, limits = _section(settings, "backstage"), _section(settings, "limits")
        ring, session = _section(settings, "ring"), _section(settings, "session")
        join_ahead = backstage.get("join_ahead_time_seconds")
        return cls(
            raw=settings,
            backstage_enabled=bool(backstage.get("enabled", False)),
            join_ahead_time_seconds=join_ahead if isinstance(join_ahead, int) else None,
            limits=Limits(
                max_participants=_int(limits.get("max_participants")),
                max_participants_exclude_owner=bool(limits.get("max_participants_exclude_owner")),
                max_participants_exclude_roles=frozenset(limits.get("max_participants_exclude_roles") or ()),
                max_duration_seconds=_int(limits.get("max_duration_seconds")),
            ),
            ring=RingTimeouts(
                auto_cancel_ms=_int(ring.get("auto_cancel_timeout_ms")),
                incoming_call_ms=_int(ring.get("incoming_call_timeout_ms")),
                missed_call_ms=_int(ring.get("missed_call_timeout_ms")),
                end_call_when_all_rejected=bool(ring.get("end_call_when_all_rejected", True)),
            ),
            inactivity_timeout_seconds=_int(session.get("inactivity_timeout_seconds"))
            or DEFAULT_INACTIVITY_TIMEOUT_SECONDS,
        )

    def access_request_allowed(self, section: str) -> bool:
        """Whether users may ask for the permission the ``section`` (audio, video, screensharing) governs."""
        settings = _section(self.raw, section)
        return settings.get("enabled") is not False and bool(settings.get("access_request_enabled"))
