"""QueryCalls, QueryMembers and QueryUsers through the real server: filters, sorts, cursors, access."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import RunningServer, assert_error
from tests.realtime import connect_user
from weir.protocol.errors import ErrorCode

Uid = Callable[[str], str]


def create_call(api: httpx.Client, type_: str, call_id: str, **data: Any) -> None:
    response = api.post(f"/video/call/{type_}/{call_id}", json={"data": {"created_by_id": "owner", **data}})
    assert response.status_code == 200, response.text


def query(client: httpx.Client, path: str, **body: Any) -> dict[str, Any]:
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def call_ids(client: httpx.Client, suite: str, flt: dict[str, Any], **body: Any) -> set[str]:
    found = query(client, "/video/calls", filter_conditions={"$and": [{"custom.suite": suite}, flt]}, **body)
    return {state["call"]["id"] for state in found["calls"]}


def walk(client: httpx.Client, path: str, items: str, key: Callable[[dict[str, Any]], str],
         **body: Any) -> list[list[str]]:
    """Every page forwards with ``next``, then back from the last page with ``prev``, which must match."""
    pages: list[list[str]] = []
    first = query(client, path, **body)
    assert first["prev"] is None
    page, cursor = first, first["next"]
    pages.append([key(item) for item in page[items]])
    while cursor is not None:
        page = query(client, path, **body, next=cursor)
        pages.append([key(item) for item in page[items]])
        cursor = page["next"]
    backwards: list[list[str]] = []
    cursor = page["prev"]
    while cursor is not None:
        page = query(client, path, **body, prev=cursor)
        backwards.append([key(item) for item in page[items]])
        assert page["next"] is not None
        cursor = page["prev"]
    assert backwards == pages[-2::-1], "prev gives the previous pages in the same order"
    return pages


@pytest.fixture
def calls_suite(api: httpx.Client, uid: Uid) -> dict[str, Any]:
    """Four calls with distinct data (and a deleted fifth that no query may return)."""
    suite, ann, bob = uid("suite"), uid("ann"), uid("bob")
    c = {name: uid(name) for name in ("c1", "c2", "c3", "c4", "c5")}
    create_call(api, "default", c["c1"], team="A", starts_at="2030-01-01T00:00:00Z", members=[{"user_id": ann}],
                custom={"suite": suite, "color": "red", "n": 1, "flag": True, "nested": {"k": "v"}})
    create_call(api, "livestream", c["c2"], team="B", starts_at="2030-06-01T12:00:00Z", members=[{"user_id": bob}],
                custom={"suite": suite, "color": "blue", "n": 5.5}, created_by_id="owner2")
    create_call(api, "default", c["c3"], members=[{"user_id": ann}, {"user_id": bob}],
                custom={"suite": suite, "color": "Red Apple", "n": "5", "none": None})
    create_call(api, "audio_room", c["c4"], team="A", starts_at="2029-01-01T00:00:00Z",
                custom={"suite": suite, "n": 10, "flag": False})
    create_call(api, "default", c["c5"], team="A", custom={"suite": suite, "color": "red"})
    api.post(f"/video/call/audio_room/{c['c4']}/mark_ended").raise_for_status()
    api.post(f"/video/call/default/{c['c5']}/delete").raise_for_status()
    return {"suite": suite, "ann": ann, "bob": bob, **c}


def test_query_calls_filters_select_exactly_the_matching_calls(api: httpx.Client, calls_suite: dict[str, Any]) -> None:
    s = calls_suite
    c1, c2, c3, c4 = s["c1"], s["c2"], s["c3"], s["c4"]
    cases: list[tuple[dict[str, Any], set[str]]] = [
        ({}, {c1, c2, c3, c4}),
        ({"type": "default"}, {c1, c3}),
        ({"type": {"$eq": "default"}}, {c1, c3}),
        ({"type": {"$in": ["livestream", "audio_room"]}}, {c2, c4}),
        ({"type": {"$nin": ["default"]}}, {c2, c4}),
        ({"cid": f"default:{c1}"}, {c1}),
        ({"id": {"$autocomplete": c2[:4]}, "type": "livestream"}, {c2}),
        ({"created_by_user_id": "owner2"}, {c2}),
        ({"team": "A"}, {c1, c4}),
        ({"team": None}, {c3}),
        ({"team": {"$exists": True}}, {c1, c2, c4}),
        ({"team": {"$ne": "A"}}, {c2, c3}),
        ({"team": {"$gt": "A"}}, {c2}),
        ({"starts_at": {"$gte": "2030-01-01T00:00:00Z"}}, {c1, c2}),
        ({"starts_at": {"$gt": "2030-01-01T01:00:00+02:00"}}, {c1, c2}),
        ({"starts_at": {"$lt": "2030-01-01T00:00:00Z"}}, {c4}),
        ({"starts_at": {"$gte": "2029-06-01T00:00:00Z", "$lte": "2030-02-01T00:00:00Z"}}, {c1}),
        ({"starts_at": {"$exists": False}}, {c3}),
        ({"starts_at": {"$in": ["2030-06-01T12:00:00Z", None]}}, {c2, c3}),
        ({"ended_at": {"$exists": True}}, {c4}),
        ({"created_at": {"$gt": "2000-01-01T00:00:00Z"}}, {c1, c2, c3, c4}),
        ({"updated_at": {"$lt": "2000-01-01T00:00:00Z"}}, set()),
        ({"backstage": True}, {c2, c4}),
        ({"ongoing": True}, set()),
        ({"ongoing": False}, {c1, c2, c3, c4}),
        ({"members": s["ann"]}, {c1, c3}),
        ({"members": {"$in": [s["bob"]]}}, {c2, c3}),
        ({"members": {"$contains": s["bob"]}, "type": "default"}, {c3}),
        ({"members": {"$nin": [s["ann"]]}}, {c2, c4}),
        ({"custom.color": "red"}, {c1}),
        ({"custom.color": {"$autocomplete": "RE"}}, {c1, c3}),
        ({"custom.color": {"$q": "apple red"}}, {c3}),
        ({"custom.color": {"$ne": "red"}}, {c2, c3, c4}),
        ({"$not": {"custom.color": "red"}}, {c2, c3, c4}),
        ({"custom.color": {"$exists": False}}, {c4}),
        ({"custom.n": {"$gt": 2}}, {c2, c4}),
        ({"custom.n": {"$lte": 5.5}}, {c1, c2}),
        ({"custom.n": {"$gt": "4"}}, {c3}),
        ({"custom.n": {"$in": [1, "5"]}}, {c1, c3}),
        ({"custom.n": 10}, {c4}),
        ({"custom.flag": True}, {c1}),
        ({"custom.flag": False}, {c4}),
        ({"custom.flag": {"$exists": False}}, {c2, c3}),
        ({"custom.none": None}, {c1, c2, c3, c4}),
        ({"custom.none": {"$exists": True}}, {c3}),
        ({"custom.nested.k": "v"}, {c1}),
        ({"custom.nested": {"$exists": True}}, {c1}),
        ({"$or": [{"team": "B"}, {"custom.n": 10}]}, {c2, c4}),
        ({"$and": [{"type": "default"}, {"members": s["bob"]}]}, {c3}),
        ({"$not": {"$or": [{"type": "default"}, {"team": "B"}]}}, {c4}),
    ]
    for flt, expected in cases:
        assert call_ids(api, s["suite"], flt) == expected, flt


def test_query_calls_returns_call_state_and_pages_both_ways(api: httpx.Client, uid: Uid) -> None:
    suite = uid("suite")
    starts = ["2031-01-01T00:00:00Z", None, "2031-01-01T00:00:00Z", "2030-01-01T00:00:00Z", None,
              "2031-01-01T00:00:00Z", "2032-01-01T00:00:00Z"]
    created = {}
    for start in starts:
        call_id = uid("p")
        create_call(api, "default", call_id, custom={"suite": suite}, starts_at=start, members=[{"user_id": "m1"}])
        created[f"default:{call_id}"] = start
    body = {"filter_conditions": {"custom.suite": suite}, "limit": 3}

    state = query(api, "/video/calls", **body)["calls"][0]
    assert state["members"][0]["user_id"] == "m1" and "read-call" in state["own_capabilities"]

    by_start = sorted(created, key=lambda cid: (created[cid] is None, created[cid] or "", cid))
    pages = walk(api, "/video/calls", "calls", lambda s: s["call"]["cid"], **body,
                 sort=[{"field": "starts_at", "direction": 1}])
    assert [len(p) for p in pages] == [3, 3, 1]
    assert sum(pages, []) == by_start

    latest_first = sorted(created, key=lambda cid: (created[cid] is None, -int((created[cid] or "0")[:4]), cid))
    pages = walk(api, "/video/calls", "calls", lambda s: s["call"]["cid"], **body,
                 sort=[{"field": "starts_at", "direction": -1}])
    assert sum(pages, []) == latest_first

    stamps = {s["call"]["cid"]: datetime.fromisoformat(s["call"]["created_at"])
              for s in query(api, "/video/calls", **{**body, "limit": 100})["calls"]}
    newest = walk(api, "/video/calls", "calls", lambda s: s["call"]["cid"], **body)
    assert sum(newest, []) == sorted(created, key=lambda cid: (-stamps[cid].timestamp(), cid))
    by_cid = walk(api, "/video/calls", "calls", lambda s: s["call"]["cid"], **{**body, "limit": 2},
                  sort=[{"field": "cid", "direction": -1}])
    assert sum(by_cid, []) == sorted(created, reverse=True)


def test_bad_queries_are_400s_naming_the_field(api: httpx.Client, uid: Uid) -> None:
    def bad(field: str, **body: Any) -> None:
        error = assert_error(api.post("/video/calls", json=body), 400, ErrorCode.INPUT_ERROR)
        assert field in error["exception_fields"], error

    bad("filter_conditions.created_at.$foo", filter_conditions={"created_at": {"$foo": 1}})
    bad("filter_conditions.colour", filter_conditions={"colour": "red"})
    bad("filter_conditions.starts_at", filter_conditions={"starts_at": "soon"})
    bad("filter_conditions.backstage.$gt", filter_conditions={"backstage": {"$gt": True}})
    bad("filter_conditions.$or.0.type", filter_conditions={"$or": [{"type": 1}]})
    bad("filter_conditions", filter_conditions=["type"])
    bad("limit", limit=0)
    bad("limit", limit=101)
    bad("sort.0.field", sort=[{"field": "team", "direction": 1}])
    bad("sort.0.direction", sort=[{"field": "cid", "direction": 2}])
    bad("next", next="not a cursor!")
    bad("prev", prev="eyJxIjoxfQ")
    suite = uid("suite")
    for _ in range(2):
        create_call(api, "default", uid("e"), custom={"suite": suite})
    first = query(api, "/video/calls", filter_conditions={"custom.suite": suite}, limit=1)
    bad("next", next=first["next"], sort=[{"field": "cid", "direction": 1}])
    bad("prev", next=first["next"], prev=first["next"])
    bad("filter_conditions.type", filter_conditions={"type": "nul\x00"})
    surrogate = api.post("/video/calls", content=b'{"filter_conditions": {"type": "\\ud800"}}',
                         headers={"content-type": "application/json"})
    assert "filter_conditions.type" in assert_error(surrogate, 400)["exception_fields"]
    forged = json.loads(base64.urlsafe_b64decode(first["next"] + "=="))
    for value in ("nul\x00", 5):
        forged["v"][-1] = value
        bad("next", next=base64.urlsafe_b64encode(json.dumps(forged).encode()).decode())
    members = assert_error(api.post("/users/query", json={"next": first["next"]}), 400)
    assert "next" in members["exception_fields"], "a calls cursor is not a users cursor"


def test_users_see_only_the_calls_they_may_read(
    api: httpx.Client, user_api: Callable[..., httpx.Client], uid: Uid
) -> None:
    private = uid("private").replace("-", "_")
    created = api.post("/video/calltypes", json={"name": private, "grants": {"user": ["create-call"]}})
    assert created.status_code == 201, created.text
    suite, creator, member, stranger = uid("suite"), uid("creator"), uid("member"), uid("stranger")
    own, joined, other, public = uid("own"), uid("joined"), uid("other"), uid("public")
    create_call(api, private, own, created_by_id=creator, custom={"suite": suite})
    create_call(api, private, joined, members=[{"user_id": member}], custom={"suite": suite})
    create_call(api, private, other, custom={"suite": suite})
    create_call(api, "default", public, custom={"suite": suite})

    assert call_ids(api, suite, {}) == {own, joined, other, public}
    assert call_ids(user_api(creator), suite, {}) == {own, public}
    assert call_ids(user_api(member), suite, {}) == {joined, public}
    assert call_ids(user_api(stranger), suite, {}) == {public}
    for call_id, status in ((own, 403), (other, 403), (public, 200)):
        assert user_api(stranger).get(f"/video/call/{private if call_id != public else 'default'}/{call_id}"
                                       ).status_code == status
    scoped = user_api(stranger, call_cids=[f"default:{public}", f"{private}:{own}"], role="admin")
    assert call_ids(scoped, suite, {}) == {own, public}, "a call token sees only its calls, with its role"
    assert_error(user_api("!anon", call_cids=[f"default:{public}"]).post("/video/calls", json={}), 403)


async def test_watch_subscribes_to_the_returned_calls(
    server: RunningServer, api: httpx.Client, user_api: Callable[..., httpx.Client], uid: Uid
) -> None:
    watcher, suite, call_id = uid("watcher"), uid("suite"), uid("w")
    create_call(api, "default", call_id, custom={"suite": suite})
    socket = await connect_user(server, watcher)
    client = user_api(watcher)
    refused = client.post("/video/calls", json={"watch": True})
    assert "connection_id" in assert_error(refused, 400)["exception_fields"]
    watched = client.post("/video/calls", params={"connection_id": socket.connection_id},
                          json={"filter_conditions": {"custom.suite": suite}, "watch": True})
    assert watched.status_code == 200, watched.text
    api.patch(f"/video/call/default/{call_id}", json={"custom": {"suite": suite, "x": 1}}).raise_for_status()
    assert (await socket.wait_for("call.updated"))["call"]["id"] == call_id
    await socket.close()


def test_query_members_filters_sorts_and_pages(
    api: httpx.Client, user_api: Callable[..., httpx.Client], uid: Uid
) -> None:
    call_id = uid("m")
    users = sorted(uid("u") for _ in range(5))
    members = [{"user_id": u, "role": "host" if i == 0 else None, "custom": {"team": "red" if i % 2 else "blue",
                "rank": i}} for i, u in enumerate(users)]
    create_call(api, "default", call_id, members=[{k: v for k, v in m.items() if v is not None} for m in members])
    path = "/video/call/members"

    def member_ids(**body: Any) -> list[str]:
        return [m["user_id"] for m in query(api, path, type="default", id=call_id, **body)["members"]]

    assert member_ids() == users, "created together: created_at ties are broken by user_id"
    assert member_ids(filter_conditions={"role": "host"}) == users[:1]
    assert member_ids(filter_conditions={"role": {"eq": "call_member"}}) == users[1:]
    assert member_ids(filter_conditions={"custom.team": "red"}) == [users[1], users[3]]
    assert member_ids(filter_conditions={"custom.rank": {"$gte": 3}}) == users[3:]
    assert member_ids(filter_conditions={"user_id": {"$in": users[2:4]}}) == users[2:4]
    assert member_ids(filter_conditions={"created_at": {"$lt": "2000-01-01T00:00:00Z"}}) == []
    pages = walk(api, path, "members", lambda m: m["user_id"], type="default", id=call_id, limit=2,
                 sort=[{"field": "user_id", "direction": -1}])
    assert pages == [users[:2:-1], users[2:0:-1], users[:1]]
    assert query(api, path, type="default", id=call_id)["members"][0]["user"]["id"] == users[0]

    bad = assert_error(api.post(path, json={"type": "default", "id": call_id, "filter_conditions": {"team": 1}}), 400)
    assert "filter_conditions.team" in bad["exception_fields"]
    assert_error(api.post(path, json={"type": "default", "id": uid("missing")}), 404, ErrorCode.NOT_FOUND)
    assert_error(api.post(path, json={"type": "nosuchtype", "id": call_id}), 400)
    private = uid("private").replace("-", "_")
    api.post("/video/calltypes", json={"name": private, "grants": {"user": []}}).raise_for_status()
    create_call(api, private, call_id)
    assert_error(user_api(uid("stranger")).post(path, json={"type": private, "id": call_id}), 403)
    create_call(api, "livestream", call_id, members=[{"user_id": users[0]}])
    viewer = user_api("!anon", call_cids=[f"livestream:{call_id}"])
    assert [m["user_id"] for m in query(viewer, path, type="livestream", id=call_id)["members"]] == users[:1]
    assert_error(viewer.post(path, json={"type": "default", "id": call_id}), 403)


def test_query_users(api: httpx.Client, user_api: Callable[..., httpx.Client], uid: Uid) -> None:
    prefix = uid("qu")
    ids = [f"{prefix}-{i}" for i in range(6)]
    profiles = [
        {"name": "Ann Lee", "teams": ["red", "blue"], "custom": {"age": 30}},
        {"name": "anna", "teams": ["red"], "custom": {"age": 40}, "role": "admin"},
        {"name": "Bob", "teams": [], "custom": {"age": "old"}},
        {"teams": ["green"]},
        {"name": "Deactivated", "teams": ["red"]},
        {"name": "Banned", "teams": ["red"]},
    ]
    response = api.post("/users", json={"users": {i: {"id": i, **p} for i, p in zip(ids, profiles, strict=True)}})
    assert response.status_code == 200, response.text
    api.post(f"/users/{ids[4]}/deactivate").raise_for_status()
    api.post("/moderation/ban", json={"target_user_id": ids[5]}).raise_for_status()

    def found(flt: dict[str, Any], client: httpx.Client = api, **body: Any) -> set[str]:
        result = query(client, "/users/query",
                       filter_conditions={"id": {"$autocomplete": prefix}, **flt}, **body)
        return {u["id"] for u in result["users"]}

    assert found({}) == {ids[0], ids[1], ids[2], ids[3], ids[5]}
    assert found({}, include_deactivated_users=True) == set(ids)
    assert found({"teams": "red"}) == {ids[0], ids[1], ids[5]}
    assert found({"teams": {"$in": ["blue", "green"]}}) == {ids[0], ids[3]}
    assert found({"teams": {"$nin": ["red"]}}) == {ids[2], ids[3]}
    assert found({"name": {"$autocomplete": "ann"}}) == {ids[0], ids[1]}
    assert found({"name": {"$q": "lee"}}) == {ids[0]}
    assert found({"name": None}) == {ids[3]}
    assert found({"role": "admin"}) == {ids[1]}
    assert found({"banned": True}) == {ids[5]}
    assert found({"custom.age": {"$gte": 35}}) == {ids[1]}
    assert found({"last_active": {"$exists": True}}) == set()
    assert found({"$or": [{"name": "Bob"}, {"custom.age": 30}]}, user_api(uid("viewer"))) == {ids[0], ids[2]}

    by_id = {"filter_conditions": {"id": {"$autocomplete": prefix}}, "sort": [{"field": "id", "direction": 1}]}
    pages = walk(api, "/users/query", "users", lambda u: u["id"], **by_id, limit=2)
    assert pages == [ids[0:2], [ids[2], ids[3]], [ids[5]]]
    skipped = query(api, "/users/query", **by_id, offset=3, limit=1)
    assert [u["id"] for u in skipped["users"]] == [ids[3]] and skipped["prev"] is not None
    earlier = query(api, "/users/query", **by_id, prev=skipped["prev"])
    assert [u["id"] for u in earlier["users"]] == ids[:3] and earlier["prev"] is None
    by_name = walk(api, "/users/query", "users", lambda u: u["id"], limit=2, include_deactivated_users=True,
                   filter_conditions={"id": {"$autocomplete": prefix}}, sort=[{"field": "name", "direction": 1}])
    assert sum(by_name, []) == [ids[0], ids[5], ids[2], ids[4], ids[1], ids[3]], "nulls last"
    bad = assert_error(api.post("/users/query", json={"offset": 1, "next": skipped["prev"]}), 400)
    assert "offset" in bad["exception_fields"]


_scalars = (st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70)
            | st.floats(allow_nan=False, allow_infinity=False)
            | st.text(max_size=6) | st.sampled_from(["2030-01-01T00:00:00Z", "red", "default", "A", "5"]))
_values = _scalars | st.lists(_scalars, max_size=3)
_operators = st.sampled_from(["$eq", "$ne", "$in", "$nin", "$gt", "$gte", "$lt", "$lte", "$exists", "$autocomplete",
                              "$q", "$contains"])
_conditions = _values | st.dictionaries(_operators, _values, min_size=1, max_size=2)
_FIELDS = {
    "/video/calls": ["id", "cid", "type", "team", "created_at", "starts_at", "ended_at", "backstage", "members",
                     "ongoing", "created_by_user_id"],
    "/users/query": ["id", "name", "role", "teams", "banned", "created_at", "last_active"],
}
_SORTS = {"/video/calls": ["created_at", "starts_at", "ended_at", "cid", "type", "id"],
          "/users/query": ["id", "name", "role", "created_at", "last_active"]}


def _filters(fields: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    names = st.sampled_from([*fields, "custom.color", "custom.n", "custom.flag", "custom.nested.k"])
    leaf = st.dictionaries(names, _conditions, min_size=1, max_size=2)
    return st.recursive(leaf, lambda inner: st.builds(
        lambda key, items: {key: items}, st.sampled_from(["$and", "$or"]), st.lists(inner, min_size=1, max_size=3),
    ) | st.builds(lambda item: {"$not": item}, inner), max_leaves=6)


_queries = st.sampled_from(sorted(_FIELDS)).flatmap(
    lambda path: st.tuples(
        st.just(path), _filters(_FIELDS[path]), st.sampled_from(_SORTS[path]), st.sampled_from([1, -1])
    ))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_queries)
def test_random_filters_give_results_or_400_never_500(
    api: httpx.Client, calls_suite: dict[str, Any], generated: tuple[str, dict[str, Any], str, int]
) -> None:
    path, flt, sort_field, direction = generated
    response = api.post(path, json={"filter_conditions": flt, "sort": [{"field": sort_field, "direction": direction}],
                                    "limit": 2})
    assert response.status_code in (200, 400), (flt, response.text)
    if response.status_code == 200 and response.json()["next"]:
        following = api.post(path, json={"filter_conditions": flt, "limit": 2, "next": response.json()["next"],
                                          "sort": [{"field": sort_field, "direction": direction}]})
        assert following.status_code == 200, following.text
