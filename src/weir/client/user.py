"""Who the client connects as: ``User.regular``, ``User.guest`` or ``User.anonymous``; ``UserInfo`` for members."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from weir.domain.tokens import ANONYMOUS_USER_ID
from weir.protocol.users import UserResponse


class UserType(StrEnum):
    REGULAR = "regular"
    GUEST = "guest"
    ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class User:
    """The connecting user. A guest's ``id`` is replaced by the server-assigned one on ``connect()``."""

    id: str
    type: UserType = UserType.REGULAR
    name: str | None = None
    image: str | None = None
    role: str | None = None
    language: str | None = None
    teams: tuple[str, ...] = ()
    custom: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def regular(cls, user_id: str, *, name: str | None = None, image: str | None = None,
                language: str | None = None, custom: Mapping[str, Any] | None = None) -> User:
        """An authenticated user; ``custom`` is the Dart SDK's ``extraData``."""
        return cls(user_id, UserType.REGULAR, name, image, language=language, custom=dict(custom or {}))

    @classmethod
    def guest(cls, user_id: str, *, name: str | None = None, image: str | None = None,
              custom: Mapping[str, Any] | None = None) -> User:
        """A temporary user the server creates on ``connect()`` (``POST /guest``), with an id of its choosing."""
        return cls(user_id, UserType.GUEST, name, image, custom=dict(custom or {}))

    @classmethod
    def anonymous(cls) -> User:
        """No WebSocket and no events; the token must name the ``call_cids`` it may watch or join."""
        return cls(ANONYMOUS_USER_ID, UserType.ANONYMOUS)

    @property
    def is_anonymous(self) -> bool:
        return self.type is UserType.ANONYMOUS

    def details(self) -> dict[str, Any]:
        """What the WebSocket handshake sends as ``user_details`` (the server upserts these)."""
        fields = {"name": self.name, "image": self.image, "language": self.language,
                  "custom": dict(self.custom) if self.custom else None}
        return {"id": self.id, **{k: v for k, v in fields.items() if v is not None}}

    def adopt(self, me: UserResponse) -> User:
        """This user as the server knows them (``connection.ok``'s ``me`` or the guest response)."""
        return replace(self, id=me.id, name=me.name, image=me.image, role=me.role, language=me.language or None,
                       teams=tuple(me.teams), custom=dict(me.custom))


@dataclass(frozen=True)
class UserInfo:
    """A user named as a call member: ``call.add_members([UserInfo(id="charlie", role="call_member")])``."""

    id: str
    role: str | None = None
    custom: Mapping[str, Any] | None = None

    def member_request(self) -> dict[str, Any]:
        request: dict[str, Any] = {"user_id": self.id}
        if self.role is not None:
            request["role"] = self.role
        if self.custom is not None:
            request["custom"] = dict(self.custom)
        return request
