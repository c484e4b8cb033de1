"""One row whose stored JSON can't be read back (malformed, NaN, nested too deep) never fails a listing, a read
or a delete for other callers: its custom data is dropped from what is shown, and the rest is served."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable

import asyncpg
import httpx

from tests.conftest import RunningServer
from tests.test_freeform import nested

DEEP = json.dumps(nested(300))  # valid JSON, but deeper than any response can be serialised
POISONS = {"sqlite": ['{"a": NaN}', '{"a": ', DEEP], "postgres": [DEEP]}


def poison(server: RunningServer, table: str, where: dict[str, str], custom: str) -> None:
    """Write ``custom`` straight into the database, past every check the API makes."""
    keys = list(where)
    if server.backend == "sqlite":
        path = server.database_url.split(":///", 1)[1]
        with sqlite3.connect(path, timeout=10) as db:
            clause = " AND ".join(f"{k} = ?" for k in keys)
            assert db.execute(f"UPDATE {table} SET custom = ? WHERE {clause}",
                              [custom, *where.values()]).rowcount == 1
        return

    async def run() -> None:
        db = await asyncpg.connect(server.database_url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            clause = " AND ".join(f"{k} = ${i + 2}" for i, k in enumerate(keys))
            done = await db.execute(f"UPDATE {table} SET custom = $1::json WHERE {clause}", custom, *where.values())
            assert done == "UPDATE 1"
        finally:
            await db.close()

    asyncio.run(run())


def test_unreadable_rows_are_served_without_their_custom_data(
    server: RunningServer, api: httpx.Client, uid: Callable[[str], str],
) -> None:
    for bad in POISONS[server.backend]:
        owner, other, tag = uid("owner"), uid("other"), uid("tag")
        bad_id, good_id = uid("bad"), uid("good")
        for call_id in (bad_id, good_id):
            members = [{"user_id": owner, "custom": {"tag": tag}}, {"user_id": other, "custom": {"tag": tag}}]
            api.post(f"/video/call/default/{call_id}", json={"data": {
                "created_by_id": owner, "members": members, "custom": {"tag": tag}}}).raise_for_status()
        api.post("/users", json={"users": {u: {"id": u, "custom": {"tag": tag}} for u in (owner, other)}}
                 ).raise_for_status()
        poison(server, "calls", {"cid": f"default:{bad_id}"}, bad)
        poison(server, "call_members", {"call_cid": f"default:{good_id}", "user_id": other}, bad)
        poison(server, "users", {"id": other}, bad)

        listed = api.post("/video/calls", json={"filter_conditions": {"id": {"$in": [bad_id, good_id]}}})
        assert listed.status_code == 200, listed.text
        calls = {c["call"]["id"]: c for c in listed.json()["calls"]}
        assert calls[bad_id]["call"]["custom"] == {} and calls[good_id]["call"]["custom"] == {"tag": tag}
        by_custom = api.post("/video/calls", json={"filter_conditions": {"custom.tag": tag}})
        assert [c["call"]["id"] for c in by_custom.json()["calls"]] == [good_id], by_custom.text

        members = api.post("/video/call/members", json={"type": "default", "id": good_id})
        assert members.status_code == 200, members.text
        customs = {m["user_id"]: m["custom"] for m in members.json()["members"]}
        assert customs == {owner: {"tag": tag}, other: {}}
        users = api.post("/users/query", json={"filter_conditions": {"id": {"$in": [owner, other]}}})
        assert users.status_code == 200, users.text
        assert {u["id"]: u["custom"] for u in users.json()["users"]} == {owner: {"tag": tag}, other: {}}
        by_team = api.post("/users/query", json={"filter_conditions": {"custom.tag": tag}})
        assert [u["id"] for u in by_team.json()["users"]] == [owner], by_team.text

        assert api.get(f"/video/call/default/{bad_id}").json()["call"]["custom"] == {}
        assert api.post(f"/video/call/default/{bad_id}/delete", json={}).status_code == 200
        assert api.get(f"/video/call/default/{bad_id}").status_code == 404

