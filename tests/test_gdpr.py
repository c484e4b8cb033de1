"""GDPR: user export, delete (soft, pruning, hard), restore and hard call delete, all as durable async tasks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import RunningServer, assert_error
from tests.tasks import finished_task, run_task
from tests.test_restart import Restartable, restartable  # noqa: F401 (a fixture)
from weir.domain.clock import now
from weir.protocol.errors import ErrorCode
from weir.store.db import Database
from weir.store.tables import RecordingRow, TaskRow


def in_database(url: str, rows: list[Any]) -> None:
    """Write rows straight into the server's database (what a recording worker or a killed process leaves)."""

    async def write() -> None:
        db = Database(url)
        try:
            async with db.transaction() as session:
                session.add_all(rows)
        finally:
            await db.close()

    asyncio.run(write())


def exported(api: httpx.Client, user_id: str) -> dict[str, Any]:
    """``export_user``'s file, fetched from the signed URL ``get_task`` gives."""
    task = run_task(api, api.get(f"/users/{user_id}/export"))
    assert task["progress"] == 100 and task["result"]["users"] == 1
    download = httpx.get(task["result"]["url"], timeout=30)
    assert download.status_code == 200, download.text
    document: dict[str, Any] = download.json()
    return document


@pytest.fixture
def two_party_call(api: httpx.Client, user_api: Callable[..., httpx.Client], uid: Callable[[str], str]
                   ) -> Iterator[tuple[str, str, str]]:
    """``(alice, bob, path)``: a 1:1 call both joined and rated, alice with a name and custom data."""
    alice, bob, path = uid("alice"), uid("bob"), f"/video/call/default/{uid('c')}"
    api.post("/users", json={"users": {alice: {"id": alice, "name": "Alice", "custom": {"city": "Lyon"}},
                                       bob: {"id": bob, "name": "Bob"}}}).raise_for_status()
    api.post(path, json={"data": {"created_by_id": alice, "members": [{"user_id": alice}, {"user_id": bob}]}}
             ).raise_for_status()
    for user_id, rating in ((alice, 5), (bob, 2)):
        client = user_api(user_id)
        assert client.post(f"{path}/join", json={}).status_code == 200
        assert client.post(f"{path}/feedback", json={"rating": rating}).status_code == 200
    yield alice, bob, path


def test_export_gives_a_users_calls_and_nothing_of_others(
    api: httpx.Client, two_party_call: tuple[str, str, str]
) -> None:
    alice, bob, path = two_party_call
    document = exported(api, alice)
    [mine] = document["users"]
    assert (mine["user"]["id"], mine["user"]["name"], mine["user"]["custom"]) == (alice, "Alice", {"city": "Lyon"})
    [call] = mine["calls"]
    assert call["call"]["cid"] == ":".join(path.rsplit("/", 2)[-2:])
    assert call["member"]["user_id"] == alice
    [session] = call["sessions"]
    assert [p["user_id"] for p in session["participations"]] == [alice]
    assert [(f["user_id"], f["rating"]) for f in call["feedback"]] == [(alice, 5)]
    assert bob not in str(call["sessions"]) + str(call["feedback"]) + str(mine["user"])


def test_pruning_nulls_details_restore_brings_back_soft_deleted(
    api: httpx.Client, user_api: Callable[..., httpx.Client], two_party_call: tuple[str, str, str],
    uid: Callable[[str], str],
) -> None:
    alice, bob, path = two_party_call
    task = run_task(api, api.post("/users/delete", json={"user_ids": [alice], "user": "pruning", "calls": "soft",
                                                         "messages": "hard", "conversations": "hard", "files": True,
                                                         "new_channel_owner_id": uid("owner")}))
    assert task["result"] == {"deleted_users": 1, "deleted_calls": 1}
    pruned = exported(api, alice)["users"][0]["user"]
    assert pruned["name"] is None and pruned["custom"] == {} and pruned["deleted_at"] is not None
    assert_error(api.get(path), 404, ErrorCode.NOT_FOUND)  # their 1:1 call went with them
    other = exported(api, bob)["users"][0]
    assert other["user"]["name"] == "Bob" and other["user"]["deleted_at"] is None, "bob's data is untouched"
    assert [f["rating"] for f in other["calls"][0]["feedback"]] == [2]

    carol = uid("carol")
    client = user_api(carol)
    assert client.get("/users/block").status_code == 200
    run_task(api, api.post("/users/delete", json={"user_ids": [carol]}))
    assert_error(client.get("/users/block"), 401, ErrorCode.AUTH_FAILED)
    assert api.post("/users/restore", json={"user_ids": [carol]}).status_code == 200
    assert client.get("/users/block").status_code == 200, "the restored user's token works again"


def test_bad_input_is_a_clear_error_and_starts_no_task(
    api: httpx.Client, user_api: Callable[..., httpx.Client], uid: Callable[[str], str]
) -> None:
    me = uid("u")
    api.post("/users", json={"users": {me: {"id": me}}}).raise_for_status()
    assert_error(api.post("/export/users", json={"user_ids": []}), 400, ErrorCode.INPUT_ERROR)
    assert_error(api.post("/export/users", json={"user_ids": [me, uid("ghost")]}), 404, ErrorCode.NOT_FOUND)
    assert_error(api.get("/users/bad%20id/export"), 400, ErrorCode.INPUT_ERROR)
    assert_error(user_api(me).get(f"/users/{me}/export"), 403, ErrorCode.NOT_ALLOWED)
    assert_error(api.get(f"/tasks/{uid('t')}"), 404, ErrorCode.NOT_FOUND)
    assert_error(api.get("/tasks/bad%20id"), 400, ErrorCode.INPUT_ERROR)
    for bad in ({"user": "prune"}, {"calls": "pruning"}, {"messages": "gone"}, {"new_call_owner_id": me}):
        assert_error(api.post("/users/delete", json={"user_ids": [me], **bad}), 400, ErrorCode.INPUT_ERROR)
    assert_error(api.post("/users/restore", json={"user_ids": [uid("ghost")]}), 404, ErrorCode.NOT_FOUND)
    task = run_task(api, api.post("/users/deactivate", json={"user_ids": [me]}))
    assert task["result"] == {"users": 1}, "bulk deactivation names a real, completed task"
    assert exported(api, me)["users"][0]["user"]["deleted_at"] is None


def test_hard_call_delete_removes_rows_and_files(
    server: RunningServer, api: httpx.Client, user_api: Callable[..., httpx.Client],
    two_party_call: tuple[str, str, str],
) -> None:
    alice, _, path = two_party_call
    cid = ":".join(path.rsplit("/", 2)[-2:])
    session_id = api.get(path).json()["call"]["session"]["id"]
    files = []
    for kind in ("composite", "transcription", "frame"):  # a frame recording's image is a row of its own kind
        key = f"{cid.replace(':', '/')}/{session_id}/{kind}.txt"
        file = server.data_dir / "recordings" / key
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(kind)
        files.append(file)
        stamp = now()
        in_database(server.database_url, [RecordingRow(
            id=f"{kind}-{session_id}", call_cid=cid, session_id=session_id, egress_id=f"e-{session_id}",
            recording_type=kind, filename=f"{kind}.txt", storage="weir", key=key, start_time=stamp, end_time=stamp,
            created_at=stamp)])
    assert len(api.get(f"{path}/recordings").json()["recordings"]) == 1, "transcripts and frames are not listed"
    assert [frame["filename"] for frame in api.get(f"{path}/frame_captures").json()["frame_captures"]] == ["frame.txt"]
    assert_error(user_api(alice).post(f"{path}/delete", json={"hard": True}), 403, ErrorCode.NOT_ALLOWED)
    response = api.post(f"{path}/delete", json={"hard": True})
    assert response.json()["call"]["cid"] == cid
    assert run_task(api, response)["result"] == {"deleted_calls": 1}
    assert not any(file.exists() for file in files)
    recreated = api.post(path, json={"data": {"created_by_id": alice}}).json()
    assert recreated["created"] is True and recreated["members"] == [], "no member, session or recording is left"
    assert api.get(f"{path}/recordings").json()["recordings"] == []
    assert api.get(f"{path}/frame_captures").json()["frame_captures"] == []
    assert exported(api, alice)["users"][0]["calls"][0]["sessions"] == [], "the old sessions went with the call"


def test_tasks_left_by_a_killed_process_run_after_a_restart(restartable: Restartable) -> None:  # noqa: F811
    user_id = f"u-{restartable.server.backend}"
    with restartable.client() as api:
        api.post("/users", json={"users": {user_id: {"id": user_id, "name": "Kept"}}}).raise_for_status()
    restartable.stop()
    lapsed, stamp = now() - timedelta(seconds=1), now()

    def left_running(task_id: str, attempts: int) -> TaskRow:
        return TaskRow(id=task_id, kind="export_users", status="running", progress=50, payload={"user_ids": [user_id]},
                       attempts=attempts, lease_until=lapsed, created_at=stamp, updated_at=stamp)

    in_database(restartable.server.database_url, [left_running("interrupted-once", 1),
                                                  left_running("interrupted-thrice", 3)])
    restartable.start()
    with restartable.client() as api:
        task = finished_task(api, "interrupted-once")
        assert task["status"] == "completed" and task["result"]["users"] == 1
        assert httpx.get(task["result"]["url"], timeout=30).json()["users"][0]["user"]["name"] == "Kept"
        failed = finished_task(api, "interrupted-thrice")
        assert failed["status"] == "failed" and "interrupted 3 times" in failed["error"]["description"]
