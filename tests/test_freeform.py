"""Free-form JSON (custom data and the like) gets one check wherever it enters: at most 32 levels deep and
only finite numbers, refused with a 400 that names the field, and nothing written."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import RunningServer, assert_error
from tests.realtime import connect_user, open_socket, ws_url
from weir.protocol.errors import ErrorCode
from weir.protocol.freeform import JSON_MAX_DEPTH
from weir.protocol.sfu.errors import SignalError
from weir.protocol.sfu.parse import parse_request
from weir.serving import WS_MAX_FRAME_BYTES

POISON = "__poison__"  # stands for the bad value inside a body template


def nested(depth: int) -> dict[str, Any]:
    """An object ``depth`` levels deep (``{}`` is one level)."""
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def send(client: httpx.Client, method: str, path: str, template: Any, poison: str) -> httpx.Response:
    """``template`` as JSON text with ``poison`` (raw JSON, NaN allowed) in place of ``POISON``."""
    text = json.dumps(template).replace(json.dumps(POISON), poison)
    return client.request(method, path, content=text, headers={"content-type": "application/json"})


TOO_DEEP = json.dumps(nested(JSON_MAX_DEPTH + 1))
BAD_VALUES = {
    "too-deep": TOO_DEEP,
    "very-deep": json.dumps(nested(400)),
    "nan": '{"x": NaN}',
    "infinity": '{"x": [1, -Infinity]}',
    "overflow": '{"x": 1e999}',
}


def endpoints(ids: Callable[[str], str], call: str, user: str, new_user: str) -> list[tuple[str, str, Any, str]]:
    """(method, path, body template, the field the error must name)."""
    new_call = f"/video/call/default/{ids('ff')}"
    return [
        ("POST", new_call, {"data": {"created_by_id": user, "custom": POISON}}, "data.custom"),
        ("POST", new_call, {"data": {"created_by_id": user, "members": [{"user_id": user, "custom": POISON}]}},
         "data.members.0.custom"),
        ("PATCH", call, {"custom": POISON}, "custom"),
        ("PATCH", call, {"settings_override": {"recording": {"layout": {"name": "grid", "options": POISON}}}},
         "settings_override.recording.layout.options"),
        ("POST", f"{call}/members", {"update_members": [{"user_id": user, "custom": POISON}]},
         "update_members.0.custom"),
        ("POST", "/users", {"users": {new_user: {"id": new_user, "custom": POISON}}}, f"users.{new_user}.custom"),
        ("PATCH", "/users", {"users": [{"id": user, "set": {"custom": POISON}}]}, "users.0.set.custom"),
        ("POST", f"{call}/event", {"user_id": user, "custom": POISON}, "custom"),
        ("POST", f"{call}/reaction", {"user_id": user, "type": "like", "custom": POISON}, "custom"),
        ("POST", f"{call}/feedback", {"user_id": user, "rating": 3, "custom": POISON}, "custom"),
        ("POST", "/video/calltypes", {"name": ids("ct").lower(), "notification_settings": {
            "call_ring": {"apns": {"data": POISON}}}}, "notification_settings.call_ring.apns.data"),
    ]


@pytest.fixture
def call_and_user(api: httpx.Client, uid: Callable[[str], str]) -> tuple[str, str]:
    user = uid("ff-user")
    path = f"/video/call/default/{uid('ff-call')}"
    api.post(path, json={"data": {"created_by_id": user, "members": [{"user_id": user}],
                                  "custom": {"kept": True}}}).raise_for_status()
    return path, user


@pytest.mark.parametrize("bad", list(BAD_VALUES))
def test_bad_free_form_json_is_refused_everywhere(
    api: httpx.Client, uid: Callable[[str], str], call_and_user: tuple[str, str], bad: str,
) -> None:
    call, user = call_and_user
    new_user = uid("ff-new")
    for method, path, template, field in endpoints(uid, call, user, new_user):
        body = assert_error(send(api, method, path, template, BAD_VALUES[bad]), 400, ErrorCode.INPUT_ERROR)
        named = body["exception_fields"]
        assert any(name == field or name.startswith(field + ".") for name in named), (path, body)
    assert api.get(call).json()["call"]["custom"] == {"kept": True}
    assert_error(api.post("/users/delete", json={"user_ids": [new_user]}), 404)  # the refused upsert wrote nothing


def test_custom_data_at_the_depth_limit_is_kept(api: httpx.Client, uid: Callable[[str], str]) -> None:
    custom = nested(JSON_MAX_DEPTH)
    created = api.post(f"/video/call/default/{uid('deep')}", json={"data": {"created_by_id": uid("u"),
                                                                           "custom": custom}})
    assert created.status_code == 201 or created.status_code == 200, created.text
    assert created.json()["call"]["custom"] == custom


def test_guests_get_the_same_check(server: RunningServer, uid: Callable[[str], str]) -> None:
    with httpx.Client(base_url=server.base_url + "/api/v1", params={"api_key": server.api_key}) as anyone:
        for poison in (json.dumps(nested(400)), '{"x": NaN}'):
            response = send(anyone, "POST", "/guest", {"user": {"id": uid("g"), "custom": POISON}}, poison)
            assert "user.custom" in " ".join(assert_error(response, 400)["exception_fields"])


def test_filters_with_non_finite_numbers_are_refused(api: httpx.Client) -> None:
    response = send(api, "POST", "/video/calls", {"filter_conditions": {"custom.n": {"$gt": POISON}}}, "NaN")
    assert "filter_conditions.custom.n.$gt" in assert_error(response, 400)["exception_fields"]


async def test_websocket_user_details_get_the_same_check(server: RunningServer, uid: Callable[[str], str]) -> None:
    for poison in (nested(JSON_MAX_DEPTH + 1), {"x": float("inf")}):
        user = uid("ws")
        ws = await open_socket(server, server.token(user), {"id": user, "custom": poison})
        reply = json.loads(await ws.recv())
        assert reply["type"] == "connection.error" and reply["error"]["code"] == ErrorCode.INPUT_ERROR, reply
        assert "user_details.custom" in reply["error"]["message"]
        await ws.close()


async def test_deeply_nested_message_gets_an_error_not_a_reset(server: RunningServer, uid: Callable[[str], str]
                                                               ) -> None:
    client = await connect_user(server, uid("ws"))
    await client.ws.send("[" * 30_000 + "]" * 30_000)  # under 64 KB, beyond what Python's parser nests
    error = await client.wait_for("connection.error")
    assert error["error"]["code"] == ErrorCode.INPUT_ERROR
    await client.ws.send(json.dumps({"type": "health.check", "custom": nested(400)}))
    assert (await client.wait_for("health.check"))["connection_id"] == client.connection_id, "socket survives"
    await client.close()


@pytest.mark.parametrize("frame, close_code", [(b"\x00binary", 1003), ("x" * 40_000, 1009)])
async def test_first_frame_must_be_a_small_text_frame(server: RunningServer, frame: str | bytes, close_code: int
                                                      ) -> None:
    async with connect(ws_url(server)) as ws:
        await ws.send(frame)
        reply = json.loads(await ws.recv())
        assert reply["type"] == "connection.error" and reply["error"]["code"] == ErrorCode.INPUT_ERROR
        with pytest.raises(ConnectionClosed):
            await ws.recv()
        assert ws.close_code == close_code


async def test_a_frame_over_the_servers_limit_is_never_read(server: RunningServer) -> None:
    async with connect(ws_url(server), max_size=None) as ws:
        await ws.send("x" * (WS_MAX_FRAME_BYTES + 1))  # uvicorn's default would read 16 MiB before the app
        with pytest.raises(ConnectionClosed):
            await ws.recv()
        assert ws.close_code == 1009
    assert httpx.get(f"{server.base_url}/health").status_code == 200  # and the server goes on


@pytest.mark.parametrize("poison, field", [(json.dumps(nested(JSON_MAX_DEPTH + 1)), "publisher"),
                                           ('{"x": NaN}', "publisher.x")])
def test_sfu_stats_get_the_same_check(poison: str, field: str) -> None:
    with pytest.raises(SignalError) as refused:
        parse_request(f'{{"type": "send_stats", "publisher": {poison}}}')
    assert str(refused.value).startswith(field)
