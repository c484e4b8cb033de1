"""The in-call operations of ``Call``: members, custom events and reactions, permissions, moderation, pins,
feedback and preferences. Each is one coordinator request (pins can also be local-only)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from weir import __version__
from weir.client.call_type import CallPermission, SortParamRequest
from weir.client.errors import VideoError
from weir.client.preferences import CallPreferences
from weir.client.snapshot import with_members, with_pins, without_members
from weir.client.user import UserInfo
from weir.protocol.call_actions import SendReactionResponse
from weir.protocol.calls import UpdateCallMembersResponse
from weir.protocol.common import Empty
from weir.protocol.queries import QueryMembersResponse

if TYPE_CHECKING:
    from weir.client.call import Call

SDK_NAME = "weir-python"

Sorts = Sequence[SortParamRequest | Mapping[str, Any]]


def sort_json(sorts: Sorts | None) -> list[dict[str, Any]] | None:
    if sorts is None:
        return None
    return [s.model_dump() if isinstance(s, BaseModel) else dict(s) for s in sorts]


def _names(permissions: Sequence[CallPermission | str]) -> list[str]:
    return [p.value if isinstance(p, CallPermission) else str(p) for p in permissions]


def _member(member: UserInfo | str) -> dict[str, Any]:
    return (member if isinstance(member, UserInfo) else UserInfo(member)).member_request()


class CallActions:
    """Mixed into ``Call``; ``self`` is the call."""

    # --- members ----------------------------------------------------------------------------------------
    async def update_call_members(self: Call, *, update_members: Sequence[UserInfo | str] = (),
                                  remove_ids: Sequence[str] = ()) -> UpdateCallMembersResponse:
        """Add or update members (``UserInfo(id, role)``) and remove others, in one request."""
        response = await self._post("/members", UpdateCallMembersResponse, {
            "update_members": [_member(m) for m in update_members], "remove_members": list(remove_ids)})
        self._update(without_members(with_members(self.state.value, response.members), remove_ids))
        return response

    async def add_members(self: Call, members: Sequence[UserInfo | str]) -> UpdateCallMembersResponse:
        return await self.update_call_members(update_members=members)

    async def remove_members(self: Call, user_ids: Sequence[str]) -> UpdateCallMembersResponse:
        return await self.update_call_members(remove_ids=user_ids)

    async def query_members(self: Call, filter_conditions: Mapping[str, Any] | None = None,
                            sorts: Sorts | None = None, limit: int | None = None, next: str | None = None,
                            prev: str | None = None) -> QueryMembersResponse:
        """One page of members; pass the answer's ``next`` to get the following page."""
        body = {"type": self.type, "id": self.id, "filter_conditions": filter_conditions, "sort": sort_json(sorts),
                "limit": limit, "next": next, "prev": prev}
        return await self._client._request("POST", "/video/call/members", QueryMembersResponse,
                                           json={k: v for k, v in body.items() if v is not None})

    # --- custom events and reactions --------------------------------------------------------------------
    async def send_custom_event(self: Call, event_type: str | None = None,
                                custom: Mapping[str, Any] | None = None) -> None:
        """Broadcast a ``custom`` event to the call; ``event_type`` travels as ``custom["type"]``."""
        payload = dict(custom or {})
        if event_type is not None:
            payload = {"type": event_type, **payload}
        await self._post("/event", Empty, {"custom": payload})

    async def send_reaction(self: Call, reaction_type: str, emoji_code: str | None = None,
                            custom: Mapping[str, Any] | None = None) -> SendReactionResponse:
        body = {"type": reaction_type, "emoji_code": emoji_code, "custom": dict(custom) if custom else None}
        return await self._post("/reaction", SendReactionResponse, {k: v for k, v in body.items() if v is not None})

    # --- permissions ------------------------------------------------------------------------------------
    def has_permission(self: Call, permission: CallPermission | str) -> bool:
        """Whether this user's ``own_capabilities`` include ``permission``."""
        return _names([permission])[0] in self.state.value.own_capabilities

    async def request_permissions(self: Call, permissions: Sequence[CallPermission | str]) -> None:
        """Ask the call's hosts for permissions (e.g. ``CallPermission.SEND_AUDIO`` in an audio room)."""
        await self._post("/request_permission", Empty, {"permissions": _names(permissions)})

    async def grant_permissions(self: Call, user_id: str, permissions: Sequence[CallPermission | str]) -> None:
        await self._post("/user_permissions", Empty, {"user_id": user_id, "grant_permissions": _names(permissions)})

    async def revoke_permissions(self: Call, user_id: str, permissions: Sequence[CallPermission | str]) -> None:
        await self._post("/user_permissions", Empty, {"user_id": user_id, "revoke_permissions": _names(permissions)})

    # --- moderation -------------------------------------------------------------------------------------
    async def mute_users(self: Call, user_ids: Sequence[str], *, audio: bool = True, video: bool = False,
                         screenshare: bool = False, screenshare_audio: bool = False) -> None:
        await self._post("/mute_users", Empty, {"user_ids": list(user_ids), "audio": audio, "video": video,
                                                "screenshare": screenshare, "screenshare_audio": screenshare_audio})

    async def mute_all_users(self: Call, *, audio: bool = True, video: bool = False, screenshare: bool = False,
                             screenshare_audio: bool = False) -> None:
        """Mute everyone else in the call (the session's participants, or the members while none is running)."""
        await self._post("/mute_users", Empty, {"mute_all_users": True, "audio": audio, "video": video,
                                                "screenshare": screenshare, "screenshare_audio": screenshare_audio})

    async def block_user(self: Call, user_id: str) -> None:
        await self._post("/block", Empty, {"user_id": user_id})
        self._set_blocked(user_id, True)

    async def unblock_user(self: Call, user_id: str) -> None:
        await self._post("/unblock", Empty, {"user_id": user_id})
        self._set_blocked(user_id, False)

    async def kick_user(self: Call, user_id: str, block: bool = False) -> None:
        """Remove ``user_id`` from the call; with ``block`` they cannot come back."""
        await self._post("/kick", Empty, {"user_id": user_id, "block": block})
        if block:
            self._set_blocked(user_id, True)

    def _set_blocked(self: Call, user_id: str, blocked: bool) -> None:
        state = self.state.value
        others = tuple(u for u in state.blocked_user_ids if u != user_id)
        self._update(replace(state, blocked_user_ids=(*others, user_id) if blocked else others))

    # --- pins -------------------------------------------------------------------------------------------
    async def pin(self: Call, session_id: str, *, user_id: str | None = None, for_everyone: bool = False) -> None:
        """Pin a participant: for this client only, or (with ``pin-for-everyone``) for everyone."""
        await self._set_pinned(session_id, user_id, for_everyone, True)

    async def unpin(self: Call, session_id: str, *, user_id: str | None = None, for_everyone: bool = False) -> None:
        await self._set_pinned(session_id, user_id, for_everyone, False)

    async def _set_pinned(self: Call, session_id: str, user_id: str | None, for_everyone: bool, pinned: bool) -> None:
        if for_everyone:
            if user_id is None:
                known = next((p for p in self.state.value.call_participants if p.session_id == session_id), None)
                if known is None:
                    raise VideoError(f"no participant with session {session_id} in {self.cid}: pass user_id")
                user_id = known.user_id
            await self._post("/pin" if pinned else "/unpin", Empty, {"session_id": session_id, "user_id": user_id})
            return
        state = self.state.value
        pins = {k: v for k, v in state.local_pins.items() if k != session_id}
        if pinned:
            pins[session_id] = datetime.now(timezone.utc)
        self._update(with_pins(replace(state, local_pins=pins)))

    # --- feedback and preferences -----------------------------------------------------------------------
    async def collect_user_feedback(self: Call, rating: int, reason: str | None = None,
                                    custom: Mapping[str, Any] | None = None) -> None:
        """Rate the call's latest session, 1 to 5."""
        body: dict[str, Any] = {"rating": rating, "sdk": SDK_NAME, "sdk_version": __version__}
        extra = {"reason": reason, "custom": dict(custom) if custom else None,
                 "user_session_id": self.state.value.user_session_id or None}
        await self._post("/feedback", Empty, {**body, **{k: v for k, v in extra.items() if v is not None}})

    def update_call_preferences(self: Call, preferences: CallPreferences) -> None:
        """Replace this call's preferences (a whole ``CallPreferences``, as the Dart SDK takes)."""
        self._update(replace(self.state.value, preferences=preferences))
