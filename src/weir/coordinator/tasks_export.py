"""The export task: the users and the calls they took part in, as one JSON file in Weir's own store.

Each user's part is the user's own data: their profile, blocks and push devices, and for each of their calls
the call, their membership, the sessions they joined with their participations, their feedback, and the
metadata of the recordings and transcripts of those sessions. Other users' rows are not copied.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from weir.coordinator.services import Services
from weir.coordinator.tasks import TaskContext
from weir.domain.clock import now, utc
from weir.store.tables import (
    Base,
    CallMemberRow,
    CallRow,
    CallSessionRow,
    DeviceRow,
    RecordingRow,
    SessionParticipantRow,
    UserBlockRow,
    UserFeedbackRow,
    UserRow,
)
from weir.store.users import call_cids_of

EXPORT_USERS = "export_users"
CALL_FIELDS = ("cid", "type", "id", "created_by_id", "custom", "starts_at", "created_at", "updated_at", "ended_at",
               "deleted_at")
SESSION_FIELDS = ("id", "created_at", "started_at", "ended_at")
RECORDING_FIELDS = ("session_id", "recording_type", "filename", "start_time", "end_time")


def _plain(row: Base, fields: Iterable[str] | None = None) -> dict[str, Any]:
    names = fields if fields is not None else [column.key for column in row.__table__.columns]
    return {name: _value(getattr(row, name)) for name in names}


def _value(value: Any) -> Any:
    return utc(value).isoformat() if isinstance(value, datetime) else value


async def _rows(session: AsyncSession, query: Any) -> list[Any]:
    return list((await session.scalars(query)).all())


async def _call_part(session: AsyncSession, user_id: str, call: CallRow) -> dict[str, Any]:
    member = await session.get(CallMemberRow, (call.cid, user_id))
    joined = await _rows(session, select(SessionParticipantRow).where(
        SessionParticipantRow.call_cid == call.cid, SessionParticipantRow.user_id == user_id)
        .order_by(SessionParticipantRow.joined_at))
    session_ids = sorted({p.session_id for p in joined})
    sessions = await _rows(session, select(CallSessionRow).where(CallSessionRow.id.in_(session_ids))
                           .order_by(CallSessionRow.created_at))
    feedback = await _rows(session, select(UserFeedbackRow).where(
        UserFeedbackRow.call_cid == call.cid, UserFeedbackRow.user_id == user_id).order_by(UserFeedbackRow.created_at))
    recordings = await _rows(session, select(RecordingRow).where(
        RecordingRow.call_cid == call.cid, RecordingRow.session_id.in_(session_ids))
        .order_by(RecordingRow.start_time, RecordingRow.filename))
    return {
        "call": _plain(call, CALL_FIELDS),
        "member": None if member is None else _plain(member),
        "sessions": [{**_plain(s, SESSION_FIELDS),
                      "participations": [_plain(p) for p in joined if p.session_id == s.id]} for s in sessions],
        "feedback": [_plain(f) for f in feedback],
        "recordings": [_plain(r, RECORDING_FIELDS) for r in recordings],
    }


async def user_export(session: AsyncSession, user_id: str) -> dict[str, Any] | None:
    """One user's part of an export (None: the user is gone)."""
    user = await session.get(UserRow, user_id)
    if user is None:
        return None
    blocks = await _rows(session, select(UserBlockRow.blocked_user_id).where(UserBlockRow.user_id == user_id)
                         .order_by(UserBlockRow.created_at))
    devices = await _rows(session, select(DeviceRow).where(DeviceRow.user_id == user_id).order_by(DeviceRow.created_at))
    calls = await _rows(session, select(CallRow).where(CallRow.cid.in_(await call_cids_of(session, user_id)))
                        .order_by(CallRow.created_at, CallRow.cid))
    return {"user": _plain(user), "blocked_user_ids": blocks, "devices": [_plain(d) for d in devices],
            "calls": [await _call_part(session, user_id, call) for call in calls]}


async def _store(weir: Services, key: str, document: dict[str, Any]) -> None:
    """Write the file to Weir's own store (written locally first, so the store gets it whole)."""
    with tempfile.TemporaryDirectory(dir=weir.settings.data_dir, prefix="export-") as folder:
        path = Path(folder) / "export.json"
        await asyncio.to_thread(path.write_text, json.dumps(document, indent=1, sort_keys=True))
        await weir.stores.default().put(key, path, "application/json")


async def export_users_task(context: TaskContext) -> dict[str, Any]:
    user_ids: list[str] = context.payload["user_ids"]
    users, missing = [], []
    for done, user_id in enumerate(user_ids, start=1):
        async with context.step(done, len(user_ids) + 1) as session:
            part = await user_export(session, user_id)
        if part is None:
            missing.append(user_id)
        else:
            users.append(part)
    key = f"exports/{context.task_id}.json"
    await _store(context.weir, key, {"exported_at": now().isoformat(), "users": users})
    context.result_key = key
    return {"users": len(users), "calls": sum(len(u["calls"]) for u in users), "missing_user_ids": missing}


def register_tasks(weir: Services) -> None:
    weir.tasks.handle(EXPORT_USERS, export_users_task)
