"""An event's recipients: the call's members are read once per transaction, and again after members change."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState

from tests.conftest import RunningServer
from weir.coordinator.events import member_ids
from weir.domain.clock import now
from weir.protocol.app_settings import EventHook
from weir.store.calls import get_call, remove_members, upsert_members
from weir.store.db import Database
from weir.webhooks.config import locked_settings, read_hooks, store_hooks


async def test_members_are_read_once_per_transaction_until_they_change(
    server: RunningServer, api: httpx.Client, uid: Callable[[str], str]
) -> None:
    ann, bob, call_id = uid("ann"), uid("bob"), uid("c")
    cid = f"default:{call_id}"
    api.post(f"/video/call/default/{call_id}", json={"data": {"created_by_id": ann, "members": [{"user_id": ann}]}}
             ).raise_for_status()
    api.post("/users", json={"users": {bob: {"id": bob}}}).raise_for_status()
    db = Database(server.database_url)
    try:
        async with db.transaction() as session:
            reads: list[str] = []

            def note(state: ORMExecuteState) -> None:
                reads.append(str(state.statement))

            event.listen(session.sync_session, "do_orm_execute", note)
            call = await get_call(session, cid)
            assert call is not None
            reads.clear()
            assert await member_ids(session, cid) == {ann}
            assert await member_ids(session, cid) == {ann}
            assert len(reads) == 1, "the second event's recipients come from the first read"
            await upsert_members(session, call, [(bob, "call_member", {})])  # written through the ORM
            assert await member_ids(session, cid) == {ann, bob}
            await remove_members(session, call, [ann])  # a DELETE statement
            assert await member_ids(session, cid) == {bob}
            raise _RollBack
    except _RollBack:
        pass
    finally:
        await db.close()


async def test_event_hooks_are_read_once_per_transaction_until_written(server: RunningServer) -> None:
    db = Database(server.database_url)
    try:
        async with db.transaction() as session:
            first = await read_hooks(session)
            reads: list[str] = []
            event.listen(session.sync_session, "do_orm_execute", lambda state: reads.append(str(state.statement)))
            assert await read_hooks(session) == first and reads == [], "the second event's hooks come from the first"
            stamp = now()
            hook = EventHook(id="h1", webhook_url="http://127.0.0.1:9/hook", enabled=True, event_types=[],
                             created_at=stamp, updated_at=stamp)
            row = await locked_settings(session)
            assert await read_hooks(session) == first
            store_hooks(row, [hook], stamp)
            assert [h.id for h in await read_hooks(session)] == ["h1"], "a hook stored in the transaction counts"
            raise _RollBack
    except _RollBack:
        pass
    finally:
        await db.close()


class _RollBack(Exception):
    """Leave the transaction without committing."""
