"""``client.video``: call types, call queries, and ``client.video.call(type, id)`` for one call's operations."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from weir.server.operations import JSON, Group, Operation, R, Sort, body, query, segment

MemberLike = Mapping[str, Any] | BaseModel


def _query_members(type: str, id: str, filter_conditions: Mapping[str, Any] | None, sort: Sort | None,
                   limit: int | None, next: str | None, prev: str | None) -> Operation:
    return Operation("POST", "/video/call/members",
                     query(filter_conditions, sort, limit, next, prev, type=type, id=id))


def _call_type_fields(settings: Mapping[str, Any] | BaseModel | None, grants: Mapping[str, list[str]] | None,
                      notification_settings: Mapping[str, Any] | BaseModel | None,
                      external_storage: str | None) -> JSON:
    return body(settings=settings, grants=grants, notification_settings=notification_settings,
                external_storage=external_storage)


class Video(Group[R]):
    """Operations on call types and across calls."""

    def list_call_types(self) -> R:
        return self._send(Operation("GET", "/video/calltypes"))

    def get_call_type(self, name: str) -> R:
        return self._send(Operation("GET", f"/video/calltypes/{segment(name)}"))

    def create_call_type(self, name: str, settings: Mapping[str, Any] | BaseModel | None = None,
                         grants: Mapping[str, list[str]] | None = None,
                         notification_settings: Mapping[str, Any] | BaseModel | None = None,
                         external_storage: str | None = None) -> R:
        """A custom type starts from the ``default`` type; ``settings`` are merged over it."""
        fields = _call_type_fields(settings, grants, notification_settings, external_storage)
        return self._send(Operation("POST", "/video/calltypes", {"name": name, **fields}))

    def update_call_type(self, name: str, settings: Mapping[str, Any] | BaseModel | None = None,
                         grants: Mapping[str, list[str]] | None = None,
                         notification_settings: Mapping[str, Any] | BaseModel | None = None,
                         external_storage: str | None = None) -> R:
        """Settings merge over the current ones; ``grants`` replaces the lists of the roles it names."""
        fields = _call_type_fields(settings, grants, notification_settings, external_storage)
        return self._send(Operation("PUT", f"/video/calltypes/{segment(name)}", fields))

    def delete_call_type(self, name: str) -> R:
        return self._send(Operation("DELETE", f"/video/calltypes/{segment(name)}"))

    def query_calls(self, filter_conditions: Mapping[str, Any] | None = None, sort: Sort | None = None,
                    limit: int | None = None, next: str | None = None, prev: str | None = None,
                    watch: bool | None = None) -> R:
        """Calls matching a filter, e.g. ``{"type": "livestream"}``, sorted by ``[{"field", "direction"}]``."""
        return self._send(Operation("POST", "/video/calls", query(filter_conditions, sort, limit, next, prev,
                                                                  watch=watch)))

    def query_members(self, type: str, id: str, filter_conditions: Mapping[str, Any] | None = None,
                      sort: Sort | None = None, limit: int | None = None, next: str | None = None,
                      prev: str | None = None) -> R:
        return self._send(_query_members(type, id, filter_conditions, sort, limit, next, prev))

    # --- call stats and health (operators: a server token) ------------------------------------------------
    def get_active_calls_status(self) -> R:
        """Calls running now: ``summary`` counts and health percentiles over the last minute."""
        return self._send(Operation("GET", "/video/active_calls_status"))

    def query_call_stats(self, filter_conditions: Mapping[str, Any] | None = None, sort: Sort | None = None,
                         limit: int | None = None, next: str | None = None, prev: str | None = None) -> R:
        """Stats reports of ended call sessions, e.g. ``{"quality": "poor"}``, newest first by default."""
        return self._send(Operation("POST", "/video/call/stats", query(filter_conditions, sort, limit, next, prev)))

    def query_aggregate_call_stats(self, from_: datetime, to: datetime, interval: str = "day",
                                   call_type: str | None = None) -> R:
        """Totals of the sessions started in ``[from_, to)``, per ``hour``, ``day`` or ``week``."""
        return self._send(Operation("POST", "/video/stats", {"from": from_.isoformat(), **body(
            to=to, interval=interval, call_type=call_type)}))

    def query_user_feedback(self, filter_conditions: Mapping[str, Any] | None = None, sort: Sort | None = None,
                            limit: int | None = None, next: str | None = None, prev: str | None = None) -> R:
        """The ratings users gave (``collect_user_feedback``), e.g. ``{"rating": {"$lte": 2}}``."""
        return self._send(Operation("POST", "/video/call/feedback",
                                    query(filter_conditions, sort, limit, next, prev)))

    def call(self, type: str, id: str) -> Call[R]:
        """A handle on one call; nothing is sent until one of its methods is called."""
        return Call(self._send, type, id)


class Call(Group[R]):
    """One call, ``type:id``."""

    def __init__(self, send: Callable[[Operation], R], type: str, id: str) -> None:
        super().__init__(send)
        self.type = type
        self.id = id

    @property
    def cid(self) -> str:
        return f"{self.type}:{self.id}"

    @property
    def _path(self) -> str:
        return f"/video/call/{segment(self.type)}/{segment(self.id)}"

    def get_or_create(self, data: Mapping[str, Any] | BaseModel | None = None, members_limit: int | None = None,
                      ring: bool | None = None, notify: bool | None = None, video: bool | None = None) -> R:
        """The call, created from ``data`` (created_by_id, members, custom, settings_override…) if missing."""
        return self._send(Operation("POST", self._path, body(
            data=data, members_limit=members_limit, ring=ring, notify=notify, video=video)))

    def get(self, members_limit: int | None = None) -> R:
        params = {} if members_limit is None else {"members_limit": str(members_limit)}
        return self._send(Operation("GET", self._path, params=params))

    def update(self, custom: Mapping[str, Any] | None = None,
               settings_override: Mapping[str, Any] | BaseModel | None = None,
               starts_at: datetime | None = None) -> R:
        return self._send(Operation("PATCH", self._path, body(
            custom=custom, settings_override=settings_override, starts_at=starts_at)))

    def delete(self, hard: bool = False) -> R:
        """Soft delete by default; a hard delete (server only) is a task (``task_id``) that removes the call's
        members, sessions, recordings and transcripts."""
        return self._send(Operation("POST", f"{self._path}/delete", body(hard=hard)))

    def end(self) -> R:
        return self._send(Operation("POST", f"{self._path}/mark_ended", {}))

    def update_call_members(self, update_members: Iterable[MemberLike] | None = None,
                            remove_members: Iterable[str] | None = None) -> R:
        """Add or change members (``{"user_id", "role", "custom"}``) and remove others by user id."""
        return self._send(Operation("POST", f"{self._path}/members", body(
            update_members=None if update_members is None else list(update_members),
            remove_members=None if remove_members is None else list(remove_members))))

    def query_members(self, filter_conditions: Mapping[str, Any] | None = None, sort: Sort | None = None,
                      limit: int | None = None, next: str | None = None, prev: str | None = None) -> R:
        return self._send(_query_members(self.type, self.id, filter_conditions, sort, limit, next, prev))

    def block_user(self, user_id: str) -> R:
        """Remove the user and keep them from joining again."""
        return self._send(Operation("POST", f"{self._path}/block", body(user_id=user_id)))

    def unblock_user(self, user_id: str) -> R:
        return self._send(Operation("POST", f"{self._path}/unblock", body(user_id=user_id)))

    def kick_user(self, user_id: str, block: bool = False) -> R:
        return self._send(Operation("POST", f"{self._path}/kick", body(user_id=user_id, block=block)))

    def go_live(self, start_hls: bool | None = None, start_recording: bool | None = None,
                recording_storage_name: str | None = None, start_transcription: bool | None = None,
                transcription_storage_name: str | None = None, start_closed_caption: bool | None = None) -> R:
        """Take the call out of backstage: everyone may join, and ``call.live_started`` is sent. ``start_hls``
        and ``start_recording`` start those too (unless running)."""
        return self._send(Operation("POST", f"{self._path}/go_live", body(
            start_hls=start_hls, start_recording=start_recording, recording_storage_name=recording_storage_name,
            start_transcription=start_transcription, transcription_storage_name=transcription_storage_name,
            start_closed_caption=start_closed_caption)))

    def stop_live(self, continue_hls: bool | None = None, continue_recording: bool | None = None,
                  continue_rtmp_broadcasts: bool | None = None, continue_transcription: bool | None = None,
                  continue_closed_caption: bool | None = None) -> R:
        """Back to backstage; HLS and recording stop unless continued."""
        return self._send(Operation("POST", f"{self._path}/stop_live", body(
            continue_hls=continue_hls, continue_recording=continue_recording,
            continue_rtmp_broadcasts=continue_rtmp_broadcasts, continue_transcription=continue_transcription,
            continue_closed_caption=continue_closed_caption)))

    def start_hls_broadcasting(self) -> R:
        """Start HLS broadcasting; the answer has the master ``playlist_url``."""
        return self._send(Operation("POST", f"{self._path}/start_broadcasting", {}))

    def stop_hls_broadcasting(self) -> R:
        return self._send(Operation("POST", f"{self._path}/stop_broadcasting", {}))

    def ring(self, user_ids: Iterable[str] | None = None, video: bool | None = None) -> R:
        """Ring the members again (or only ``user_ids``), as the call's creator."""
        return self._send(Operation("POST", f"{self._path}/ring", body(
            user_ids=None if user_ids is None else list(user_ids), video=video)))

    def start_recording(self, recording_type: str = "composite", recording_external_storage: str | None = None) -> R:
        """Start recording (composite, individual or raw); the answer has the ``egress_id``."""
        return self._send(Operation("POST", f"{self._path}/start_recording", body(
            recording_type=recording_type, recording_external_storage=recording_external_storage)))

    def stop_recording(self, recording_type: str | None = None) -> R:
        """Stop every recording of the call, or the one of ``recording_type``."""
        suffix = f"recordings/{segment(recording_type)}/stop" if recording_type else "stop_recording"
        return self._send(Operation("POST", f"{self._path}/{suffix}", {}))

    def start_frame_recording(self, recording_external_storage: str | None = None) -> R:
        """A still image of each participant's video every interval, each announced by
        ``call.frame_recording_ready``; the answer has the ``egress_id``."""
        return self._send(Operation("POST", f"{self._path}/start_frame_recording", body(
            recording_external_storage=recording_external_storage)))

    def stop_frame_recording(self) -> R:
        return self._send(Operation("POST", f"{self._path}/stop_frame_recording", {}))

    def list_recordings(self) -> R:
        return self._send(Operation("GET", f"{self._path}/recordings"))

    def list_frame_captures(self) -> R:
        """The images the call's frame recordings captured, each with a signed URL (Weir's own listing)."""
        return self._send(Operation("GET", f"{self._path}/frame_captures"))

    def delete_recording(self, session: str, filename: str) -> R:
        return self._send(Operation("DELETE", f"{self._path}/{segment(session)}/recordings/{segment(filename)}"))

    def start_transcription(self, language: str | None = None, enable_closed_captions: bool | None = None,
                            transcription_external_storage: str | None = None) -> R:
        return self._send(Operation("POST", f"{self._path}/start_transcription", body(
            language=language, enable_closed_captions=enable_closed_captions,
            transcription_external_storage=transcription_external_storage)))

    def stop_transcription(self, stop_closed_captions: bool | None = None) -> R:
        return self._send(Operation("POST", f"{self._path}/stop_transcription",
                                    body(stop_closed_captions=stop_closed_captions)))

    def start_closed_captions(self, language: str | None = None, enable_transcription: bool | None = None,
                              external_storage: str | None = None,
                              speech_segment_config: dict[str, int] | None = None) -> R:
        return self._send(Operation("POST", f"{self._path}/start_closed_captions", body(
            language=language, enable_transcription=enable_transcription, external_storage=external_storage,
            speech_segment_config=speech_segment_config)))

    def stop_closed_captions(self, stop_transcription: bool | None = None) -> R:
        return self._send(Operation("POST", f"{self._path}/stop_closed_captions",
                                    body(stop_transcription=stop_transcription)))

    def list_transcriptions(self) -> R:
        return self._send(Operation("GET", f"{self._path}/transcriptions"))

    def delete_transcription(self, session: str, filename: str) -> R:
        return self._send(Operation("DELETE", f"{self._path}/{segment(session)}/transcriptions/{segment(filename)}"))

    def start_rtmp_broadcasts(self, broadcasts: Iterable[Mapping[str, Any] | BaseModel]) -> R:
        """Push the composed call to RTMP servers: each of ``broadcasts`` is {name, stream_url, stream_key, layout,
        quality} (``RTMPBroadcastRequest``); ``call.rtmp_broadcast_failed`` tells when a destination fails."""
        return self._send(Operation("POST", f"{self._path}/rtmp_broadcasts", body(broadcasts=list(broadcasts))))

    def stop_rtmp_broadcast(self, name: str) -> R:
        return self._send(Operation("POST", f"{self._path}/rtmp_broadcasts/{segment(name)}/stop", {}))

    def stop_all_rtmp_broadcasts(self) -> R:
        return self._send(Operation("POST", f"{self._path}/rtmp_broadcasts/stop", {}))

    def send_call_event(self, user_id: str, custom: Mapping[str, Any]) -> R:
        """A ``custom`` event from ``user_id`` to the call's members and watchers."""
        return self._send(Operation("POST", f"{self._path}/event", body(user_id=user_id, custom=custom)))

    def update_user_permissions(self, user_id: str, grant_permissions: Iterable[str] | None = None,
                                revoke_permissions: Iterable[str] | None = None) -> R:
        return self._send(Operation("POST", f"{self._path}/user_permissions", body(
            user_id=user_id, grant_permissions=None if grant_permissions is None else list(grant_permissions),
            revoke_permissions=None if revoke_permissions is None else list(revoke_permissions))))

    def get_call_stats(self, session_id: str) -> R:
        """The stats report of one ended session: per participant quality, timeline, tracks, and issues."""
        return self._send(Operation("GET", f"{self._path}/stats/{segment(session_id)}"))

    def mute_users(self, muted_by_id: str, user_ids: Iterable[str] | None = None, mute_all_users: bool | None = None,
                   audio: bool | None = None, video: bool | None = None, screenshare: bool | None = None,
                   screenshare_audio: bool | None = None) -> R:
        return self._send(Operation("POST", f"{self._path}/mute_users", body(
            muted_by_id=muted_by_id, user_ids=None if user_ids is None else list(user_ids),
            mute_all_users=mute_all_users, audio=audio, video=video, screenshare=screenshare,
            screenshare_audio=screenshare_audio)))
