"""The database schema. Alembic migrations in ``store/migrations`` create it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: DateTime(timezone=True)}


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    role: Mapped[str] = mapped_column(String(64), default="user")
    name: Mapped[str | None] = mapped_column(String(255))
    image: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(16), default="")
    teams: Mapped[list[Any]] = mapped_column(default=list)
    custom: Mapped[dict[str, Any]] = mapped_column(default=dict)
    invisible: Mapped[bool] = mapped_column(Boolean, default=False)
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    last_active: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    deactivated_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    banned: Mapped[bool] = mapped_column(Boolean, default=False)
    ban_expires: Mapped[datetime | None]
    ban_reason: Mapped[str | None] = mapped_column(Text)
    banned_by_id: Mapped[str | None] = mapped_column(String(255))
    revoke_tokens_issued_before: Mapped[datetime | None]


class DeletedUserRow(Base):
    """A hard-deleted user's id: tokens issued before ``deleted_at`` stay refused, even once the id is reused."""

    __tablename__ = "deleted_users"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    deleted_at: Mapped[datetime]


class UserBlockRow(Base):
    """User-to-user blocking: ``user_id`` no longer gets rings or notifications from ``blocked_user_id``."""

    __tablename__ = "user_blocks"

    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    blocked_user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    created_at: Mapped[datetime]


class RoleRow(Base):
    """Custom roles; the built-in ones live in ``domain.roles``."""

    __tablename__ = "roles"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CallTypeRow(Base):
    __tablename__ = "call_types"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    grants: Mapped[dict[str, Any]] = mapped_column(default=dict)
    notification_settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    external_storage: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CallRow(Base):
    __tablename__ = "calls"

    cid: Mapped[str] = mapped_column(String(200), primary_key=True)
    type: Mapped[str] = mapped_column(String(64), ForeignKey("call_types.name"), index=True)
    id: Mapped[str] = mapped_column(String(128))
    created_by_id: Mapped[str] = mapped_column(String(255), index=True)
    team: Mapped[str | None] = mapped_column(String(255), index=True)
    custom: Mapped[dict[str, Any]] = mapped_column(default=dict)
    settings_override: Mapped[dict[str, Any]] = mapped_column(default=dict)
    starts_at: Mapped[datetime | None] = mapped_column(index=True)
    ended_at: Mapped[datetime | None] = mapped_column(index=True)
    backstage: Mapped[bool] = mapped_column(Boolean, default=False)
    recording: Mapped[bool] = mapped_column(Boolean, default=False)
    transcribing: Mapped[bool] = mapped_column(Boolean, default=False)
    captioning: Mapped[bool] = mapped_column(Boolean, default=False)
    broadcasting: Mapped[bool] = mapped_column(Boolean, default=False)
    egress_status: Mapped[dict[str, Any]] = mapped_column(default=dict)  # e.g. {"individual_recording": "running"}
    blocked_user_ids: Mapped[list[Any]] = mapped_column(default=list)
    # Creation flags kept for ringing and notifications (realtime coordinator).
    ring: Mapped[bool] = mapped_column(Boolean, default=False)
    notify: Mapped[bool] = mapped_column(Boolean, default=False)
    video: Mapped[bool] = mapped_column(Boolean, default=False)
    members_limit: Mapped[int | None] = mapped_column(Integer)
    current_session_id: Mapped[str | None] = mapped_column(String(64))
    member_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime] = mapped_column(index=True)
    deleted_at: Mapped[datetime | None]


class CallMemberRow(Base):
    __tablename__ = "call_members"
    __table_args__ = (Index("ix_call_members_user", "user_id"),)

    call_cid: Mapped[str] = mapped_column(String(200), ForeignKey("calls.cid", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    role: Mapped[str] = mapped_column(String(64), default="call_member")
    custom: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CallUserPermissionRow(Base):
    """Capabilities granted or revoked at runtime for one user in one call (member or not)."""

    __tablename__ = "call_user_permissions"

    call_cid: Mapped[str] = mapped_column(String(200), ForeignKey("calls.cid", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    granted: Mapped[list[Any]] = mapped_column(default=list)
    revoked: Mapped[list[Any]] = mapped_column(default=list)
    updated_at: Mapped[datetime]


class AppSettingsRow(Base):
    """The app's settings (one row, id 1): webhook endpoints and the like, edited through ``/app``."""

    __tablename__ = "app_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime]


class WebhookDeliveryRow(Base):
    """The webhook outbox: one row per event and endpoint, written in the transaction that caused the event."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # X-WEBHOOK-ID, the same on every attempt
    endpoint_id: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(Text)
    event_type: Mapped[str] = mapped_column(String(128))
    body: Mapped[str] = mapped_column(Text)  # the exact bytes that are signed and sent
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    first_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class DeviceRow(Base):
    """A push device of a user (Firebase or APNs token)."""

    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(512), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255), index=True)
    push_provider: Mapped[str] = mapped_column(String(32))  # firebase | apn
    push_provider_name: Mapped[str | None] = mapped_column(String(255))
    voip: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class PushProviderRow(Base):
    """A named push provider configuration (credentials, endpoint) with an enabled toggle."""

    __tablename__ = "push_providers"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(32))  # firebase | apn
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PushDeliveryRow(Base):
    """The push outbox: one row per notification and device."""

    __tablename__ = "push_deliveries"
    __table_args__ = (Index("ix_push_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(512))
    provider_name: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class CallSessionRow(Base):
    """One session of a call: from the first join (or the ring that precedes it) until the last participant leaves."""

    __tablename__ = "call_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    call_cid: Mapped[str] = mapped_column(String(200), ForeignKey("calls.cid", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    live_started_at: Mapped[datetime | None]
    live_ended_at: Mapped[datetime | None]
    timer_ends_at: Mapped[datetime | None]
    anonymous_participant_count: Mapped[int] = mapped_column(Integer, default=0)
    # Ringing: {caller_id, callees, video, started_at, ended_at}; answers as {user_id: iso timestamp}.
    ring: Mapped[dict[str, Any]] = mapped_column(default=dict)
    accepted_by: Mapped[dict[str, Any]] = mapped_column(default=dict)
    rejected_by: Mapped[dict[str, Any]] = mapped_column(default=dict)
    missed_by: Mapped[dict[str, Any]] = mapped_column(default=dict)
    pins: Mapped[list[Any]] = mapped_column(default=list)


class SessionParticipantRow(Base):
    __tablename__ = "session_participants"
    __table_args__ = (Index("ix_session_participants_active", "session_id", "left_at"),)

    user_session_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[str] = mapped_column(String(64), ForeignKey("call_sessions.id", ondelete="CASCADE"))
    call_cid: Mapped[str] = mapped_column(String(200), index=True)
    user_id: Mapped[str] = mapped_column(String(255), index=True)
    role: Mapped[str] = mapped_column(String(64))
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    joined_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    left_at: Mapped[datetime | None]
    # When the client first reached the SFU; a session that never does is dropped after the admission window.
    sfu_connected_at: Mapped[datetime | None] = mapped_column(default=None)


class ScheduledTaskRow(Base):
    """Durable timers (ring timeouts, missed calls, call duration limits, inactivity): they survive a restart."""

    __tablename__ = "scheduled_tasks"
    __table_args__ = (Index("ix_scheduled_tasks_due", "done", "due_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    call_cid: Mapped[str] = mapped_column(String(200), index=True)
    session_id: Mapped[str | None] = mapped_column(String(64))
    due_at: Mapped[datetime]
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class UserFeedbackRow(Base):
    __tablename__ = "user_feedback"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    call_cid: Mapped[str] = mapped_column(String(200), index=True)
    session_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str] = mapped_column(String(255))
    user_session_id: Mapped[str | None] = mapped_column(String(64))
    rating: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    custom: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sdk: Mapped[str | None] = mapped_column(String(64))
    sdk_version: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]


class ExternalStorageRow(Base):
    """A named external storage (s3, gcs, abs); ``config`` holds its credentials sealed (weir.sealing)."""

    __tablename__ = "external_storages"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(16))  # s3 | gcs | abs
    bucket: Mapped[str] = mapped_column(String(255))
    path: Mapped[str] = mapped_column(String(255), default="")
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class UploadRow(Base):
    """A file waiting to be uploaded to a store (``store_name`` None: the default); it stays on disk until then."""

    __tablename__ = "uploads"
    __table_args__ = (Index("ix_uploads_due", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    local_path: Mapped[str] = mapped_column(Text)
    store_name: Mapped[str | None] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(String(255))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class EgressJobRow(Base):
    """A recording job: a worker claims it with a lease and renews it; a lapsed lease means the worker died."""

    __tablename__ = "egress_jobs"
    __table_args__ = (Index("ix_egress_jobs_status", "status", "lease_until"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    call_cid: Mapped[str] = mapped_column(String(200), index=True)
    session_id: Mapped[str | None] = mapped_column(String(64))
    recording_type: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # pending, running, stopping, completed, failed
    trigger: Mapped[str] = mapped_column(String(16))  # api or auto
    external_storage: Mapped[str | None] = mapped_column(String(255))
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)  # quality, audio_only, layout at start
    worker_id: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]


class RecordingRow(Base):
    """A finished recording file and where it is stored (the object key in its store)."""

    __tablename__ = "recordings"
    __table_args__ = (Index("ix_recordings_file", "call_cid", "session_id", "filename", unique=True),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    call_cid: Mapped[str] = mapped_column(String(200), index=True)
    session_id: Mapped[str] = mapped_column(String(64))
    egress_id: Mapped[str] = mapped_column(String(64), index=True)
    recording_type: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(255))
    storage: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(Text)
    start_time: Mapped[datetime]
    end_time: Mapped[datetime]
    created_at: Mapped[datetime]


class ParticipantStatsRow(Base):
    """One participant session's stats as the SFU sampled them: a bounded quality timeline (``store.call_stats``)
    and the latest per-track counters."""

    __tablename__ = "participant_stats"

    user_session_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    call_cid: Mapped[str] = mapped_column(String(200), ForeignKey("calls.cid", ondelete="CASCADE"), index=True)
    session_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str] = mapped_column(String(255))
    first_at: Mapped[datetime]
    last_at: Mapped[datetime]
    timeline: Mapped[list[Any]] = mapped_column(default=list)
    tracks: Mapped[list[Any]] = mapped_column(default=list)


class CallStatsReportRow(Base):
    """The stats report of one ended call session; ``report`` holds its participants and timeline."""

    __tablename__ = "call_stats_reports"

    session_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    call_cid: Mapped[str] = mapped_column(String(200), ForeignKey("calls.cid", ondelete="CASCADE"), index=True)
    call_type: Mapped[str] = mapped_column(String(64))
    call_id: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime | None] = mapped_column(index=True)
    ended_at: Mapped[datetime | None]
    duration_seconds: Mapped[int] = mapped_column(Integer, default=0)
    participants_count: Mapped[int] = mapped_column(Integer, default=0)
    quality: Mapped[str] = mapped_column(String(16))
    issues: Mapped[list[Any]] = mapped_column(default=list)
    report: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(index=True)


class TaskRow(Base):
    """An async task (user export or deletion, hard call delete): taken with a lease, so one left running by a
    process that died is taken again once the lease lapses."""

    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_due", "status", "lease_until"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # pending, running, completed, failed
    progress: Mapped[int] = mapped_column(Integer, default=0)  # percent
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the request, checked before the task is made
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    result_key: Mapped[str | None] = mapped_column(Text)  # a file in Weir's own store (an export)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
