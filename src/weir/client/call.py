"""``Call``: one call's state, its events, and its lifecycle (get, create, join, leave, ring).

``join()`` makes this user a participant of the call's session on the coordinator (``CallStatusJoined``), then
connects to the SFU with the ``credentials`` of that answer (``CallStatusConnecting`` → ``CallStatusConnected``).
The media methods are ``call_media.py``'s, reconnection ``call_reconnect.py``'s.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from weir.client._observable import Selected, StateStream
from weir.client.call_actions import CallActions
from weir.client.call_media import CallMedia
from weir.client.call_reconnect import CallReconnect
from weir.client.call_type import (
    CallRejectReason,
    StreamBackstageSettings,
    StreamLimitsSettings,
    StreamTranscriptionSettings,
)
from weir.client.coordinator_reducer import apply_event
from weir.client.events import EventStream
from weir.client.media.options import CallConnectOptions
from weir.client.preferences import CallPreferences
from weir.client.snapshot import with_state_response, without_sessions
from weir.client.state import CallState
from weir.client.status import (
    CallStatus,
    CallStatusConnected,
    CallStatusConnecting,
    CallStatusDisconnected,
    CallStatusIdle,
    CallStatusIncoming,
    CallStatusJoined,
    CallStatusJoining,
    CallStatusOutgoing,
    DisconnectReason,
    DisconnectReasonBlocked,
    DisconnectReasonCancelled,
    DisconnectReasonEnded,
    DisconnectReasonFailure,
    DisconnectReasonKicked,
    DisconnectReasonLastParticipantLeft,
    DisconnectReasonRejected,
    DisconnectReasonTimeout,
)
from weir.client.transitions import session_lost, status_after
from weir.client.user import UserInfo
from weir.domain.settings import CallSettingsRequest
from weir.protocol import events as ev
from weir.protocol.calls import CallStateResponse, GetOrCreateCallResponse, JoinCallResponse, RingCallResponse
from weir.protocol.common import Empty

if TYPE_CHECKING:
    from weir.client.client import StreamVideo

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)
S = TypeVar("S")

# Reasons after which the server still counts this user as a participant: the client leaves by itself.
LEAVE_AFTER = (DisconnectReasonBlocked, DisconnectReasonKicked, DisconnectReasonLastParticipantLeft)
Settings = CallSettingsRequest | Mapping[str, Any]


def settings_patch(settings_override: Settings | None, backstage: StreamBackstageSettings | None,
                   limits: StreamLimitsSettings | None,
                   transcription: StreamTranscriptionSettings | None) -> dict[str, Any] | None:
    """One ``settings_override`` from the free-form one and the typed shortcuts (which win)."""
    patch = (settings_override.model_dump(exclude_none=True) if isinstance(settings_override, BaseModel)
             else dict(settings_override or {}))
    for name, section in (("backstage", backstage), ("limits", limits), ("transcription", transcription)):
        if section is not None:
            patch[name] = section.model_dump(exclude_none=True)
    return patch or None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class Call(CallActions, CallMedia, CallReconnect):
    """A call, ``type:id``. ``client.make_call(...)`` returns one; nothing is sent until a method is awaited."""

    def __init__(self, client: StreamVideo, call_type: str, id: str, preferences: CallPreferences) -> None:
        self._client = client
        self.type, self.id, self.cid = call_type, id, f"{call_type}:{id}"
        self.state: StateStream[CallState] = StateStream(
            CallState(call_cid=self.cid, current_user_id=client.current_user.id, preferences=preferences))
        self.events = EventStream()
        self.call_events = self.events
        self.on_permission_request: Callable[[ev.PermissionRequestEvent], Any] | None = None
        self._watched_on: str | None = None
        self._reaction_timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._former_sessions: set[str] = set()  # this client's sessions that a rejoin replaced
        self._init_media()

    def __repr__(self) -> str:
        return f"Call({self.cid!r}, status={self.state.value.status})"

    def partial_state(self, selector: Callable[[CallState], S]) -> Selected[CallState, S]:
        """The selected part of the state: its current value, then each time it changes."""
        return self.state.partial(selector)

    # --- plumbing ---------------------------------------------------------------------------------------
    @property
    def _path(self) -> str:
        return f"/video/call/{self.type}/{self.id}"

    async def _post(self, suffix: str, model: type[M], body: Any = None) -> M:
        return await self._client._request("POST", self._path + suffix, model, json=body)

    async def _watching(self, method: str, model: type[M], body: Any = None,
                        params: dict[str, Any] | None = None, watch: bool = True) -> M:
        """A request that (with ``watch``) subscribes this client's socket to the call's events."""
        await self._client._ensure_connected()
        connection_id = self._client.connection_id if watch else None
        response = await self._client._request(method, self._path, model, json=body,
                                               params={**(params or {}), "connection_id": connection_id})
        if connection_id is not None:
            self._watched_on = connection_id
        return response

    async def _ensure_watched(self) -> None:
        """Watch on the current connection (after a join, or a reconnection with a new connection id)."""
        if self._client.connection_id is not None and self._watched_on != self._client.connection_id:
            self._apply(await self._watching("GET", CallStateResponse))

    def _update(self, state: CallState) -> None:
        if self._former_sessions:
            state = without_sessions(state, self._former_sessions)
        previous = self.state.value.status
        self.state.set(state)
        if state.status != previous:
            self._client._on_status(self)
        self._media_after_update(state)

    def _set_status(self, status: CallStatus, **changes: Any) -> None:
        self._update(replace(self.state.value, status=status, **changes))

    def _apply(self, response: CallStateResponse) -> None:
        self._update(with_state_response(self.state.value, response))

    def _spawn(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _stop_background(self) -> None:
        """The client disconnects: pending refreshes, leaves and reaction timers are dropped."""
        for task in self._tasks:
            task.cancel()
        for timer in self._reaction_timers.values():
            timer.cancel()
        self._reaction_timers.clear()

    # --- events -----------------------------------------------------------------------------------------
    def _handle_event(self, event: ev.Event) -> None:
        """Fold a coordinator event into the state, then publish it on ``call.events``."""
        before = self.state.value
        after = apply_event(before, event)
        status = status_after(before, after, event)
        if status is not None:
            after = replace(after, status=status)
        self._update(after)
        self._react(before, after, event)
        self.events.publish(event)

    def _react(self, before: CallState, after: CallState, event: ev.Event) -> None:
        if isinstance(event, ev.CallReactionEvent):
            self._schedule_dismiss(event.reaction)
        elif isinstance(event, ev.PermissionRequestEvent) and self.on_permission_request is not None:
            try:
                result = self.on_permission_request(event)
            except Exception:  # the application's handler must not stop the SDK's event handling
                log.exception("on_permission_request failed")
            else:
                if inspect.isawaitable(result):
                    self._spawn(result)
        if before.capabilities_by_role != after.capabilities_by_role or before.settings != after.settings:
            self._spawn(self._refresh_capabilities())
        reason = getattr(after.status, "reason", None)
        if before.status.is_active and isinstance(reason, LEAVE_AFTER) and before.user_session_id:
            self._spawn(self._leave_quietly(before.user_session_id))
        if session_lost(before, event):
            self._on_session_lost(getattr(event, "reason", None))

    async def _refresh_capabilities(self) -> None:
        """Settings or role grants changed: ask for ``own_capabilities`` again (runtime grants count too)."""
        try:
            response = await self._client._request("GET", self._path, CallStateResponse)
        except Exception as error:  # a read that fails leaves the old capabilities
            log.info("refreshing capabilities of %s failed: %s", self.cid, error)
            return
        self._update(replace(self.state.value, own_capabilities=tuple(response.own_capabilities)))

    async def _leave_quietly(self, user_session_id: str) -> None:
        try:
            await self._post("/leave", Empty, {"user_session_id": user_session_id})
        except Exception as error:
            log.info("leaving %s after a disconnect failed: %s", self.cid, error)

    def _schedule_dismiss(self, reaction: ev.Reaction) -> None:
        """Clear ``reaction`` from its sender after the preferences' ``reaction_auto_dismiss_time``."""
        user_id = reaction.user.id
        if (old := self._reaction_timers.pop(user_id, None)) is not None:
            old.cancel()
        delay = self.state.value.preferences.reaction_auto_dismiss_time.total_seconds()
        self._reaction_timers[user_id] = asyncio.get_running_loop().call_later(
            delay, self._dismiss, user_id, reaction)

    def _dismiss(self, user_id: str, reaction: ev.Reaction) -> None:
        self._reaction_timers.pop(user_id, None)
        state = self.state.value
        self._update(replace(state, call_participants=tuple(
            replace(p, reaction=None) if p.user_id == user_id and p.reaction is reaction else p
            for p in state.call_participants)))

    # --- reading and creating ---------------------------------------------------------------------------
    async def get(self, *, members_limit: int | None = None, watch: bool = True) -> CallStateResponse:
        """Load the call (404 if it doesn't exist) and, with ``watch``, receive its events."""
        response = await self._watching("GET", CallStateResponse, params={"members_limit": members_limit},
                                        watch=watch)
        self._apply(response)
        return response

    async def get_or_create(
        self, member_ids: Sequence[str] | None = None, *, members: Sequence[UserInfo] = (), ringing: bool = False,
        video: bool = False, custom: Mapping[str, Any] | None = None, team: str | None = None, notify: bool = False,
        starts_at: datetime | None = None, backstage: StreamBackstageSettings | None = None,
        limits: StreamLimitsSettings | None = None, transcription: StreamTranscriptionSettings | None = None,
        settings_override: Settings | None = None, members_limit: int | None = None, watch: bool = True,
    ) -> GetOrCreateCallResponse:
        """Create the call (or get it); ``ringing`` rings the members, ``notify`` notifies them."""
        data = {
            "members": [m.member_request() for m in members] + [{"user_id": u} for u in member_ids or ()],
            "custom": dict(custom) if custom else None, "team": team, "starts_at": _iso(starts_at),
            "settings_override": settings_patch(settings_override, backstage, limits, transcription),
        }
        body = {"data": {k: v for k, v in data.items() if v}, "ring": ringing or None, "notify": notify or None,
                "video": video, "members_limit": members_limit}
        response = await self._watching("POST", GetOrCreateCallResponse,
                                        {k: v for k, v in body.items() if v is not None}, watch=watch)
        self._apply(response)
        if ringing:
            self._start_ringing(video)
        return response

    async def update(self, *, custom: Mapping[str, Any] | None = None, starts_at: datetime | None = None,
                     settings_override: Settings | None = None, backstage: StreamBackstageSettings | None = None,
                     limits: StreamLimitsSettings | None = None,
                     transcription: StreamTranscriptionSettings | None = None) -> CallStateResponse:
        """Change the call's custom data, schedule or settings (settings need ``update-call-settings``)."""
        body = {"custom": dict(custom) if custom is not None else None, "starts_at": _iso(starts_at),
                "settings_override": settings_patch(settings_override, backstage, limits, transcription)}
        response = await self._client._request("PATCH", self._path, CallStateResponse,
                                               json={k: v for k, v in body.items() if v is not None})
        self._apply(response)
        return response

    # --- joining and leaving ----------------------------------------------------------------------------
    async def join(self, *, create: bool = False, members_limit: int | None = None,
                   connect_options: CallConnectOptions | None = None) -> JoinCallResponse:
        """Join the call's session (accepting it first if it is ringing this user), then its media.

        In single-call mode another active call is left first (``DisconnectReasonReplaced``). The status goes
        ``CallStatusJoining`` → ``CallStatusJoined`` → ``CallStatusConnecting`` → ``CallStatusConnected``, or
        ``CallStatusDisconnected(DisconnectReasonFailure)`` when the coordinator or the SFU refuses, or the SFU
        is not reached within the preferences' ``connect_timeout`` (the error is raised). ``connect_options``
        says which tracks to publish at once, and from which sources.
        """
        if isinstance(self.state.value.status, CallStatusIncoming):
            await self.accept()
        await self._client._replace_active_calls(self)
        self._set_status(CallStatusJoining())
        try:
            response = await self._coordinator_join(create=create, members_limit=members_limit)
        except Exception as error:
            self._set_status(CallStatusDisconnected(DisconnectReasonFailure(str(error))))
            raise
        self._set_status(CallStatusJoined())
        await self._ensure_watched()
        self._set_status(CallStatusConnecting())
        try:
            await asyncio.wait_for(self._open_sfu(response),
                                   self.state.value.preferences.connect_timeout.total_seconds() or None)
        except Exception as error:
            await self._leave(DisconnectReasonFailure(f"connecting to the SFU failed: {error!r}"))
            raise
        self._set_status(CallStatusConnected())
        await self._start_media(connect_options or CallConnectOptions())
        return response

    async def _coordinator_join(self, **fields: Any) -> JoinCallResponse:
        """``POST …/join``: a (new) participant session and its SFU credentials."""
        body = {k: v for k, v in fields.items() if v not in (None, False)}
        response = await self._post("/join", JoinCallResponse, body)
        self._update(with_state_response(replace(self.state.value, user_session_id=response.user_session_id),
                                         response))
        return response

    async def leave(self) -> None:
        """Leave the call. While ringing, leaving cancels (caller) or declines (callee) the ring."""
        await self._leave(DisconnectReasonEnded())

    async def _leave(self, reason: DisconnectReason) -> None:
        state = self.state.value
        if isinstance(state.status, CallStatusOutgoing):
            await self.reject(CallRejectReason.CANCEL)
        elif isinstance(state.status, CallStatusIncoming):
            await self.reject(CallRejectReason.DECLINE)
        elif state.status.is_active:
            self._set_status(CallStatusDisconnected(reason), user_session_id="")
            await self._close_media(leave=True)
            if state.user_session_id:
                await self._post("/leave", Empty, {"user_session_id": state.user_session_id})

    async def end(self) -> None:
        """End the call for everyone (``end-call``); nobody can join it afterwards."""
        await self._post("/mark_ended", Empty)
        status = self.state.value.status
        if status.is_active or isinstance(status, (CallStatusIncoming, CallStatusOutgoing)):
            self._set_status(CallStatusDisconnected(DisconnectReasonEnded()), user_session_id="")

    async def go_live(self) -> None:
        """Take the call out of backstage; ``call.updated`` brings the new state."""
        await self._post("/go_live", Empty)

    async def stop_live(self) -> None:
        await self._post("/stop_live", Empty)

    # --- ringing ----------------------------------------------------------------------------------------
    def _start_ringing(self, video: bool) -> None:
        state = self.state.value
        if not state.status.is_active:
            self._set_status(CallStatusOutgoing(video=video), is_ringing_flow=True,
                             ringing_caller_id=state.current_user_id)

    async def ring(self, user_ids: Sequence[str] | None = None, video: bool | None = None) -> RingCallResponse:
        """Ring the members again, or only ``user_ids`` (who must be members)."""
        body = {"user_ids": list(user_ids) if user_ids is not None else None, "video": video}
        response = await self._post("/ring", RingCallResponse, {k: v for k, v in body.items() if v is not None})
        self._start_ringing(bool(video))
        return response

    async def accept(self) -> None:
        """Accept the ringing call (then ``join()`` it); in single-call mode another active call is left."""
        await self._post("/accept", Empty)
        await self._client._replace_active_calls(self)
        if isinstance(self.state.value.status, CallStatusIncoming):
            self._set_status(CallStatusIdle())

    async def reject(self, reason: CallRejectReason | str = CallRejectReason.DECLINE) -> None:
        """Decline a ring (``busy``, ``decline``, ``timeout``) or, as the caller, cancel it (``cancel``)."""
        await self._post("/reject", Empty, {"reason": str(reason)})
        status, me = self.state.value.status, self.state.value.current_user_id
        if isinstance(status, (CallStatusIncoming, CallStatusOutgoing)):
            if reason == CallRejectReason.TIMEOUT:
                self._set_status(CallStatusDisconnected(DisconnectReasonTimeout()))
            elif isinstance(status, CallStatusOutgoing):
                self._set_status(CallStatusDisconnected(DisconnectReasonCancelled(me)))
            else:
                self._set_status(CallStatusDisconnected(DisconnectReasonRejected(me)))
