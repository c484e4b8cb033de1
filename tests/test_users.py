"""Users: upsert, partial update, delete, deactivate/reactivate, user-to-user blocks and guests, through the real
server."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.conftest import RunningServer, assert_error
from tests.tasks import run_task
from weir.protocol.errors import ErrorCode


def upsert(api: httpx.Client, *users: dict) -> httpx.Response:
    return api.post("/users", json={"users": {u["id"]: u for u in users}})


def read(api: httpx.Client, user_id: str) -> dict:
    """A partial update that changes nothing answers with the stored user."""
    response = api.patch("/users", json={"users": [{"id": user_id}]})
    assert response.status_code == 200, response.text
    return response.json()["users"][user_id]


def exists(api: httpx.Client, user_id: str) -> bool:
    return api.patch("/users", json={"users": [{"id": user_id}]}).status_code == 200


def whoami(server: RunningServer, token: str) -> httpx.Response:
    return httpx.get(f"{server.base_url}/api/v1/health/auth", params={"api_key": server.api_key},
                     headers={"Authorization": token})


def test_upsert_creates_then_replaces_every_profile_field(api: httpx.Client, uid: Callable[[str], str]) -> None:
    me = uid("u")
    first = upsert(api, {"id": me, "name": "Alice", "image": "https://x/a.png", "role": "admin", "teams": ["red"],
                         "language": "fr", "invisible": True, "custom": {"color": "blue"}})
    assert first.status_code == 200, first.text
    user = first.json()["users"][me]
    assert (user["name"], user["role"], user["teams"], user["language"], user["invisible"], user["custom"]) == (
        "Alice", "admin", ["red"], "fr", True, {"color": "blue"})
    assert user["banned"] is False and user["deactivated_at"] is None and user["blocked_user_ids"] == []
    second = upsert(api, {"id": me, "name": "Alice B."}).json()["users"][me]
    assert second["name"] == "Alice B." and second["image"] is None and second["custom"] == {}
    assert second["teams"] == [] and second["language"] == "" and second["invisible"] is False
    assert second["role"] == "admin", "an upsert without a role keeps the role"
    assert second["created_at"] == user["created_at"] and second["updated_at"] > user["updated_at"]
    assert read(api, me)["name"] == "Alice B."


def test_upsert_accepts_custom_roles_and_refuses_unknown_ones(api: httpx.Client, uid: Callable[[str], str]) -> None:
    role = uid("r").lower().replace("-", "_")
    good, bad = uid("u"), uid("u")
    body = assert_error(upsert(api, {"id": good}, {"id": bad, "role": role}), 400, ErrorCode.INPUT_ERROR)
    assert f"users.{bad}.role" in body["exception_fields"]
    assert not exists(api, good), "a failing batch writes nothing"
    assert api.post("/roles", json={"name": role}).status_code == 201
    response = upsert(api, {"id": good}, {"id": bad, "role": role})
    assert response.status_code == 200, response.text
    assert response.json()["users"][bad]["role"] == role and response.json()["users"][good]["role"] == "user"


def test_upsert_bad_input(api: httpx.Client, user_api: Callable[..., httpx.Client], uid: Callable[[str], str]) -> None:
    me = uid("u")
    mismatch = api.post("/users", json={"users": {me: {"id": uid("other")}}})
    assert f"users.{me}.id" in assert_error(mismatch, 400, ErrorCode.INPUT_ERROR)["exception_fields"]
    assert_error(upsert(api, {"id": "bad id"}), 400, ErrorCode.INPUT_ERROR)
    unknown = assert_error(upsert(api, {"id": me, "surprise": 1}), 400, ErrorCode.INPUT_ERROR)
    assert unknown["exception_fields"] == {f"users.{me}.surprise": "unknown field"}
    big = assert_error(upsert(api, {"id": me, "custom": {"blob": "x" * 6000}}), 400, ErrorCode.INPUT_ERROR)
    assert f"users.{me}.custom" in big["exception_fields"]
    assert_error(upsert(api, *({"id": f"{me}-{i}"} for i in range(101))), 400, ErrorCode.INPUT_ERROR)
    assert_error(api.post("/users", json={"users": {}}), 400, ErrorCode.INPUT_ERROR)
    assert not exists(api, me)
    assert_error(upsert(user_api(uid("u")), {"id": me}), 403, ErrorCode.NOT_ALLOWED)
    assert not exists(api, me)


def test_partial_update_sets_and_unsets(api: httpx.Client, uid: Callable[[str], str]) -> None:
    me = uid("u")
    upsert(api, {"id": me, "name": "Bob", "image": "i.png", "teams": ["a"], "custom": {"k": 1}, "role": "admin"})
    response = api.patch("/users", json={"users": [
        {"id": me, "set": {"name": "Robert", "custom": {"k": 2}, "invisible": True},
         "unset": ["image", "teams", "role"]},
    ]})
    assert response.status_code == 200, response.text
    user = response.json()["users"][me]
    assert (user["name"], user["custom"], user["invisible"]) == ("Robert", {"k": 2}, True)
    assert (user["image"], user["teams"], user["role"]) == (None, [], "user")
    assert read(api, me)["name"] == "Robert"


def test_partial_update_is_all_or_nothing(
    api: httpx.Client, user_api: Callable[..., httpx.Client], uid: Callable[[str], str]
) -> None:
    me = uid("u")
    upsert(api, {"id": me, "name": "Carol"})

    def patch(*updates: dict) -> httpx.Response:
        return api.patch("/users", json={"users": list(updates)})

    renamed = {"id": me, "set": {"name": "Changed"}}
    assert_error(patch(renamed, {"id": uid("ghost"), "set": {"name": "x"}}), 404, ErrorCode.NOT_FOUND)
    twice = assert_error(patch(renamed, {"id": me, "set": {"image": "x.png"}}), 400, ErrorCode.INPUT_ERROR)
    assert "users.1.id" in twice["exception_fields"]
    other = uid("u")
    upsert(api, {"id": other})
    bad_role = assert_error(patch(renamed, {"id": other, "set": {"role": "nosuchrole"}}), 400, ErrorCode.INPUT_ERROR)
    assert "users.1.set.role" in bad_role["exception_fields"]
    assert "users.0.set.surprise" in assert_error(patch({"id": me, "set": {"surprise": 1}}), 400)["exception_fields"]
    assert_error(patch({"id": me, "unset": ["id"]}), 400, ErrorCode.INPUT_ERROR)
    assert_error(patch({"id": me, "set": {"name": "x"}, "unset": ["name"]}), 400, ErrorCode.INPUT_ERROR)
    assert_error(patch({"id": me, "set": {"custom": {"blob": "x" * 6000}}}), 400, ErrorCode.INPUT_ERROR)
    assert_error(patch({"id": "bad id"}), 400, ErrorCode.INPUT_ERROR)
    assert_error(user_api(me).patch("/users", json={"users": [renamed]}), 403, ErrorCode.NOT_ALLOWED)
    assert read(api, me)["name"] == "Carol"


def test_soft_delete_refuses_the_token_and_soft_deletes_calls(
    api: httpx.Client, user_api: Callable[..., httpx.Client], uid: Callable[[str], str]
) -> None:
    me, call_id = uid("u"), uid("c")
    client = user_api(me)
    assert client.post(f"/video/call/default/{call_id}", json={}).status_code == 200
    run_task(api, api.post("/users/delete", json={"user_ids": [me], "calls": "soft"}))
    assert read(api, me)["deleted_at"] is not None
    assert_error(client.get("/users/block"), 401, ErrorCode.AUTH_FAILED)
    assert_error(api.get(f"/video/call/default/{call_id}"), 404, ErrorCode.NOT_FOUND)


def test_hard_delete_removes_the_user_blocks_memberships_and_calls(
    api: httpx.Client, user_api: Callable[..., httpx.Client], uid: Callable[[str], str]
) -> None:
    me, friend, own_call, other_call = uid("u"), uid("u"), uid("c"), uid("c")
    upsert(api, {"id": me}, {"id": friend})
    assert api.post("/users/block", json={"user_id": me, "blocked_user_id": friend}).status_code == 200
    assert api.post("/users/block", json={"user_id": friend, "blocked_user_id": me}).status_code == 200
    assert user_api(me).post(f"/video/call/default/{own_call}", json={}).status_code == 200
    group = [{"user_id": me}, {"user_id": friend}, {"user_id": uid("u")}]  # not 1:1: the call stays
    created = api.post(f"/video/call/default/{other_call}", json={"data": {"created_by_id": friend, "members": group}})
    assert created.status_code == 200, created.text
    run_task(api, api.post("/users/delete", json={"user_ids": [me], "user": "hard", "calls": "hard"}))
    assert not exists(api, me)
    assert api.get("/users/block", params={"user_id": friend}).json()["blocks"] == []
    assert read(api, friend)["blocked_user_ids"] == []
    assert_error(api.get(f"/video/call/default/{own_call}"), 404, ErrorCode.NOT_FOUND)
    assert api.post(f"/video/call/default/{own_call}", json={"data": {"created_by_id": friend}}).json()["created"]
    members = api.get(f"/video/call/default/{other_call}").json()["members"]
    assert sorted(m["user_id"] for m in members) == sorted([friend, group[2]["user_id"]])


def test_delete_is_all_or_nothing_and_validated(
    api: httpx.Client, user_api: Callable[..., httpx.Client], uid: Callable[[str], str]
) -> None:
    me = uid("u")
    upsert(api, {"id": me})
    assert_error(api.post("/users/delete", json={"user_ids": [me, uid("ghost")], "user": "hard"}), 404)
    assert exists(api, me) and read(api, me)["deleted_at"] is None
    assert_error(api.post("/users/delete", json={"user_ids": [me], "user": "prune"}), 400, ErrorCode.INPUT_ERROR)
    assert_error(api.post("/users/delete", json={"user_ids": []}), 400, ErrorCode.INPUT_ERROR)
    assert_error(api.post("/users/delete", json={"user_ids": ["bad id"]}), 400, ErrorCode.INPUT_ERROR)
    assert_error(api.post("/users/delete", json={"user_ids": [me], "surprise": 1}), 400, ErrorCode.INPUT_ERROR)
    assert_error(user_api(uid("u")).post("/users/delete", json={"user_ids": [me]}), 403, ErrorCode.NOT_ALLOWED)
    assert read(api, me)["deleted_at"] is None


def test_deactivate_and_reactivate_one_user(
    api: httpx.Client, user_api: Callable[..., httpx.Client], uid: Callable[[str], str]
) -> None:
    me = uid("u")
    client = user_api(me)
    assert client.get("/users/block").status_code == 200
    response = api.post(f"/users/{me}/deactivate")
    assert response.status_code == 200, response.text
    assert response.json()["user"]["deactivated_at"] is not None
    assert_error(client.get("/users/block"), 403, ErrorCode.USER_DEACTIVATED)
    again = api.post(f"/users/{me}/deactivate").json()["user"]
    assert again["deactivated_at"] == response.json()["user"]["deactivated_at"]
    reactivated = api.post(f"/users/{me}/reactivate")
    assert reactivated.status_code == 200 and reactivated.json()["user"]["deactivated_at"] is None
    assert client.get("/users/block").status_code == 200
    assert_error(api.post(f"/users/{uid('ghost')}/deactivate"), 404, ErrorCode.NOT_FOUND)
    assert_error(api.post("/users/bad%20id/deactivate"), 400, ErrorCode.INPUT_ERROR)
    assert_error(client.post(f"/users/{me}/deactivate"), 403, ErrorCode.NOT_ALLOWED)


def test_deactivate_and_reactivate_in_bulk(
    api: httpx.Client, user_api: Callable[..., httpx.Client], uid: Callable[[str], str]
) -> None:
    a, b = uid("u"), uid("u")
    upsert(api, {"id": a}, {"id": b})
    assert_error(api.post("/users/deactivate", json={"user_ids": [a, uid("ghost")]}), 404, ErrorCode.NOT_FOUND)
    assert user_api(a).get("/users/block").status_code == 200, "a failing batch deactivates nobody"
    response = api.post("/users/deactivate", json={"user_ids": [a, b]})
    assert response.status_code == 200, response.text
    assert response.json()["task_id"]
    for user_id in (a, b):
        assert_error(user_api(user_id).get("/users/block"), 403, ErrorCode.USER_DEACTIVATED)
    assert api.post("/users/reactivate", json={"user_ids": [a, b]}).status_code == 200
    for user_id in (a, b):
        assert user_api(user_id).get("/users/block").status_code == 200
    assert_error(api.post("/users/reactivate", json={"user_ids": [a], "surprise": 1}), 400, ErrorCode.INPUT_ERROR)


def test_users_block_and_unblock_for_themselves(
    api: httpx.Client, user_api: Callable[..., httpx.Client], uid: Callable[[str], str]
) -> None:
    alice, bob, carol = uid("alice"), uid("bob"), uid("carol")
    upsert(api, {"id": bob}, {"id": carol})
    client = user_api(alice)
    blocked = client.post("/users/block", json={"blocked_user_id": bob})
    assert blocked.status_code == 200, blocked.text
    assert blocked.json()["blocked_by_user_id"] == alice and blocked.json()["blocked_user_id"] == bob
    assert client.post("/users/block", json={"blocked_user_id": bob}).status_code == 200, "blocking twice is fine"
    blocks = client.get("/users/block").json()["blocks"]
    assert [(b["user_id"], b["blocked_user_id"], b["blocked_user"]["id"]) for b in blocks] == [(alice, bob, bob)]
    assert read(api, alice)["blocked_user_ids"] == [bob]
    assert_error(client.post("/users/block", json={"blocked_user_id": bob, "user_id": carol}), 403)
    assert_error(client.get("/users/block", params={"user_id": carol}), 403, ErrorCode.NOT_ALLOWED)
    assert "blocked_user_id" in assert_error(client.post("/users/block", json={"blocked_user_id": alice}), 400)[
        "exception_fields"]
    assert_error(client.post("/users/block", json={"blocked_user_id": uid("ghost")}), 404, ErrorCode.NOT_FOUND)
    assert_error(client.post("/users/block", json={"blocked_user_id": "bad id"}), 400, ErrorCode.INPUT_ERROR)
    assert_error(client.post("/users/block", json={"blocked_user_id": bob, "x": 1}), 400, ErrorCode.INPUT_ERROR)
    assert client.post("/users/unblock", json={"blocked_user_id": bob}).status_code == 200
    assert client.get("/users/block").json()["blocks"] == []


def test_server_blocks_on_behalf_of_a_user(api: httpx.Client, uid: Callable[[str], str]) -> None:
    alice, bob = uid("alice"), uid("bob")
    upsert(api, {"id": alice}, {"id": bob})
    assert "user_id" in assert_error(api.post("/users/block", json={"blocked_user_id": bob}), 400)["exception_fields"]
    assert "user_id" in assert_error(api.get("/users/block"), 400)["exception_fields"]
    assert_error(api.post("/users/block", json={"blocked_user_id": bob, "user_id": uid("ghost")}), 404)
    assert api.post("/users/block", json={"blocked_user_id": bob, "user_id": alice}).status_code == 200
    assert [b["blocked_user_id"] for b in api.get("/users/block", params={"user_id": alice}).json()["blocks"]] == [bob]
    assert api.post("/users/unblock", json={"blocked_user_id": bob, "user_id": alice}).status_code == 200
    assert read(api, alice)["blocked_user_ids"] == []


def test_guest_needs_only_the_api_key(server: RunningServer, api: httpx.Client, uid: Callable[[str], str]) -> None:
    taken = uid("u")
    upsert(api, {"id": taken, "name": "Original", "role": "admin"})
    url = f"{server.base_url}/api/v1/guest"
    response = httpx.post(url, params={"api_key": server.api_key},
                          json={"user": {"id": taken, "name": "Guest", "custom": {"k": 1}}})
    assert response.status_code == 200, response.text
    body = response.json()
    guest = body["user"]
    assert guest["id"].startswith(f"guest-{taken}-") and guest["role"] == "guest"
    assert (guest["name"], guest["custom"]) == ("Guest", {"k": 1})
    assert read(api, taken)["name"] == "Original", "a guest never takes over an existing user"
    me = whoami(server, body["access_token"])
    assert me.status_code == 200 and me.json()["user_id"] == guest["id"]
    anonymous = httpx.post(url, params={"api_key": server.api_key}, json={})
    assert anonymous.status_code == 200 and anonymous.json()["user"]["id"].startswith("guest-")
    assert_error(httpx.post(url, json={}), 401, ErrorCode.API_KEY_NOT_FOUND)
    assert_error(httpx.post(url, params={"api_key": "nope"}, json={}), 401, ErrorCode.API_KEY_NOT_FOUND)
    role = httpx.post(url, params={"api_key": server.api_key}, json={"user": {"role": "admin"}})
    assert assert_error(role, 400)["exception_fields"] == {"user.role": "unknown field"}
    big = httpx.post(url, params={"api_key": server.api_key}, json={"user": {"custom": {"b": "x" * 6000}}})
    assert "user.custom" in assert_error(big, 400)["exception_fields"]
    bad_id = httpx.post(url, params={"api_key": server.api_key}, json={"user": {"id": "bad id"}})
    assert_error(bad_id, 400, ErrorCode.INPUT_ERROR)
