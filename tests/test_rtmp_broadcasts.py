"""The RTMP broadcast routes without a worker (tests/egress/test_rtmp_broadcast.py pushes real streams): checks,
events to the call's members, ``egress.rtmps`` in the call, stop by name and stop all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import select

from tests.conftest import RunningServer, assert_error
from tests.test_call_actions import open_room
from tests.test_transcriptions import claim
from tests.test_transcriptions import worker as egress_worker  # noqa: F401 (a fixture)
from weir.protocol.errors import ErrorCode
from weir.store.db import Database
from weir.store.tables import EgressJobRow

UserApi = Callable[..., httpx.Client]
YOUTUBE = {"name": "youtube", "stream_url": "rtmp://127.0.0.1:1/live2", "stream_key": "secret-1"}
TWITCH = {"name": "twitch", "stream_url": "rtmps://127.0.0.1:1/app/", "stream_key": "secret-2", "quality": "480p"}


async def jobs(server: RunningServer, cid: str) -> list[EgressJobRow]:
    db = Database(server.database_url)
    try:
        async with db.read() as session:
            return list((await session.scalars(select(EgressJobRow).where(EgressJobRow.call_cid == cid))).all())
    finally:
        await db.close()


def rtmps(api: httpx.Client, path: str) -> list[tuple[str, str]]:
    """(name, stream_url) of the broadcasts the call lists; no stream key is ever shown."""
    listed = api.get(path).json()["call"]["egress"]["rtmps"]
    assert all(rtmp.get("stream_key") is None and rtmp["started_at"] for rtmp in listed), listed
    return [(rtmp["name"], rtmp["stream_url"]) for rtmp in listed]


async def test_rtmp_broadcasts_start_list_and_stop(
        server: RunningServer, api: httpx.Client, user_api: UserApi, uid: Callable[[str], str]) -> None:
    room = await open_room(server, api, user_api, uid)
    start = f"{room.path}/rtmp_broadcasts"
    host = user_api(room.host)
    for bad, field in (({**YOUTUBE, "stream_url": "http://127.0.0.1/live"}, "stream_url"),
                       ({**YOUTUBE, "stream_url": "rtmp:///live"}, "stream_url"),
                       ({**YOUTUBE, "stream_key": "two words"}, "stream_key"),
                       ({**YOUTUBE, "name": "a/b"}, "name"), ({**YOUTUBE, "quality": "4k"}, "quality")):
        assert field in str(assert_error(host.post(start, json={"broadcasts": [bad]}), 400)), bad
    assert_error(host.post(start, json={"broadcasts": []}), 400)
    assert "broadcasts" in assert_error(host.post(start, json={"broadcasts": [YOUTUBE, YOUTUBE]}), 400)["message"]
    assert_error(user_api(room.member).post(start, json={"broadcasts": [YOUTUBE]}), 403, ErrorCode.NOT_ALLOWED)
    assert rtmps(api, room.path) == []  # nothing written by a refused request

    assert host.post(start, json={"broadcasts": [YOUTUBE, TWITCH]}).status_code == 200
    started = await room.seen_by_call("call.rtmp_broadcast_started")
    assert {event["name"] for event in started} <= {"youtube", "twitch"}
    assert rtmps(api, room.path) == [("youtube", YOUTUBE["stream_url"]), ("twitch", TWITCH["stream_url"])]
    stored = [job.options for job in await jobs(server, room.cid)]
    assert all(options["stream_key"].startswith("fernet:") for options in stored), "the key is sealed at rest"
    assert "secret-" not in str(stored)
    assert_error(host.post(start, json={"broadcasts": [TWITCH]}), 409, ErrorCode.CONFLICT)

    assert host.post(f"{start}/youtube/stop", json={}).status_code == 200
    stopped = await room.seen_by_call("call.rtmp_broadcast_stopped")
    assert [event["name"] for event in stopped] == ["youtube"] * len(stopped)
    assert rtmps(api, room.path) == [("twitch", TWITCH["stream_url"])]
    assert_error(host.post(f"{start}/youtube/stop", json={}), 404, ErrorCode.NOT_FOUND)
    assert api.post(f"{start}/stop", json={}).status_code == 200
    assert rtmps(api, room.path) == []
    assert api.post(f"{start}/stop", json={}).status_code == 200  # nothing left: still fine

    # stop_live stops them unless told to continue them
    assert host.post(start, json={"broadcasts": [YOUTUBE]}).status_code == 200
    kept = host.post(f"{room.path}/stop_live", json={"continue_rtmp_broadcasts": True})
    assert kept.status_code == 200, kept.text
    assert rtmps(api, room.path) == [("youtube", YOUTUBE["stream_url"])]
    assert host.post(f"{room.path}/stop_live", json={}).status_code == 200
    assert rtmps(api, room.path) == []
    await room.close()


def test_rtmp_broadcasting_off_in_the_settings_is_refused(api: httpx.Client, uid: Callable[[str], str]) -> None:
    path = f"/video/call/default/{uid('off')}"
    off = {"broadcasting": {"rtmp": {"enabled": False}}}
    assert api.post(path, json={"data": {"created_by_id": "host", "settings_override": off}}).status_code == 200
    assert_error(api.post(f"{path}/rtmp_broadcasts", json={"broadcasts": [YOUTUBE]}), 403, ErrorCode.NOT_ALLOWED)
    assert rtmps(api, path) == []


def test_the_worker_gets_the_stream_key_unsealed_on_claim_and_on_every_heartbeat(
        api: httpx.Client, egress_worker: Callable[..., dict[str, Any]],  # noqa: F811 (the fixture imported)
        uid: Callable[[str], str]) -> None:
    """A heartbeat's options replace the worker's: with the sealed key in them, a destination failing after the
    first heartbeat was reported with the key in clear (it was masked as the sealed text)."""
    path = f"/video/call/default/{uid('keyed')}"
    assert api.post(path, json={"data": {"created_by_id": "host"}}).status_code == 200
    assert api.post(f"{path}/rtmp_broadcasts", json={"broadcasts": [YOUTUBE]}).status_code == 200
    job = claim(egress_worker, "default:" + path.rsplit("/", 1)[1], "rtmp")
    assert job["options"]["stream_key"] == YOUTUBE["stream_key"]
    beat = egress_worker(f"/{job['egress_id']}/heartbeat")
    assert beat["status"] == "running" and beat["options"]["stream_key"] == YOUTUBE["stream_key"], beat
    egress_worker(f"/{job['egress_id']}/finish", error=None)
