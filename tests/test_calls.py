"""Calls: get-or-create, get, update, delete, end, members and call-level blocking, through the real server."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.conftest import assert_error
from tests.tasks import run_task
from weir.protocol.errors import ErrorCode


def create(api: httpx.Client, cid_type: str, call_id: str, **data: object) -> httpx.Response:
    body = {"data": {"created_by_id": "owner", **data}}
    return api.post(f"/video/call/{cid_type}/{call_id}", json=body)


def test_get_or_create_creates_once(api: httpx.Client, uid: Callable[[str], str]) -> None:
    call_id = uid("call")
    first = create(api, "default", call_id, members=[{"user_id": "m1"}, {"user_id": "m2", "role": "host"}],
                   custom={"color": "red"}, team="blue")
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["created"] is True
    call = body["call"]
    assert call["cid"] == f"default:{call_id}" and call["type"] == "default" and call["id"] == call_id
    assert call["created_by"]["id"] == "owner"
    assert call["custom"] == {"color": "red"} and call["team"] == "blue"
    assert {m["user_id"]: m["role"] for m in body["members"]} == {"m1": "call_member", "m2": "host"}
    assert call["settings"]["audio"]["default_device"] == "earpiece"
    assert "join-call" in body["own_capabilities"]
    second = create(api, "default", call_id, custom={"color": "blue"})
    assert second.status_code == 200
    assert second.json()["created"] is False
    assert second.json()["call"]["custom"] == {"color": "red"}, "get-or-create must not overwrite"


def test_user_creates_call_as_themself(user_api: Callable[..., httpx.Client], uid: Callable[[str], str]) -> None:
    me = uid("u")
    response = user_api(me).post(f"/video/call/default/{uid('c')}", json={"data": {"custom": {"x": 1}}})
    assert response.status_code == 200, response.text
    assert response.json()["call"]["created_by"]["id"] == me


def test_id_is_generated_when_missing(api: httpx.Client) -> None:
    response = api.post("/video/call/default", json={"data": {"created_by_id": "owner"}})
    assert response.status_code == 200, response.text
    call = response.json()["call"]
    assert len(call["id"]) == 16 and call["cid"] == f"default:{call['id']}"


def test_invalid_input_is_refused_and_nothing_is_written(api: httpx.Client, uid: Callable[[str], str]) -> None:
    assert "id" in assert_error(api.post("/video/call/default/bad%20id", json={}), 400, ErrorCode.INPUT_ERROR)[
        "exception_fields"]
    assert "type" in assert_error(create(api, "nosuchtype", uid("c")), 400)["exception_fields"]
    assert "data.created_by_id" in assert_error(api.post(f"/video/call/default/{uid('c')}", json={}), 400)[
        "exception_fields"]
    call_id = uid("c")
    big = assert_error(create(api, "default", call_id, custom={"blob": "x" * 6000}), 400)
    assert "data.custom" in big["exception_fields"]
    assert "data.surprise" in assert_error(create(api, "default", call_id, surprise=1), 400)["exception_fields"]
    malformed = api.post(f"/video/call/default/{call_id}", content=b"{not json",
                         headers={"content-type": "application/json"})
    assert_error(malformed, 400, ErrorCode.INPUT_ERROR)
    assert_error(api.get(f"/video/call/default/{call_id}"), 404, ErrorCode.NOT_FOUND)


def test_settings_override_needs_the_capability_and_writes_nothing(
    user_api: Callable[..., httpx.Client], api: httpx.Client, uid: Callable[[str], str]
) -> None:
    call_id = uid("c")
    client = user_api(uid("u"))
    response = client.post(f"/video/call/livestream/{call_id}",
                           json={"data": {"settings_override": {"backstage": {"enabled": False}}}})
    assert_error(response, 403, ErrorCode.NOT_ALLOWED)
    assert_error(api.get(f"/video/call/livestream/{call_id}"), 404)
    allowed = user_api(uid("u")).post(f"/video/call/development/{call_id}",
                                      json={"data": {"settings_override": {"backstage": {"enabled": True}}}})
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["call"]["backstage"] is True


def test_get_update_and_settings_override(api: httpx.Client, uid: Callable[[str], str]) -> None:
    call_id = uid("c")
    create(api, "default", call_id).raise_for_status()
    updated = api.patch(f"/video/call/default/{call_id}", json={
        "custom": {"name": "My first Call"},
        "settings_override": {"screensharing": {"enabled": False}, "limits": {"max_participants": 3}},
        "starts_at": "2030-01-01T10:00:00Z",
    })
    assert updated.status_code == 200, updated.text
    call = updated.json()["call"]
    assert call["custom"] == {"name": "My first Call"}
    assert call["settings"]["screensharing"]["enabled"] is False
    assert call["settings"]["limits"]["max_participants"] == 3
    assert call["settings"]["video"]["enabled"] is True, "untouched settings come from the call type"
    assert call["starts_at"].startswith("2030-01-01T10:00:00")
    fetched = api.get(f"/video/call/default/{call_id}").json()["call"]
    assert fetched["settings"]["screensharing"]["enabled"] is False
    assert fetched["updated_at"] >= fetched["created_at"]
    bad = api.patch(f"/video/call/default/{call_id}",
                    json={"settings_override": {"ring": {"auto_cancel_timeout_ms": 1}}})
    assert_error(bad, 400)
    assert api.get(f"/video/call/default/{call_id}").json()["call"]["settings"]["ring"]["auto_cancel_timeout_ms"] != 1


def test_end_and_delete(api: httpx.Client, user_api: Callable[..., httpx.Client], uid: Callable[[str], str]) -> None:
    call_id = uid("c")
    create(api, "default", call_id).raise_for_status()
    assert api.post(f"/video/call/default/{call_id}/mark_ended").status_code == 200
    assert api.get(f"/video/call/default/{call_id}").json()["call"]["ended_at"] is not None
    owner = user_api("owner")
    assert_error(owner.post(f"/video/call/default/{call_id}/delete", json={"hard": True}), 403, ErrorCode.NOT_ALLOWED)
    assert api.post(f"/video/call/default/{call_id}/delete", json={}).status_code == 200
    assert_error(api.get(f"/video/call/default/{call_id}"), 404)
    hard_id = uid("c")
    create(api, "default", hard_id).raise_for_status()
    run_task(api, api.post(f"/video/call/default/{hard_id}/delete", json={"hard": True}))
    again = create(api, "default", hard_id)
    assert again.json()["created"] is True, "a hard-deleted call leaves nothing behind"


def test_members_update_and_remove(api: httpx.Client, uid: Callable[[str], str]) -> None:
    call_id = uid("c")
    create(api, "default", call_id, members=[{"user_id": "a"}]).raise_for_status()
    response = api.post(f"/video/call/default/{call_id}/members", json={
        "update_members": [{"user_id": "b", "role": "moderator", "custom": {"k": 1}}, {"user_id": "a", "role": "host"}],
    })
    assert response.status_code == 200, response.text
    roles = {m["user_id"]: m["role"] for m in api.get(f"/video/call/default/{call_id}").json()["members"]}
    assert roles == {"a": "host", "b": "moderator"}
    api.post(f"/video/call/default/{call_id}/members", json={"remove_members": ["a"]}).raise_for_status()
    members = api.get(f"/video/call/default/{call_id}").json()["members"]
    assert [m["user_id"] for m in members] == ["b"] and members[0]["custom"] == {"k": 1}
    clash = api.post(f"/video/call/default/{call_id}/members",
                     json={"update_members": [{"user_id": "b"}], "remove_members": ["b"]})
    assert_error(clash, 400)


def test_members_limit_caps_the_returned_members(api: httpx.Client, uid: Callable[[str], str]) -> None:
    call_id = uid("c")
    create(api, "default", call_id, members=[{"user_id": f"m{i}"} for i in range(5)]).raise_for_status()
    assert len(api.get(f"/video/call/default/{call_id}", params={"members_limit": 2}).json()["members"]) == 2
    assert_error(api.get(f"/video/call/default/{call_id}", params={"members_limit": 101}), 400)


def test_block_and_unblock(api: httpx.Client, uid: Callable[[str], str]) -> None:
    call_id = uid("c")
    create(api, "default", call_id).raise_for_status()
    api.post(f"/video/call/default/{call_id}/block", json={"user_id": "deven"}).raise_for_status()
    assert api.get(f"/video/call/default/{call_id}").json()["call"]["blocked_user_ids"] == ["deven"]
    api.post(f"/video/call/default/{call_id}/kick", json={"user_id": "zed", "block": True}).raise_for_status()
    assert api.get(f"/video/call/default/{call_id}").json()["call"]["blocked_user_ids"] == ["deven", "zed"]
    api.post(f"/video/call/default/{call_id}/unblock", json={"user_id": "deven"}).raise_for_status()
    assert api.get(f"/video/call/default/{call_id}").json()["call"]["blocked_user_ids"] == ["zed"]
    assert_error(api.post(f"/video/call/default/{call_id}/block", json={"user_id": "owner"}), 400)


def test_call_token_is_limited_to_its_calls(
    api: httpx.Client, user_api: Callable[..., httpx.Client], uid: Callable[[str], str]
) -> None:
    mine, other = uid("c"), uid("c")
    for call_id in (mine, other):
        create(api, "default", call_id, members=[{"user_id": "tok"}]).raise_for_status()
    client = user_api("tok", call_cids=[f"default:{mine}"], role="call_member")
    assert client.get(f"/video/call/default/{mine}").status_code == 200
    assert_error(client.get(f"/video/call/default/{other}"), 403, ErrorCode.NOT_ALLOWED)


def test_anonymous_reads_its_call_but_cannot_create(
    api: httpx.Client, user_api: Callable[..., httpx.Client], uid: Callable[[str], str]
) -> None:
    call_id = uid("c")
    create(api, "livestream", call_id).raise_for_status()
    anon = user_api("!anon", call_cids=[f"livestream:{call_id}"], role="viewer")
    assert anon.get(f"/video/call/livestream/{call_id}").status_code == 200
    assert_error(anon.post(f"/video/call/livestream/{call_id}", json={}), 403, ErrorCode.NOT_ALLOWED)


def test_soft_deleted_calls_can_be_purged_and_free_their_type(api: httpx.Client, uid: Callable[[str], str]) -> None:
    name = uid("t").replace("-", "_")
    api.post("/video/calltypes", json={"name": name}).raise_for_status()
    call_id = uid("c")
    create(api, name, call_id).raise_for_status()
    api.post(f"/video/call/{name}/{call_id}/delete").raise_for_status()
    assert api.delete(f"/video/calltypes/{name}").status_code == 200, "only soft-deleted calls were left"
    other = uid("c")
    create(api, "default", other).raise_for_status()
    api.post(f"/video/call/default/{other}/delete").raise_for_status()
    run_task(api, api.post(f"/video/call/default/{other}/delete", json={"hard": True}))
    assert_error(api.post(f"/video/call/default/{other}/delete", json={"hard": True}), 404, ErrorCode.NOT_FOUND)


def test_starts_at_is_kept_in_utc(api: httpx.Client, uid: Callable[[str], str]) -> None:
    call_id = uid("c")
    create(api, "default", call_id, starts_at="2031-05-01T12:00:00+02:00").raise_for_status()
    assert api.get(f"/video/call/default/{call_id}").json()["call"]["starts_at"].startswith("2031-05-01T10:00:00")


def test_unknown_routes_say_so(api: httpx.Client) -> None:
    body = assert_error(api.get("/no/such/thing"), 404, ErrorCode.NOT_FOUND)
    assert "no route for GET" in body["message"]


def test_lone_surrogates_are_refused_not_stored(api: httpx.Client, uid: Callable[[str], str]) -> None:
    call_id = uid("c")
    raw = '{"data": {"created_by_id": "owner", "custom": {"bad": "\\udc00"}}}'
    response = api.post(f"/video/call/default/{call_id}", content=raw, headers={"content-type": "application/json"})
    assert_error(response, 400, ErrorCode.INPUT_ERROR)
    assert_error(api.get(f"/video/call/default/{call_id}"), 404, ErrorCode.NOT_FOUND)
    paired = '{"data": {"created_by_id": "owner", "custom": {"ok": "\\ud83d\\ude00"}}}'
    response = api.post(f"/video/call/default/{call_id}", content=paired, headers={"content-type": "application/json"})
    assert response.status_code == 200 and response.json()["call"]["custom"] == {"ok": "😀"}
