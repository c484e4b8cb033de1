"""``Call``: one call's state, its events, and its lifecycle (get, create, join, leave, ring).

``join()`` makes this user a participant of the call's session on the coordinator (``CallStatusJoined``), then
connects to the SFU with the ``credentials`` of that answer (``CallStatusConnecting`` → ``CallStatusConnected``).
Composition: the call owns a ``CallMedia`` (call_media.py: the SFU session, tracks, subscriptions, stats; the
media methods here delegate to it) and a ``Reconnection`` (call_reconnect.py). Each reports back through a
listener protocol declared in its own module, which ``_Children`` implements; neither imports this module.

The client that made the call is its ``CallOwner`` (requests, and the call's status); the client routes its
events and connection changes to the call through the ``CallLink`` the call attaches to it. ``client.py``
imports this module, never the other way round.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import ssl
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

from aiortc.mediastreams import MediaStreamTrack
from pydantic import BaseModel

from weir import __version__
from weir.client._observable import Selected, StateStream
from weir.client.audio_processing import noise_cancellation_mode, noise_cancellation_refusal
from weir.client.call_actions import (
    SDK_NAME,
    Settings,
    Sorts,
    iso,
    member_request,
    permission_names,
    settings_patch,
    sort_json,
)
from weir.client.call_media import CallMedia
from weir.client.call_reconnect import Reconnection
from weir.client.call_type import (
    CallPermission,
    CallRejectReason,
    StreamBackstageSettings,
    StreamLimitsSettings,
    StreamTranscriptionSettings,
)
from weir.client.coordinator_reducer import apply_event
from weir.client.errors import VideoError
from weir.client.events import EventStream
from weir.client.media.options import CallConnectOptions, FacingMode, VideoDimension
from weir.client.media.sinks import FrameStream, Recording
from weir.client.media.sources import MediaSource
from weir.client.preferences import CallPreferences
from weir.client.sfu.session import SfuSession
from weir.client.snapshot import with_members, with_pins, with_state_response, without_members, without_sessions
from weir.client.state import CallParticipantState, CallState, SfuTrackType
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
from weir.domain.settings import SpeechSegmentConfig, TranscriptionLanguage
from weir.protocol import events as ev
from weir.protocol.broadcasting import GoLiveRequest, StartHLSBroadcastingResponse, StopLiveRequest
from weir.protocol.call_actions import SendReactionResponse
from weir.protocol.call_stats import GetCallStatsResponse
from weir.protocol.calls import (
    CallStateResponse,
    GetOrCreateCallResponse,
    JoinCallResponse,
    RingCallResponse,
    UpdateCallMembersResponse,
)
from weir.protocol.common import Empty
from weir.protocol.queries import QueryMembersResponse
from weir.protocol.recordings import (
    CallRecording,
    ListRecordingsResponse,
    RecordingType,
    StartFrameRecordingRequest,
    StartRecordingRequest,
    StartRecordingResponse,
)
from weir.protocol.sfu import events as sfu
from weir.protocol.transcriptions import (
    CallTranscription,
    ListTranscriptionsResponse,
    StartClosedCaptionsRequest,
    StartTranscriptionRequest,
)

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)
S = TypeVar("S")

# Reasons after which the server still counts this user as a participant: the client leaves by itself.
LEAVE_AFTER = (DisconnectReasonBlocked, DisconnectReasonKicked, DisconnectReasonLastParticipantLeft)


class CallOwner(Protocol):
    """What a ``Call`` needs from the client that made it (``StreamVideo`` implements it, in client.py)."""

    @property
    def user_id(self) -> str:
        """The current user's id."""
        ...

    @property
    def connection_id(self) -> str | None:
        """The coordinator socket's connection id (None without a socket)."""
        ...

    @property
    def ssl_context(self) -> ssl.SSLContext | None:
        """For the SFU's socket."""
        ...

    async def connect(self) -> None:
        """Connect to the coordinator first, when the options say so (``auto_connect``)."""
        ...

    async def request(self, method: str, path: str, model: type[M], *, json: Any = None,
                      params: dict[str, Any] | None = None) -> M:
        """A coordinator request (connecting first, as ``connect``), its answer read as ``model``."""
        ...

    def attach(self, link: CallLink) -> None:
        """A new call: from now on the client routes its events and connection changes through ``link``."""
        ...

    def status_changed(self, call: Call) -> None:
        """``call.state.value.status`` changed (the client keeps its incoming/outgoing/active slots)."""
        ...

    async def activating(self, call: Call) -> None:
        """``call`` is about to be joined or accepted: in single-call mode, the client leaves the others."""
        ...


class Call:
    """A call, ``type:id``. ``client.make_call(...)`` returns one; nothing is sent until a method is awaited."""

    def __init__(self, owner: CallOwner, call_type: str, id: str, preferences: CallPreferences) -> None:
        self._owner = owner
        self.type, self.id, self.cid = call_type, id, f"{call_type}:{id}"
        self.state: StateStream[CallState] = StateStream(
            CallState(call_cid=self.cid, current_user_id=owner.user_id, preferences=preferences))
        self.events = EventStream()
        self.call_events = self.events
        self.on_permission_request: Callable[[ev.PermissionRequestEvent], Any] | None = None
        self.connect_options = CallConnectOptions()
        self._watched_on: str | None = None
        self._reaction_timers: dict[str, asyncio.TimerHandle] = {}
        self._caption_timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._former_sessions: set[str] = set()  # this client's sessions that a rejoin replaced
        children = _Children(self)
        self._media = CallMedia(self.state, self.events, children, owner.ssl_context)
        self._reconnection = Reconnection(self.cid, self.state, self._media, children)
        self.stats = self._media.stats
        self._link = CallLink(self)  # the client holds it weakly: it lives as long as the call
        owner.attach(self._link)

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
        return await self._owner.request("POST", self._path + suffix, model, json=body)

    async def _watching(self, method: str, model: type[M], body: Any = None,
                        params: dict[str, Any] | None = None, watch: bool = True) -> M:
        """A request that (with ``watch``) subscribes this client's socket to the call's events."""
        await self._owner.connect()
        connection_id = self._owner.connection_id if watch else None
        response = await self._owner.request(method, self._path, model, json=body,
                                             params={**(params or {}), "connection_id": connection_id})
        if connection_id is not None:
            self._watched_on = connection_id
        return response

    async def _ensure_watched(self) -> None:
        """Watch on the current connection (after a join, or a reconnection with a new connection id)."""
        if self._owner.connection_id is not None and self._watched_on != self._owner.connection_id:
            self._apply(await self._watching("GET", CallStateResponse))

    def _update(self, state: CallState) -> None:
        if self._former_sessions:
            state = without_sessions(state, self._former_sessions)
        previous = self.state.value.status
        self.state.set(state)
        if state.status != previous:
            self._owner.status_changed(self)
        self._media.after_update(state)

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
        for timers in (self._reaction_timers, self._caption_timers):
            for timer in timers.values():
                timer.cancel()
            timers.clear()

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
        elif isinstance(event, ev.ClosedCaptionEvent):
            self._schedule_caption_expiry(str(event.closed_caption["id"]))
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
            self._reconnection.session_lost(getattr(event, "reason", None))

    async def _refresh_capabilities(self) -> None:
        """Settings or role grants changed: ask for ``own_capabilities`` again (runtime grants count too)."""
        try:
            response = await self._owner.request("GET", self._path, CallStateResponse)
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

    def _schedule_caption_expiry(self, caption_id: str) -> None:
        """A caption leaves ``closed_captions`` after the preferences' ``closed_captions_visibility_duration_ms``."""
        delay = self.state.value.preferences.closed_captions_visibility_duration_ms / 1000
        self._caption_timers[caption_id] = asyncio.get_running_loop().call_later(
            delay, self._expire_caption, caption_id)

    def _expire_caption(self, caption_id: str) -> None:
        self._caption_timers.pop(caption_id, None)
        state = self.state.value
        self._update(replace(state, closed_captions=tuple(c for c in state.closed_captions if c.id != caption_id)))

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
            "custom": dict(custom) if custom else None, "team": team, "starts_at": iso(starts_at),
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
        body = {"custom": dict(custom) if custom is not None else None, "starts_at": iso(starts_at),
                "settings_override": settings_patch(settings_override, backstage, limits, transcription)}
        response = await self._owner.request("PATCH", self._path, CallStateResponse,
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
        await self._owner.activating(self)
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
            await asyncio.wait_for(self._media.open_sfu(response),
                                   self.state.value.preferences.connect_timeout.total_seconds() or None)
        except Exception as error:
            await self._leave(DisconnectReasonFailure(f"connecting to the SFU failed: {error!r}"))
            raise
        self._set_status(CallStatusConnected())
        self.connect_options = connect_options or CallConnectOptions()
        await self._media.start(self.connect_options)
        state = self.state.value
        if noise_cancellation_mode(state.settings) == "auto-on" and noise_cancellation_refusal(state) is None:
            try:
                self._media.set_audio_processing(True)
            except RuntimeError as error:  # auto-on is "if possible": this machine lacks RNNoise
                log.warning("noise cancellation stays off: %s", error)
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
            await self._media.close(leave=True)
            if state.user_session_id:
                await self._post("/leave", Empty, {"user_session_id": state.user_session_id})

    async def end(self) -> None:
        """End the call for everyone (``end-call``); nobody can join it afterwards."""
        await self._post("/mark_ended", Empty)
        status = self.state.value.status
        if status.is_active or isinstance(status, (CallStatusIncoming, CallStatusOutgoing)):
            self._set_status(CallStatusDisconnected(DisconnectReasonEnded()), user_session_id="")

    async def go_live(self, start_hls: bool = False, start_recording: bool = False,
                      recording_storage_name: str | None = None, start_transcription: bool = False,
                      transcription_storage_name: str | None = None, start_closed_caption: bool = False) -> None:
        """Take the call out of backstage, starting HLS and recording if asked; ``call.updated`` brings the new
        state."""
        request = GoLiveRequest(start_hls=start_hls, start_recording=start_recording,
                                recording_storage_name=recording_storage_name,
                                start_transcription=start_transcription,
                                transcription_storage_name=transcription_storage_name,
                                start_closed_caption=start_closed_caption)
        await self._post("/go_live", Empty, request.model_dump(exclude_none=True))

    async def stop_live(self, continue_hls: bool = False, continue_recording: bool = False,
                        continue_rtmp_broadcasts: bool = False, continue_transcription: bool = False,
                        continue_closed_caption: bool = False) -> None:
        """Back to backstage; HLS and recording stop unless continued."""
        request = StopLiveRequest(continue_hls=continue_hls, continue_recording=continue_recording,
                                  continue_rtmp_broadcasts=continue_rtmp_broadcasts,
                                  continue_transcription=continue_transcription,
                                  continue_closed_caption=continue_closed_caption)
        await self._post("/stop_live", Empty, request.model_dump())

    # --- broadcasting -----------------------------------------------------------------------------------
    async def start_hls_broadcasting(self) -> str:
        """Start HLS broadcasting (``start-broadcast-call``); returns the master playlist's URL, which
        ``state.egress`` also holds while the call broadcasts."""
        return (await self._post("/start_broadcasting", StartHLSBroadcastingResponse)).playlist_url

    async def stop_hls_broadcasting(self) -> None:
        await self._post("/stop_broadcasting", Empty)

    # --- recording --------------------------------------------------------------------------------------
    async def start_recording(self, recording_type: RecordingType = "composite",
                              recording_external_storage: str | None = None) -> str:
        """Start recording the call on the server (``start-record-call``); returns the egress id."""
        body = StartRecordingRequest(recording_type=recording_type,
                                     recording_external_storage=recording_external_storage)
        return (await self._post("/start_recording", StartRecordingResponse, body.model_dump())).egress_id

    async def stop_recording(self, recording_type: RecordingType | None = None) -> None:
        """Stop the call's recordings (of one type, if given); ``call.recording_ready`` follows per file."""
        await self._post(f"/recordings/{recording_type}/stop" if recording_type else "/stop_recording", Empty)

    async def start_frame_recording(self, recording_external_storage: str | None = None) -> str:
        """Start frame recording (``start-frame-record-call``): ``call.frame_recording_ready`` brings each image's
        URL; returns the egress id."""
        body = StartFrameRecordingRequest(recording_external_storage=recording_external_storage)
        return (await self._post("/start_frame_recording", StartRecordingResponse, body.model_dump())).egress_id

    async def stop_frame_recording(self) -> None:
        await self._post("/stop_frame_recording", Empty)

    async def list_recordings(self) -> list[CallRecording]:
        """The call's recording files, each at a signed URL that expires."""
        return (await self._owner.request("GET", self._path + "/recordings", ListRecordingsResponse)).recordings

    async def delete_recording(self, session: str, filename: str) -> None:
        await self._owner.request("DELETE", f"{self._path}/{session}/recordings/{filename}", Empty)

    # --- transcription and closed captions ----------------------------------------------------------------
    async def start_transcription(self, language: TranscriptionLanguage | None = None,
                                  enable_closed_captions: bool = False,
                                  transcription_external_storage: str | None = None) -> None:
        """Transcribe the call on the server (``start-transcription-call``); ``call.transcription_ready`` brings
        the JSONL transcript once it stops."""
        body = StartTranscriptionRequest(language=language, enable_closed_captions=enable_closed_captions,
                                         transcription_external_storage=transcription_external_storage)
        await self._post("/start_transcription", Empty, body.model_dump(exclude_none=True))

    async def stop_transcription(self, stop_closed_captions: bool = False) -> None:
        await self._post("/stop_transcription", Empty, {"stop_closed_captions": stop_closed_captions})

    async def start_closed_captions(self, language: TranscriptionLanguage | None = None,
                                    enable_transcription: bool = False,
                                    speech_segment_config: SpeechSegmentConfig | None = None) -> None:
        """Live captions (``start-closed-captions-call``): ``call.closed_caption`` events, and the newest few in
        ``state.closed_captions``."""
        body = StartClosedCaptionsRequest(language=language, enable_transcription=enable_transcription,
                                          speech_segment_config=speech_segment_config)
        await self._post("/start_closed_captions", Empty, body.model_dump(exclude_none=True))

    async def stop_closed_captions(self, stop_transcription: bool = False) -> None:
        await self._post("/stop_closed_captions", Empty, {"stop_transcription": stop_transcription})

    async def list_transcriptions(self) -> list[CallTranscription]:
        """The call's transcripts (JSONL), each at a signed URL that expires."""
        return (await self._owner.request("GET", self._path + "/transcriptions",
                                          ListTranscriptionsResponse)).transcriptions

    async def delete_transcription(self, session: str, filename: str) -> None:
        await self._owner.request("DELETE", f"{self._path}/{session}/transcriptions/{filename}", Empty)

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
        await self._owner.activating(self)
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


    # --- members ----------------------------------------------------------------------------------------
    async def update_call_members(self, *, update_members: Sequence[UserInfo | str] = (),
                                  remove_ids: Sequence[str] = ()) -> UpdateCallMembersResponse:
        """Add or update members (``UserInfo(id, role)``) and remove others, in one request."""
        response = await self._post("/members", UpdateCallMembersResponse, {
            "update_members": [member_request(m) for m in update_members], "remove_members": list(remove_ids)})
        self._update(without_members(with_members(self.state.value, response.members), remove_ids))
        return response

    async def add_members(self, members: Sequence[UserInfo | str]) -> UpdateCallMembersResponse:
        return await self.update_call_members(update_members=members)

    async def remove_members(self, user_ids: Sequence[str]) -> UpdateCallMembersResponse:
        return await self.update_call_members(remove_ids=user_ids)

    async def query_members(self, filter_conditions: Mapping[str, Any] | None = None,
                            sorts: Sorts | None = None, limit: int | None = None, next: str | None = None,
                            prev: str | None = None) -> QueryMembersResponse:
        """One page of members; pass the answer's ``next`` to get the following page."""
        body = {"type": self.type, "id": self.id, "filter_conditions": filter_conditions, "sort": sort_json(sorts),
                "limit": limit, "next": next, "prev": prev}
        return await self._owner.request("POST", "/video/call/members", QueryMembersResponse,
                                           json={k: v for k, v in body.items() if v is not None})

    # --- custom events and reactions --------------------------------------------------------------------
    async def send_custom_event(self, event_type: str | None = None,
                                custom: Mapping[str, Any] | None = None) -> None:
        """Broadcast a ``custom`` event to the call; ``event_type`` travels as ``custom["type"]``."""
        payload = dict(custom or {})
        if event_type is not None:
            payload = {"type": event_type, **payload}
        await self._post("/event", Empty, {"custom": payload})

    async def send_reaction(self, reaction_type: str, emoji_code: str | None = None,
                            custom: Mapping[str, Any] | None = None) -> SendReactionResponse:
        body = {"type": reaction_type, "emoji_code": emoji_code, "custom": dict(custom) if custom else None}
        return await self._post("/reaction", SendReactionResponse, {k: v for k, v in body.items() if v is not None})

    # --- permissions ------------------------------------------------------------------------------------
    def has_permission(self, permission: CallPermission | str) -> bool:
        """Whether this user's ``own_capabilities`` include ``permission``."""
        return permission_names([permission])[0] in self.state.value.own_capabilities

    async def request_permissions(self, permissions: Sequence[CallPermission | str]) -> None:
        """Ask the call's hosts for permissions (e.g. ``CallPermission.SEND_AUDIO`` in an audio room)."""
        await self._post("/request_permission", Empty, {"permissions": permission_names(permissions)})

    async def grant_permissions(self, user_id: str, permissions: Sequence[CallPermission | str]) -> None:
        await self._post("/user_permissions", Empty,
                         {"user_id": user_id, "grant_permissions": permission_names(permissions)})

    async def revoke_permissions(self, user_id: str, permissions: Sequence[CallPermission | str]) -> None:
        await self._post("/user_permissions", Empty,
                         {"user_id": user_id, "revoke_permissions": permission_names(permissions)})

    # --- moderation -------------------------------------------------------------------------------------
    async def mute_users(self, user_ids: Sequence[str], *, audio: bool = True, video: bool = False,
                         screenshare: bool = False, screenshare_audio: bool = False) -> None:
        await self._post("/mute_users", Empty, {"user_ids": list(user_ids), "audio": audio, "video": video,
                                                "screenshare": screenshare, "screenshare_audio": screenshare_audio})

    async def mute_all_users(self, *, audio: bool = True, video: bool = False, screenshare: bool = False,
                             screenshare_audio: bool = False) -> None:
        """Mute everyone else in the call (the session's participants, or the members while none is running)."""
        await self._post("/mute_users", Empty, {"mute_all_users": True, "audio": audio, "video": video,
                                                "screenshare": screenshare, "screenshare_audio": screenshare_audio})

    async def block_user(self, user_id: str) -> None:
        await self._post("/block", Empty, {"user_id": user_id})
        self._set_blocked(user_id, True)

    async def unblock_user(self, user_id: str) -> None:
        await self._post("/unblock", Empty, {"user_id": user_id})
        self._set_blocked(user_id, False)

    async def kick_user(self, user_id: str, block: bool = False) -> None:
        """Remove ``user_id`` from the call; with ``block`` they cannot come back."""
        await self._post("/kick", Empty, {"user_id": user_id, "block": block})
        if block:
            self._set_blocked(user_id, True)

    def _set_blocked(self, user_id: str, blocked: bool) -> None:
        state = self.state.value
        others = tuple(u for u in state.blocked_user_ids if u != user_id)
        self._update(replace(state, blocked_user_ids=(*others, user_id) if blocked else others))

    # --- pins -------------------------------------------------------------------------------------------
    async def pin(self, session_id: str, *, user_id: str | None = None, for_everyone: bool = False) -> None:
        """Pin a participant: for this client only, or (with ``pin-for-everyone``) for everyone."""
        await self._set_pinned(session_id, user_id, for_everyone, True)

    async def unpin(self, session_id: str, *, user_id: str | None = None, for_everyone: bool = False) -> None:
        await self._set_pinned(session_id, user_id, for_everyone, False)

    async def _set_pinned(self, session_id: str, user_id: str | None, for_everyone: bool, pinned: bool) -> None:
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
            pins[session_id] = datetime.now(UTC)
        self._update(with_pins(replace(state, local_pins=pins)))

    # --- feedback and preferences -----------------------------------------------------------------------
    async def collect_user_feedback(self, rating: int, reason: str | None = None,
                                    custom: Mapping[str, Any] | None = None) -> None:
        """Rate the call's latest session, 1 to 5."""
        body: dict[str, Any] = {"rating": rating, "sdk": SDK_NAME, "sdk_version": __version__}
        extra = {"reason": reason, "custom": dict(custom) if custom else None,
                 "user_session_id": self.state.value.user_session_id or None}
        await self._post("/feedback", Empty, {**body, **{k: v for k, v in extra.items() if v is not None}})

    async def get_call_stats(self, session_id: str) -> GetCallStatsResponse:
        """The stats report of one ended session of this call (ready a few seconds after it ends)."""
        return await self._owner.request("GET", f"{self._path}/stats/{quote(session_id, safe='')}",
                                         GetCallStatsResponse)

    def update_call_preferences(self, preferences: CallPreferences) -> None:
        """Replace this call's preferences (a whole ``CallPreferences``, as the Dart SDK takes)."""
        self._update(replace(self.state.value, preferences=preferences))

    # --- media (CallMedia's) ----------------------------------------------------------------------------
    async def set_camera_enabled(self, enabled: bool = True) -> None:
        """Publish the camera (the chosen device or source; without one, the first camera, or the synthetic
        pattern with a warning), or mute it."""
        await self._media.set_camera_enabled(enabled)

    async def set_microphone_enabled(self, enabled: bool = True) -> None:
        """Publish the microphone (chosen, first, or the synthetic tone with a warning), or mute it."""
        await self._media.set_microphone_enabled(enabled)

    async def set_screen_share_enabled(self, enabled: bool = True, source: MediaSource | None = None) -> None:
        """Share ``source`` (a file, a track, ...); without one, a synthetic pattern (headless machines have no
        screen to capture)."""
        await self._media.set_screen_share_enabled(enabled, source)

    async def set_video_input_device(self, device: MediaSource | None) -> None:
        """Use ``device`` (a ``RtcMediaDevice``, a ``FileSource``, a ``SyntheticSource`` or a track) as camera;
        a camera that is on switches at once."""
        await self._media.set_video_input_device(device)

    async def set_audio_input_device(self, device: MediaSource | None) -> None:
        await self._media.set_audio_input_device(device)

    async def flip_camera(self) -> None:
        """Switch the camera's facing mode: to the next camera where the machine has several; the synthetic
        camera shows the other facing as a brighter pattern."""
        await self._media.flip_camera()

    async def start_audio_processing(self) -> None:
        """Cancel noise on the microphone (RNNoise, before encoding; ``state.is_audio_processing``). Refused
        (``VideoError``) when the call's ``audio.noise_cancellation.mode`` is ``disabled`` or this user lacks the
        ``enable-noise-cancellation`` capability. ``auto-on`` turns it on at ``join()``."""
        refusal = noise_cancellation_refusal(self.state.value)
        if refusal is not None:
            raise VideoError(refusal)
        self._media.set_audio_processing(True)

    async def stop_audio_processing(self) -> None:
        """Send the microphone as it is captured again."""
        self._media.set_audio_processing(False)

    @property
    def camera_facing_mode(self) -> FacingMode:
        return self._media.camera_facing_mode

    def local_track(self, track_type: SfuTrackType | str) -> MediaStreamTrack | None:
        """The source being published as ``track_type`` (a synthetic one counts its ``frames``), if any."""
        return self._media.local_track(track_type)

    async def set_preferred_incoming_video_resolution(self, dimension: VideoDimension | None,
                                                      session_ids: Sequence[str] | None = None) -> None:
        """Ask for video near ``dimension`` (None: no preference) from everyone or from ``session_ids``; this
        also turns their incoming video back on."""
        await self._media.set_preferred_incoming_video_resolution(dimension, session_ids)

    async def set_incoming_video_enabled(self, enabled: bool, session_ids: Sequence[str] | None = None) -> None:
        """Stop (or resume) receiving video and screen share from everyone or from ``session_ids``."""
        await self._media.set_incoming_video_enabled(enabled, session_ids)

    def frames(self, participant: CallParticipantState | str,
               track_type: SfuTrackType | str = SfuTrackType.VIDEO, maxsize: int = 30) -> FrameStream:
        """Decoded frames (PyAV ``VideoFrame`` / ``AudioFrame``) of a participant's track, from now on."""
        return self._media.frames(participant, track_type, maxsize)

    def received_frames(self, participant: CallParticipantState | str,
                        track_type: SfuTrackType | str = SfuTrackType.VIDEO) -> int:
        """How many frames of that track this client has decoded so far."""
        return self._media.received_frames(participant, track_type)

    def received_video_size(self, participant: CallParticipantState | str,
                            track_type: SfuTrackType | str = SfuTrackType.VIDEO) -> tuple[int, int] | None:
        """(width, height) of the latest decoded frame of that video track."""
        return self._media.received_video_size(participant, track_type)

    def subscriber_transceivers(self) -> list[Any]:
        """The receiving side's aiortc transceivers (recording workers read their packets)."""
        return self._media.subscriber_transceivers()

    async def record(self, path: str | Path, participant: CallParticipantState | str,
                     track_types: Sequence[SfuTrackType | str] = (SfuTrackType.AUDIO, SfuTrackType.VIDEO)) -> Recording:
        """Record a participant's received tracks to ``path`` until ``await recording.stop()``."""
        return await self._media.record(path, participant, track_types)

    @property
    def _sfu(self) -> SfuSession | None:
        """The current SFU session, for tests that reach into the media."""
        return self._media.session


class CallLink:
    """The call's side of the client: what the client that made it tells it (events, its connection). The call
    attaches one to its ``CallOwner``; only the client holds it (weakly) besides the call."""

    def __init__(self, call: Call) -> None:
        self.call = call

    def event(self, event: ev.Event) -> None:
        """A coordinator event about this call: folded into its state, then published on ``call.events``."""
        self.call._handle_event(event)

    def loaded(self, response: CallStateResponse, watched_on: str | None) -> None:
        """``query_calls`` found the call: its state, and the connection it is now watched on (if any)."""
        self.call._apply(response)
        if watched_on is not None:
            self.call._watched_on = watched_on

    def user_id_changed(self, user_id: str) -> None:
        """The server gave the user another id (a guest): the call's state follows."""
        self.call._update(replace(self.call.state.value, current_user_id=user_id))

    async def reconnected(self) -> None:
        """The coordinator socket is back with a new connection id: a media reconnection tries again now, and a
        watched call is watched again (catching up on its state)."""
        self.call._reconnection.retry_soon()
        if self.call._watched_on is not None:
            await self.call._ensure_watched()

    async def replaced(self, reason: DisconnectReason) -> None:
        """Single-call mode: another call becomes active, this one is left."""
        await self.call._leave(reason)

    def stop(self) -> None:
        """The client disconnects: pending refreshes, leaves and reaction timers are dropped."""
        self.call._stop_background()


class _Children:
    """The call as its ``CallMedia``'s ``MediaListener`` and its ``Reconnection``'s ``ReconnectListener``."""

    def __init__(self, call: Call) -> None:
        self._call = call

    def update(self, state: CallState) -> None:
        self._call._update(state)

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        self._call._spawn(work)

    def sfu_trouble(self, what: str) -> None:
        self._call._reconnection.sfu_trouble(what)

    def sfu_problem(self, event: sfu.ErrorEvent | sfu.GoAwayEvent) -> None:
        self._call._reconnection.sfu_problem(event)

    async def rejoin(self, migrating_from: str | None) -> JoinCallResponse:
        return await self._call._coordinator_join(migrating_from=migrating_from)

    def hide_session(self, session_id: str) -> None:
        self._call._former_sessions.add(session_id)

    def forget_session(self, session_id: str) -> None:
        """Hide a session of this client's and leave it. If it was the one in the state (a rejoin attempt that
        failed), the state names none until the next join: the coordinator's word that it left ends nothing."""
        self.hide_session(session_id)
        state = self._call.state.value
        self._call._update(replace(state, user_session_id="") if state.user_session_id == session_id else state)
        self._call._spawn(self._call._leave_quietly(session_id))


__all__ = ["Call", "CallLink", "CallOwner"]
