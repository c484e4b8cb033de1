"""Each API operation written once, as an ``Operation`` (method, path, body) handed to a sender.

The sync ``Client`` sends it and returns a ``WeirResponse``; the ``AsyncClient`` returns an awaitable of one.
The classes here are generic in that return type, so no operation is written twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import EllipsisType
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import quote

from pydantic import BaseModel

R = TypeVar("R")
JSON = dict[str, Any]
Sort = list[Mapping[str, Any]]
UserLike = Mapping[str, Any] | BaseModel
DeleteMode = Literal["soft", "pruning", "hard"]


@dataclass(frozen=True)
class Operation:
    """One request, relative to ``/api/v1``."""

    method: str
    path: str
    body: JSON | None = None
    params: dict[str, str] = field(default_factory=dict)


def segment(value: str) -> str:
    """A path segment, escaped (user ids may hold ``@``, ``.`` or ``!``)."""
    return quote(value, safe="")


def jsonable(value: Any) -> Any:
    """Pydantic models, datetimes, tuples and mappings as plain JSON values."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_unset=True, by_alias=True)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def body(**fields: Any) -> JSON:
    """A request body of the fields that were given (None means "not given")."""
    return {name: jsonable(value) for name, value in fields.items() if value is not None}


def query(filter_conditions: Mapping[str, Any] | None, sort: Sort | None, limit: int | None,
          next: str | None, prev: str | None, **extra: Any) -> JSON:
    """The body every ``Query*`` operation shares: filter, sort and cursor pagination."""
    return body(filter_conditions=filter_conditions, sort=sort, limit=limit, next=next, prev=prev, **extra)


def flatten(items: tuple[Any, ...]) -> list[Any]:
    """``f(a, b)`` and ``f([a, b])`` both mean the two items a and b."""
    out: list[Any] = []
    for item in items:
        if isinstance(item, (list, tuple)):
            out.extend(item)
        else:
            out.append(item)
    return out


def user_id_of(user: UserLike) -> str:
    value = user.get("id") if isinstance(user, Mapping) else getattr(user, "id", None)
    if not isinstance(value, str):
        raise ValueError(f"every user needs a string 'id': {user!r}")
    return value


class Group(Generic[R]):
    """A set of operations sharing one sender."""

    def __init__(self, send: Callable[[Operation], R]) -> None:
        self._send = send


class AppOperations(Group[R]):
    """App-level operations: users, guests, blocking, moderation, roles and permissions."""

    def upsert_users(self, *users: UserLike | Iterable[UserLike]) -> R:
        """Create or replace users: ``upsert_users(UserRequest(id="a"), {"id": "b"})`` or a list of them."""
        listed = flatten(users)
        return self._send(Operation("POST", "/users", {"users": {user_id_of(u): jsonable(u) for u in listed}}))

    def update_users_partial(self, *updates: Mapping[str, Any] | Iterable[Mapping[str, Any]]) -> R:
        """Change some fields: each update is ``{"id": ..., "set": {...}, "unset": [...]}``."""
        return self._send(Operation("PATCH", "/users", {"users": jsonable(flatten(updates))}))

    def query_users(self, filter_conditions: Mapping[str, Any] | None = None, sort: Sort | None = None,
                    limit: int | None = None, next: str | None = None, prev: str | None = None,
                    offset: int | None = None, include_deactivated_users: bool | None = None) -> R:
        """Users matching a filter; deactivated users only with ``include_deactivated_users``."""
        return self._send(Operation("POST", "/users/query", query(
            filter_conditions, sort, limit, next, prev, offset=offset,
            include_deactivated_users=include_deactivated_users)))

    def delete_users(self, user_ids: Iterable[str], user: DeleteMode = "soft",
                     calls: Literal["soft", "hard"] | None = None, new_call_owner_id: str | None = None,
                     conversations: Literal["soft", "hard"] | None = None,
                     messages: Literal["soft", "pruning", "hard"] | None = None, files: bool | None = None,
                     new_channel_owner_id: str | None = None) -> R:
        """An async task (follow it with ``get_task``): soft keeps the data, pruning nulls the users' details,
        hard removes them; ``calls`` also deletes their 1:1 calls. The chat options are accepted and do nothing."""
        return self._send(Operation("POST", "/users/delete", body(
            user_ids=list(user_ids), user=user, calls=calls, new_call_owner_id=new_call_owner_id,
            conversations=conversations, messages=messages, files=files, new_channel_owner_id=new_channel_owner_id)))

    def restore_users(self, user_ids: Iterable[str]) -> R:
        """Undo a soft delete (or pruning: the nulled details stay null)."""
        return self._send(Operation("POST", "/users/restore", body(user_ids=list(user_ids))))

    def export_users(self, user_ids: Iterable[str]) -> R:
        """An async task; once completed, ``get_task`` gives the export file's ``result.url``."""
        return self._send(Operation("POST", "/export/users", body(user_ids=list(user_ids))))

    def export_user(self, user_id: str) -> R:
        return self._send(Operation("GET", f"/users/{segment(user_id)}/export"))

    def get_task(self, id: str) -> R:
        """An async task's ``status`` (pending, running, completed, failed), ``progress``, ``result`` and ``error``."""
        return self._send(Operation("GET", f"/tasks/{segment(id)}"))

    def deactivate_user(self, user_id: str) -> R:
        """A deactivated user can make no API call and open no WebSocket until reactivated."""
        return self._send(Operation("POST", f"/users/{segment(user_id)}/deactivate", {}))

    def deactivate_users(self, user_ids: Iterable[str]) -> R:
        return self._send(Operation("POST", "/users/deactivate", body(user_ids=list(user_ids))))

    def reactivate_user(self, user_id: str) -> R:
        return self._send(Operation("POST", f"/users/{segment(user_id)}/reactivate", {}))

    def reactivate_users(self, user_ids: Iterable[str]) -> R:
        return self._send(Operation("POST", "/users/reactivate", body(user_ids=list(user_ids))))

    def block_users(self, blocked_user_id: str, user_id: str) -> R:
        """``user_id`` blocks ``blocked_user_id``: no more rings or notifications from them."""
        return self._send(Operation("POST", "/users/block", body(blocked_user_id=blocked_user_id, user_id=user_id)))

    def unblock_users(self, blocked_user_id: str, user_id: str) -> R:
        return self._send(Operation("POST", "/users/unblock", body(blocked_user_id=blocked_user_id, user_id=user_id)))

    def get_blocked_users(self, user_id: str) -> R:
        return self._send(Operation("GET", "/users/block", params={"user_id": user_id}))

    def create_guest(self, user: UserLike) -> R:
        """A temporary user with role ``guest``; the answer carries its ``access_token``."""
        return self._send(Operation("POST", "/guest", body(user=user)))

    def ban(self, target_user_id: str, banned_by_id: str | None = None, reason: str | None = None,
            timeout: int | None = None) -> R:
        """Ban a user from joining or creating calls; ``timeout`` is in minutes (none: until unbanned)."""
        return self._send(Operation("POST", "/moderation/ban", body(
            target_user_id=target_user_id, banned_by_id=banned_by_id, reason=reason, timeout=timeout)))

    def unban(self, target_user_id: str) -> R:
        return self._send(Operation("POST", "/moderation/unban", {}, params={"target_user_id": target_user_id}))

    def list_roles(self) -> R:
        return self._send(Operation("GET", "/roles"))

    def create_role(self, name: str) -> R:
        return self._send(Operation("POST", "/roles", body(name=name)))

    def delete_role(self, name: str) -> R:
        return self._send(Operation("DELETE", f"/roles/{segment(name)}"))

    def list_permissions(self) -> R:
        return self._send(Operation("GET", "/permissions"))

    def get_app(self) -> R:
        """The app's settings: webhook endpoints (``event_hooks``)."""
        return self._send(Operation("GET", "/app"))

    def update_app(self, event_hooks: Iterable[Mapping[str, Any]] | None = None, webhook_url: str | None = None,
                   webhook_events: Iterable[str] | None = None,
                   revoke_tokens_issued_before: datetime | None | EllipsisType = ...) -> R:
        """Replace the webhook endpoints, or set the single ``webhook_url`` / ``webhook_events`` the seed shows.
        ``revoke_tokens_issued_before`` refuses every user token issued before that date; None lifts it."""
        fields = body(event_hooks=None if event_hooks is None else list(event_hooks), webhook_url=webhook_url,
                      webhook_events=None if webhook_events is None else list(webhook_events))
        if revoke_tokens_issued_before is not ...:
            fields["revoke_tokens_issued_before"] = jsonable(revoke_tokens_issued_before)
        return self._send(Operation("PATCH", "/app", fields))

    def create_device(self, id: str, push_provider: Literal["firebase", "apn"], user_id: str,
                      push_provider_name: str | None = None, voip_token: bool | None = None) -> R:
        """Register a push token (``id``) for ``user_id``."""
        return self._send(Operation("POST", "/devices", body(
            id=id, push_provider=push_provider, user_id=user_id, push_provider_name=push_provider_name,
            voip_token=voip_token)))

    def delete_device(self, id: str, user_id: str) -> R:
        return self._send(Operation("DELETE", "/devices", params={"id": id, "user_id": user_id}))

    def list_devices(self, user_id: str) -> R:
        return self._send(Operation("GET", "/devices", params={"user_id": user_id}))

    def upsert_push_provider(self, push_provider: Mapping[str, Any]) -> R:
        """Create or update a named ``firebase`` or ``apn`` provider (credentials, endpoint, ``enabled``)."""
        return self._send(Operation("POST", "/push_providers", body(push_provider=push_provider)))

    def list_push_providers(self) -> R:
        return self._send(Operation("GET", "/push_providers"))

    def delete_push_provider(self, type: Literal["firebase", "apn"], name: str) -> R:
        return self._send(Operation("DELETE", f"/push_providers/{segment(type)}/{segment(name)}"))

    def get_rate_limits(self, server_side: bool | None = None, android: bool | None = None, ios: bool | None = None,
                        web: bool | None = None, endpoints: Iterable[str] | None = None) -> R:
        """Limits and what is left of them per platform and endpoint (all platforms when none is named)."""
        flags = {"server_side": server_side, "android": android, "ios": ios, "web": web}
        params = {name: "true" for name, on in flags.items() if on}
        if endpoints is not None:
            params["endpoints"] = ",".join(endpoints)
        return self._send(Operation("GET", "/rate_limits", params=params))
