"""Ringing rules: who is rung, how answers and timeouts end a ring, who missed it.

A ring is stored on the call session as ``{id, caller_id, callees, video, started_at, ended_at, timed_out}``;
answers are ``accepted_by`` / ``rejected_by`` maps of user id → time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

REJECT_REASONS = ("busy", "decline", "timeout", "cancel")
DEFAULT_REJECT_REASON = "decline"


def callees(member_ids: Iterable[str], caller_id: str, blockers: Iterable[str]) -> list[str]:
    """Members to ring: never the caller, never someone who blocked the caller."""
    skip = {caller_id, *blockers}
    return [m for m in dict.fromkeys(member_ids) if m not in skip]


@dataclass
class Ring:
    id: str
    caller_id: str
    callees: list[str]
    video: bool
    started_at: str
    ended_at: str | None = None
    timed_out: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, data: Mapping[str, Any]) -> Ring | None:
        return cls(**data) if data else None

    def dump(self) -> dict[str, Any]:
        return {"id": self.id, "caller_id": self.caller_id, "callees": self.callees, "video": self.video,
                "started_at": self.started_at, "ended_at": self.ended_at, "timed_out": self.timed_out}

    @property
    def active(self) -> bool:
        return self.ended_at is None

    def in_progress(self, accepted_by: Mapping[str, Any], rejected_by: Mapping[str, Any]) -> bool:
        """Still ringing someone: not ended, and a callee has neither answered nor timed out."""
        return self.active and any(c not in self.timed_out for c in self.unanswered(accepted_by, rejected_by))

    def unanswered(self, accepted_by: Mapping[str, Any], rejected_by: Mapping[str, Any]) -> list[str]:
        return [c for c in self.callees if c not in accepted_by and c not in rejected_by]

    def all_rejected(self, accepted_by: Mapping[str, Any], rejected_by: Mapping[str, Any]) -> bool:
        return bool(self.callees) and not any(c in accepted_by for c in self.callees) and all(
            c in rejected_by for c in self.callees
        )

    def missed(
        self, accepted_by: Mapping[str, Any], rejected_by: Mapping[str, Any], joined: Iterable[str]
    ) -> list[str]:
        """Callees who neither accepted, rejected nor joined (an incoming-call timeout is not an answer)."""
        present = set(joined)
        return [c for c in self.callees if c not in accepted_by and c not in rejected_by and c not in present]
