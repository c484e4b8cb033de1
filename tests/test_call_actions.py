"""In-call interactions through the real server, seen over real WebSockets by members, watchers and strangers:
custom events, reactions, permission requests, grants and revokes, mutes and feedback."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx
from sqlalchemy import select

from tests.conftest import RunningServer, assert_error
from tests.realtime import EventClient, connect_user
from weir.protocol.errors import ErrorCode
from weir.store.db import Database
from weir.store.tables import UserFeedbackRow

UserApi = Callable[..., httpx.Client]
Uid = Callable[[str], str]


@dataclass
class Room:
    """A call with a host (its creator), two plain members, a watcher and a stranger, all connected."""

    path: str
    cid: str
    host: str
    member: str
    other: str
    watcher: str
    stranger: str
    ws: dict[str, EventClient]

    async def close(self) -> None:
        for client in self.ws.values():
            await client.close()

    async def seen_by_call(self, event_type: str, *, but_not: tuple[str, ...] = ()) -> list[dict]:
        """The event as every member and the watcher received it; ``but_not`` and the stranger never get it."""
        receivers = [u for u in (self.host, self.member, self.other, self.watcher) if u not in but_not]
        events = [await self.ws[u].wait_for(event_type) for u in receivers]
        for user in (*but_not, self.stranger):
            await self.ws[user].assert_no(event_type)
        return events


async def open_room(server: RunningServer, api: httpx.Client, user_api: UserApi, uid: Uid,
                    call_type: str = "default") -> Room:
    host, member, other, watcher, stranger = (uid(p) for p in ("host", "member", "other", "watcher", "stranger"))
    ws = {u: await connect_user(server, u) for u in (host, member, other, watcher, stranger)}
    call_id = uid("c")
    path = f"/video/call/{call_type}/{call_id}"
    members = [{"user_id": host}, {"user_id": member}, {"user_id": other}]
    created = api.post(path, json={"data": {"created_by_id": host, "members": members}})
    assert created.status_code == 200, created.text
    watched = user_api(watcher).get(path, params={"connection_id": ws[watcher].connection_id})
    assert watched.status_code == 200, watched.text
    return Room(path, f"{call_type}:{call_id}", host, member, other, watcher, stranger, ws)


def join(user_api: UserApi, path: str, *users: str) -> str:
    """The users join the call; returns the session they are in."""
    sessions = set()
    for user in users:
        joined = user_api(user).post(f"{path}/join", json={})
        assert joined.status_code == 200, joined.text
        sessions.add(joined.json()["session_id"])
    (session_id,) = sessions
    return session_id


async def stored_feedback(server: RunningServer, cid: str) -> list[UserFeedbackRow]:
    db = Database(server.database_url)
    try:
        async with db.read() as session:
            return list((await session.scalars(select(UserFeedbackRow).where(UserFeedbackRow.call_cid == cid))).all())
    finally:
        await db.close()


def own_capabilities(user_api: UserApi, user: str, path: str) -> list[str]:
    response = user_api(user).get(path)
    assert response.status_code == 200, response.text
    return response.json()["own_capabilities"]


async def test_custom_events(server: RunningServer, api: httpx.Client, user_api: UserApi, uid: Uid) -> None:
    room = await open_room(server, api, user_api, uid)
    sent = user_api(room.member).post(f"{room.path}/event", json={"custom": {"type": "my-custom-event", "k": 1}})
    assert sent.status_code == 200, sent.text
    for event in await room.seen_by_call("custom"):
        assert event["call_cid"] == room.cid and event["user"]["id"] == room.member
        assert event["custom"] == {"type": "my-custom-event", "k": 1}

    assert "user_id" in assert_error(api.post(f"{room.path}/event", json={"custom": {}}), 400,
                                     ErrorCode.INPUT_ERROR)["exception_fields"]
    assert api.post(f"{room.path}/event", json={"custom": {"by": "server"}, "user_id": room.host}).status_code == 200
    assert {e["user"]["id"] for e in await room.seen_by_call("custom")} == {room.host}

    refused = [
        (user_api(room.member).post(f"{room.path}/event", json={"custom": {"blob": "x" * 5200}}), 400, "custom"),
        (user_api(room.member).post(f"{room.path}/event", json={"custom": {}, "extra": 1}), 400, "extra"),
        (user_api(room.member).post(f"{room.path}/event", json={"custom": []}), 400, "custom"),
        (user_api(room.member).post(f"{room.path}/event", json={"custom": {}, "user_id": room.host}), 403, None),
        (user_api(room.member).post(f"/video/call/default/{uid('nope')}/event", json={"custom": {}}), 404, None),
    ]
    for response, status, field in refused:
        body = assert_error(response, status)
        assert field is None or field in body["exception_fields"], body
    api.post(f"{room.path}/block", json={"user_id": room.other}).raise_for_status()
    assert_error(user_api(room.other).post(f"{room.path}/event", json={"custom": {}}), 403, ErrorCode.NOT_ALLOWED)
    await room.ws[room.host].assert_no("custom")
    await room.close()


async def test_reactions(server: RunningServer, api: httpx.Client, user_api: UserApi, uid: Uid) -> None:
    room = await open_room(server, api, user_api, uid)
    body = {"type": "raise-hand", "emoji_code": ":smile:", "custom": {"mycustomfield": "v"}}
    sent = user_api(room.member).post(f"{room.path}/reaction", json=body)
    assert sent.status_code == 200, sent.text
    assert sent.json()["reaction"]["user"]["id"] == room.member
    for event in await room.seen_by_call("call.reaction_new"):
        reaction = event["reaction"]
        assert reaction["type"] == "raise-hand" and reaction["emoji_code"] == ":smile:"
        assert reaction["custom"] == {"mycustomfield": "v"} and reaction["user"]["id"] == room.member

    plain = user_api(room.other).post(f"{room.path}/reaction", json={"type": "fireworks"})
    assert plain.status_code == 200, plain.text
    for event in await room.seen_by_call("call.reaction_new"):
        assert event["reaction"]["type"] == "fireworks" and event["reaction"]["emoji_code"] is None

    for bad, field in (({"type": "x" * 65}, "type"), ({}, "type"), ({"type": "ok", "emoji_code": 3}, "emoji_code"),
                       ({"type": "ok", "custom": {"b": "x" * 5200}}, "custom")):
        assert field in assert_error(user_api(room.member).post(f"{room.path}/reaction", json=bad), 400)[
            "exception_fields"]
    revoked = user_api(room.host).post(f"{room.path}/user_permissions",
                                       json={"user_id": room.member, "revoke_permissions": ["create-reaction"]})
    assert revoked.status_code == 200, revoked.text
    assert_error(user_api(room.member).post(f"{room.path}/reaction", json={"type": "x"}), 403, ErrorCode.NOT_ALLOWED)
    await room.ws[room.host].assert_no("call.reaction_new")
    await room.close()


async def test_request_grant_and_revoke_to_speak(
    server: RunningServer, api: httpx.Client, user_api: UserApi, uid: Uid
) -> None:
    room = await open_room(server, api, user_api, uid, "audio_room")
    listener = room.member
    assert "send-audio" not in own_capabilities(user_api, listener, room.path)

    asked = user_api(listener).post(f"{room.path}/request_permission", json={"permissions": ["send-audio"]})
    assert asked.status_code == 200, asked.text
    request = await room.ws[room.host].wait_for("call.permission_request")
    assert request["user"]["id"] == listener and request["permissions"] == ["send-audio"]
    for user in (room.other, room.watcher, room.stranger):
        await room.ws[user].assert_no("call.permission_request")

    for refused in (["send-video"], ["end-call"], ["nonsense"], []):
        body = assert_error(user_api(listener).post(f"{room.path}/request_permission", json={"permissions": refused}),
                            400, ErrorCode.INPUT_ERROR)
        assert "permissions" in body["exception_fields"], body
    await room.ws[room.host].assert_no("call.permission_request")

    granted = user_api(room.host).post(f"{room.path}/user_permissions",
                                       json={"user_id": listener, "grant_permissions": ["send-audio"]})
    assert granted.status_code == 200, granted.text
    for event in await room.seen_by_call("call.permissions_updated"):
        assert event["user"]["id"] == listener and "send-audio" in event["own_capabilities"]
    assert "send-audio" in own_capabilities(user_api, listener, room.path)
    assert "send-audio" not in own_capabilities(user_api, room.other, room.path), "only the listener was granted"

    revoked = api.post(f"{room.path}/user_permissions",
                       json={"user_id": listener, "revoke_permissions": ["send-audio"]})
    assert revoked.status_code == 200, revoked.text
    event = await room.ws[listener].wait_for("call.permissions_updated")
    assert "send-audio" not in event["own_capabilities"]
    assert "send-audio" not in own_capabilities(user_api, listener, room.path)
    await room.close()


async def test_permission_updates_are_checked(
    server: RunningServer, api: httpx.Client, user_api: UserApi, uid: Uid
) -> None:
    room = await open_room(server, api, user_api, uid)
    url = f"{room.path}/user_permissions"
    denied = user_api(room.member).post(url, json={"user_id": room.other, "grant_permissions": ["send-audio"]})
    assert_error(denied, 403, ErrorCode.NOT_ALLOWED)
    for body, field in (
        ({"user_id": room.other, "grant_permissions": ["send-audio", "fly"]}, "grant_permissions"),
        ({"user_id": room.other, "revoke_permissions": ["fly"]}, "revoke_permissions"),
        ({"user_id": room.other, "grant_permissions": ["send-audio"], "revoke_permissions": ["send-audio"]},
         "revoke_permissions"),
        ({"user_id": room.other}, "grant_permissions"),
        ({"grant_permissions": ["send-audio"]}, "user_id"),
        ({"user_id": room.other, "grant_permissions": "send-audio"}, "grant_permissions"),
    ):
        assert field in assert_error(user_api(room.host).post(url, json=body), 400)["exception_fields"]
    assert_error(api.post(f"/video/call/default/{uid('nope')}/user_permissions",
                          json={"user_id": room.other, "grant_permissions": ["send-audio"]}), 404)
    await room.ws[room.other].assert_no("call.permissions_updated")

    # A moderator grants only what they hold themselves.
    api.post(f"{room.path}/members", json={"update_members": [{"user_id": room.member, "role": "moderator"}]})
    beyond = user_api(room.member).post(url, json={"user_id": room.other, "grant_permissions": ["start-record-call"]})
    assert_error(beyond, 403, ErrorCode.NOT_ALLOWED)
    assert "start-record-call" not in own_capabilities(user_api, room.other, room.path)
    await room.ws[room.other].assert_no("call.permissions_updated")
    ok = user_api(room.member).post(url, json={"user_id": room.other, "revoke_permissions": ["screenshare"]})
    assert ok.status_code == 200, ok.text
    assert "screenshare" not in (await room.ws[room.other].wait_for("call.permissions_updated"))["own_capabilities"]
    await room.close()


async def test_mute_users(server: RunningServer, api: httpx.Client, user_api: UserApi, uid: Uid) -> None:
    room = await open_room(server, api, user_api, uid)
    url = f"{room.path}/mute_users"
    muted = user_api(room.host).post(url, json={"user_ids": [room.member], "audio": True, "video": True})
    assert muted.status_code == 200, muted.text
    for event in await room.seen_by_call("call.user_muted"):
        assert event["from_user_id"] == room.host and event["muted_user_ids"] == [room.member]
        assert event["reason"] == "audio,video"
    assert "send-audio" in own_capabilities(user_api, room.member, room.path), "a mute revokes nothing"

    everyone = api.post(url, json={"mute_all_users": True, "audio": True, "muted_by_id": room.host})
    assert everyone.status_code == 200, everyone.text
    for event in await room.seen_by_call("call.user_muted"):
        assert sorted(event["muted_user_ids"]) == sorted([room.member, room.other]), "no session: the other members"

    outsider = uid("participant")
    outsider_ws = await connect_user(server, outsider)
    join(user_api, room.path, room.host, room.other, outsider)
    assert user_api(room.host).post(url, json={"mute_all_users": True, "screenshare": True}).status_code == 200
    for event in [await outsider_ws.wait_for("call.user_muted"), *await room.seen_by_call("call.user_muted")]:
        assert sorted(event["muted_user_ids"]) == sorted([room.other, outsider]), "the session's other participants"
        assert event["reason"] == "screenshare"
    await outsider_ws.close()

    for body, field in (({"audio": True}, "user_ids"), ({"user_ids": [room.member], "mute_all_users": True,
                                                           "audio": True}, "user_ids"),
                        ({"user_ids": [room.member]}, "audio"), ({"user_ids": [], "audio": True}, "user_ids"),
                        ({"user_ids": [room.member], "audio": "loud"}, "audio")):
        assert field in assert_error(user_api(room.host).post(url, json=body), 400)["exception_fields"]
    assert "muted_by_id" in assert_error(api.post(url, json={"mute_all_users": True, "audio": True}), 400)[
        "exception_fields"]
    assert_error(user_api(room.member).post(url, json={"user_ids": [room.other], "audio": True}), 403,
                 ErrorCode.NOT_ALLOWED)
    await room.ws[room.other].assert_no("call.user_muted")
    await room.close()


async def test_feedback(server: RunningServer, api: httpx.Client, user_api: UserApi, uid: Uid) -> None:
    room = await open_room(server, api, user_api, uid)
    url = f"{room.path}/feedback"
    no_session = user_api(room.member).post(url, json={"rating": 4})
    assert "session_id" in assert_error(no_session, 400, ErrorCode.INPUT_ERROR)["exception_fields"]

    session_id = join(user_api, room.path, room.host, room.member)
    body = {"rating": 5, "reason": "crisp audio", "custom": {"device": "laptop"}, "sdk": "weir-py",
            "sdk_version": "0.1"}
    sent = user_api(room.member).post(url, json=body)
    assert sent.status_code == 200, sent.text
    for event in await room.seen_by_call("call.user_feedback_submitted"):
        assert event["session_id"] == session_id and event["user"]["id"] == room.member
        assert (event["rating"], event["reason"], event["custom"]) == (5, "crisp audio", {"device": "laptop"})
        assert (event["sdk"], event["sdk_version"]) == ("weir-py", "0.1")

    other_call = f"/video/call/default/{uid('c')}"
    api.post(other_call, json={"data": {"created_by_id": room.host}}).raise_for_status()
    foreign = join(user_api, other_call, room.host)
    for bad, field in (({"rating": 0}, "rating"), ({"rating": 6}, "rating"), ({}, "rating"),
                       ({"rating": "great"}, "rating"), ({"rating": 3, "custom": {"b": "x" * 5200}}, "custom"),
                       ({"rating": 3, "session_id": foreign}, "session_id"), ({"rating": 3, "mood": 1}, "mood")):
        assert field in assert_error(user_api(room.member).post(url, json=bad), 400)["exception_fields"]
    assert "user_id" in assert_error(api.post(url, json={"rating": 3}), 400)["exception_fields"]
    await room.ws[room.host].assert_no("call.user_feedback_submitted")

    by_server = api.post(url, json={"rating": 2, "user_id": room.other, "session_id": session_id})
    assert by_server.status_code == 200, by_server.text
    rows = await stored_feedback(server, room.cid)
    assert sorted((r.user_id, r.rating, r.session_id) for r in rows) == sorted(
        [(room.member, 5, session_id), (room.other, 2, session_id)]
    ), "each accepted submission is stored once and the refused ones not at all"
    await room.close()


def test_unknown_calls_and_foreign_call_tokens(api: httpx.Client, user_api: UserApi, uid: Uid) -> None:
    me = uid("u")
    bodies = {
        "event": {"custom": {}}, "reaction": {"type": "like"}, "request_permission": {"permissions": ["send-audio"]},
        "user_permissions": {"user_id": me, "grant_permissions": ["send-audio"]},
        "mute_users": {"user_ids": [me], "audio": True}, "feedback": {"rating": 3},
    }
    known = f"/video/call/default/{uid('c')}"
    api.post(known, json={"data": {"created_by_id": me}}).raise_for_status()
    scoped = user_api(me, call_cids=[f"default:{uid('elsewhere')}"])
    for action, body in bodies.items():
        assert_error(user_api(me).post(f"/video/call/default/{uid('nope')}/{action}", json=body), 404,
                     ErrorCode.NOT_FOUND)
        assert_error(scoped.post(f"{known}/{action}", json=body), 403, ErrorCode.NOT_ALLOWED)
