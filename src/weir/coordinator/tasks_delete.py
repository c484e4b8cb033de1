"""The deletion tasks: ``delete_users`` (soft, pruning or hard, with their 1:1 calls) and a hard call delete.

Each user, and each call, is one step: it commits whole or not at all, and a task taken again after a crash
finds the finished steps' work done (a user already gone is skipped).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from weir.coordinator.call_access import system_access
from weir.coordinator.callevents import CallEvents
from weir.coordinator.recording_files import delete_file
from weir.coordinator.services import Services
from weir.coordinator.tasks import TaskContext
from weir.coordinator.userevents import emit_user_event
from weir.domain.clock import now
from weir.protocol import events as ev
from weir.store import users as store
from weir.store.calls import hard_delete_call, touch
from weir.store.tables import CallRow, EgressJobRow, RecordingRow

DELETE_USERS = "delete_users"
DELETE_CALL = "delete_call"


async def soft_delete_call(weir: Services, session: AsyncSession, call: CallRow) -> None:
    """Mark the call deleted and ended, and announce ``call.deleted`` (once)."""
    if call.deleted_at is not None:
        return
    stamp = now()
    call.deleted_at = stamp
    call.ended_at = call.ended_at or stamp
    touch(call, stamp)
    await CallEvents(weir, session, call, await system_access(session, call)).deleted()


async def purge_call(weir: Services, session: AsyncSession, call: CallRow) -> None:
    """Remove the call with its members, sessions, recordings and transcripts (their files too) and jobs."""
    recordings = (await session.scalars(select(RecordingRow).where(RecordingRow.call_cid == call.cid))).all()
    for row in recordings:
        await delete_file(weir, session, row)
    await session.execute(delete(EgressJobRow).where(EgressJobRow.call_cid == call.cid))  # its workers stop
    await hard_delete_call(session, call)


async def delete_call_task(context: TaskContext) -> dict[str, Any]:
    async with context.step(1, 1) as session:
        call = await session.get(CallRow, context.payload["cid"])
        if call is None:
            return {"deleted_calls": 0}
        await purge_call(context.weir, session, call)
    return {"deleted_calls": 1}


async def _delete_user(context: TaskContext, session: AsyncSession, user_id: str) -> int:
    """One user's deletion; returns how many calls went with them."""
    weir, options = context.weir, context.payload
    user = await store.get_user(session, user_id)
    if user is None:
        return 0
    calls = await store.one_to_one_calls(session, user_id) if options.get("calls") else []
    for call in calls:
        await soft_delete_call(weir, session, call)
        if options["calls"] == "hard":
            await purge_call(weir, session, call)
    mode = options["user"]
    stamp = now()
    if mode == "pruning":
        store.prune(user, stamp)
    if mode in ("pruning", "hard"):
        await store.delete_devices(session, user_id)
    await emit_user_event(weir, session, ev.UserDeletedEvent, user, hard_delete=mode == "hard")
    if mode == "hard":
        owner = options.get("new_call_owner_id")
        if owner is not None:
            await store.ensure_user(session, owner)
            await session.execute(update(CallRow).where(CallRow.created_by_id == user_id).values(created_by_id=owner))
        await store.hard_delete_users(session, [user])
    else:
        user.deleted_at = user.deleted_at or stamp
        user.updated_at = stamp
    return len(calls)


async def delete_users_task(context: TaskContext) -> dict[str, Any]:
    user_ids: list[str] = context.payload["user_ids"]
    calls = 0
    for done, user_id in enumerate(user_ids, start=1):
        async with context.step(done, len(user_ids)) as session:
            calls += await _delete_user(context, session, user_id)
    return {"deleted_users": len(user_ids), "deleted_calls": calls}


def register_tasks(weir: Services) -> None:
    weir.tasks.handle(DELETE_USERS, delete_users_task)
    weir.tasks.handle(DELETE_CALL, delete_call_task)
