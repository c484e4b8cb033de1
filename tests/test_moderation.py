"""Moderation: ban and unban, who may do it, and that a ban stops call creation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import httpx

from tests.conftest import assert_error
from weir.coordinator.userview import user_response
from weir.domain.clock import now
from weir.protocol.errors import ErrorCode
from weir.store.tables import UserRow
from weir.store.users import is_banned


def upsert(api: httpx.Client, user_id: str, role: str = "user") -> None:
    assert api.post("/users", json={"users": {user_id: {"id": user_id, "role": role}}}).status_code == 200


def stored(api: httpx.Client, user_id: str) -> dict:
    response = api.patch("/users", json={"users": [{"id": user_id}]})
    assert response.status_code == 200, response.text
    return response.json()["users"][user_id]


def create_call(client: httpx.Client, call_id: str, created_by_id: str | None = None) -> httpx.Response:
    data = {"created_by_id": created_by_id} if created_by_id else {}
    return client.post(f"/video/call/default/{call_id}", json={"data": data})


def test_banned_user_cannot_create_calls_until_unbanned(
    api: httpx.Client, user_api: Callable[..., httpx.Client], uid: Callable[[str], str]
) -> None:
    target, moderator = uid("bad"), uid("mod")
    upsert(api, target)
    upsert(api, moderator)
    response = api.post("/moderation/ban",
                        json={"target_user_id": target, "banned_by_id": moderator, "reason": "spam"})
    assert response.status_code == 200, response.text
    user = stored(api, target)
    assert user["banned"] is True and user["ban_expires"] is None
    client = user_api(target)
    assert_error(create_call(client, uid("c")), 403, ErrorCode.USER_BANNED)
    assert_error(create_call(api, uid("c"), created_by_id=target), 403, ErrorCode.USER_BANNED)
    assert api.post("/moderation/unban", params={"target_user_id": target}).status_code == 200
    assert stored(api, target)["banned"] is False
    assert create_call(client, uid("c")).status_code == 200


def test_ban_with_a_timeout_expires(api: httpx.Client, user_api: Callable[..., httpx.Client],
                                    uid: Callable[[str], str]) -> None:
    target = uid("bad")
    upsert(api, target)
    before = now()
    assert api.post("/moderation/ban", json={"target_user_id": target, "timeout": 30}).status_code == 200
    expires = datetime.fromisoformat(stored(api, target)["ban_expires"])
    assert before + timedelta(minutes=30) <= expires <= now() + timedelta(minutes=30)
    assert_error(create_call(user_api(target), uid("c")), 403, ErrorCode.USER_BANNED)


def test_is_banned_honours_the_expiry() -> None:
    stamp = now()
    row = UserRow(id="u", role="user", invisible=False, online=False, created_at=stamp, updated_at=stamp,
                  banned=True, ban_expires=None)
    assert is_banned(row)
    row.ban_expires = stamp + timedelta(minutes=1)
    assert is_banned(row) and user_response(row).banned
    row.ban_expires = (stamp - timedelta(seconds=1)).replace(tzinfo=None)  # SQLite hands back naive UTC
    assert not is_banned(row) and not user_response(row).banned
    row.banned, row.ban_expires = False, None
    assert not is_banned(row)


def test_admins_and_moderators_may_ban_and_a_role_change_applies_at_once(
    api: httpx.Client, user_api: Callable[..., httpx.Client], uid: Callable[[str], str]
) -> None:
    me, target, admin = uid("mod"), uid("bad"), uid("admin")
    upsert(api, target)
    upsert(api, admin, role="admin")
    client = user_api(me)
    assert_error(client.post("/moderation/ban", json={"target_user_id": target}), 403, ErrorCode.NOT_ALLOWED)
    upsert(api, me, role="moderator")
    assert_error(client.post("/moderation/ban", json={"target_user_id": target, "banned_by_id": admin}), 403)
    assert client.post("/moderation/ban", json={"target_user_id": target}).status_code == 200
    assert stored(api, target)["banned"] is True
    assert_error(client.post("/moderation/ban", json={"target_user_id": admin}), 403, ErrorCode.NOT_ALLOWED)
    assert_error(client.post("/moderation/ban", json={"target_user_id": me}), 403, ErrorCode.NOT_ALLOWED)
    assert client.post("/moderation/unban", params={"target_user_id": target}).status_code == 200
    assert stored(api, target)["banned"] is False
    upsert(api, me, role="user")
    assert_error(client.post("/moderation/unban", params={"target_user_id": target}), 403, ErrorCode.NOT_ALLOWED)


def test_ban_bad_input(api: httpx.Client, uid: Callable[[str], str]) -> None:
    target = uid("bad")
    upsert(api, target)

    def ban(**body: object) -> httpx.Response:
        return api.post("/moderation/ban", json={"target_user_id": target, **body})

    assert_error(api.post("/moderation/ban", json={"target_user_id": uid("ghost")}), 404, ErrorCode.NOT_FOUND)
    assert_error(ban(banned_by_id=uid("ghost")), 404, ErrorCode.NOT_FOUND)
    assert "timeout" in assert_error(ban(timeout=0), 400, ErrorCode.INPUT_ERROR)["exception_fields"]
    assert_error(ban(timeout="soon"), 400, ErrorCode.INPUT_ERROR)
    assert assert_error(ban(ip_ban=True), 400)["exception_fields"] == {"ip_ban": "unknown field"}
    assert_error(api.post("/moderation/ban", json={"target_user_id": "bad id"}), 400, ErrorCode.INPUT_ERROR)
    assert stored(api, target)["banned"] is False, "refused bans write nothing"
    assert_error(api.post("/moderation/unban"), 400, ErrorCode.INPUT_ERROR)
    assert_error(api.post("/moderation/unban", params={"target_user_id": uid("ghost")}), 404, ErrorCode.NOT_FOUND)
