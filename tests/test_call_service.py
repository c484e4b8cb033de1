"""The call service's access checks and the call type cache, against the real databases."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.conftest import RunningServer
from weir.coordinator.auth import Caller
from weir.coordinator.call_service import load_call
from weir.domain.capabilities import Capability
from weir.domain.tokens import TokenClaims
from weir.protocol.errors import APIError, ErrorCode
from weir.store.calltypes import CallTypeCache, cached_call_type, get_call_type
from weir.store.db import Database


def user(user_id: str, **claims: object) -> Caller:
    return Caller(TokenClaims(user_id, **claims), "web", "user")  # type: ignore[arg-type]


async def test_load_call_checks_access(server: RunningServer, api: httpx.Client, uid: Callable[[str], str]) -> None:
    call_id = uid("c")
    created = api.post(f"/video/call/default/{call_id}", json={"data": {"created_by_id": "owner"}})
    assert created.status_code == 200, created.text
    db = Database(server.database_url)
    try:
        async with db.read() as session:
            call, access = await load_call(session, user("owner"), "default", call_id)
            assert call.cid == f"default:{call_id}" and access.has(Capability.END_CALL)
            refusals = [
                (user("owner", call_cids=("default:other",)), "default", call_id, ErrorCode.NOT_ALLOWED),
                (user("owner"), "no_such_type", call_id, ErrorCode.INPUT_ERROR),
                (user("owner"), "default", uid("missing"), ErrorCode.NOT_FOUND),
            ]
            for who, type_, id_, code in refusals:
                with pytest.raises(APIError) as refused:
                    await load_call(session, who, type_, id_)
                assert refused.value.code == code
    finally:
        await db.close()


async def test_call_type_cache_forgets_writes_here_and_ages_out_writes_elsewhere(server: RunningServer) -> None:
    clock = [0.0]
    here = Database(server.database_url, CallTypeCache(ttl=2.0, clock=lambda: clock[0]))
    elsewhere = Database(server.database_url)

    async def cached(db: Database) -> bool:
        async with db.read() as session:
            row = await cached_call_type(session, "development")
            assert row is not None
            return bool(row.settings["thumbnails"]["enabled"])

    async def write(db: Database, enabled: bool) -> None:
        async with db.transaction() as session:
            row = await get_call_type(session, "development")
            assert row is not None
            row.settings = {**row.settings, "thumbnails": {**row.settings["thumbnails"], "enabled": enabled}}

    try:
        original = await cached(here)
        async with here.read() as session:
            assert await cached_call_type(session, "development") is here.call_types.get("development")
        await write(here, not original)
        assert await cached(here) is (not original), "a write through this database empties its cache"
        await write(elsewhere, original)
        assert await cached(here) is (not original), "another process's write shows only after the TTL"
        clock[0] += 2.5
        assert await cached(here) is original
    finally:
        await here.close()
        await elsewhere.close()
