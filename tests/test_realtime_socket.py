"""The coordinator WebSocket: handshake, errors, health checks, presence."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import RunningServer
from tests.realtime import connect_user, open_socket, ws_url
from weir.protocol.errors import ErrorCode


async def test_connection_ok_upserts_the_user_details(server: RunningServer, uid: Callable[[str], str]) -> None:
    user_id = uid("ws")
    client = await connect_user(server, user_id, name="Ada", custom={"team": "red"})
    assert client.hello["me"]["id"] == user_id
    assert client.hello["me"]["name"] == "Ada" and client.hello["me"]["custom"] == {"team": "red"}
    assert client.hello["me"]["online"] is True
    assert len(client.connection_id) >= 16
    await client.close()


@pytest.mark.parametrize("message, code", [
    ({"token": "not-a-jwt"}, ErrorCode.AUTH_FAILED),
    ({"tokn": "x"}, ErrorCode.INPUT_ERROR),
])
async def test_bad_auth_gets_connection_error_and_close(
    server: RunningServer, message: dict, code: ErrorCode
) -> None:
    async with connect(ws_url(server)) as ws:
        await ws.send(json.dumps(message))
        reply = json.loads(await ws.recv())
        assert reply["type"] == "connection.error"
        assert reply["error"]["code"] == code, reply
        with pytest.raises(ConnectionClosed):
            await ws.recv()
        assert ws.close_code == 1008


async def test_anonymous_and_mismatched_users_are_refused(server: RunningServer) -> None:
    async with await open_socket(server, server.token("!anon", call_cids=["default:x"])) as ws:
        reply = json.loads(await ws.recv())
    assert reply["type"] == "connection.error" and reply["error"]["code"] == ErrorCode.NOT_ALLOWED
    async with await open_socket(server, server.token("alice-ws"), {"id": "mallory"}) as ws:
        reply = json.loads(await ws.recv())
    assert reply["type"] == "connection.error" and reply["error"]["code"] == ErrorCode.INPUT_ERROR


async def test_expired_token_is_refused(server: RunningServer) -> None:
    async with await open_socket(server, server.token("late-ws", expiration=-60)) as ws:
        reply = json.loads(await ws.recv())
    assert reply["error"]["code"] == ErrorCode.TOKEN_EXPIRED


async def test_health_check_and_garbage(server: RunningServer, uid: Callable[[str], str]) -> None:
    client = await connect_user(server, uid("ws"))
    await client.ws.send(json.dumps({"type": "health.check"}))
    reply = await client.wait_for("health.check")
    assert reply["connection_id"] == client.connection_id
    await client.ws.send("{not json")
    error = await client.wait_for("connection.error")
    assert error["error"]["code"] == ErrorCode.INPUT_ERROR
    await client.ws.send(json.dumps({"type": "health.check"}))
    assert (await client.wait_for("health.check"))["connection_id"] == client.connection_id, "socket survives"
    await client.close()


async def test_presence_follows_connections(
    server: RunningServer, api: httpx.Client, uid: Callable[[str], str]
) -> None:
    user_id = uid("ws")
    first = await connect_user(server, user_id)
    second = await connect_user(server, user_id)
    assert first.connection_id != second.connection_id
    await first.close()
    await second.ws.send(json.dumps({"type": "health.check"}))
    await second.wait_for("health.check")
    call = api.post(f"/video/call/default/{uid('c')}", json={"data": {"created_by_id": user_id}}).json()
    assert call["call"]["created_by"]["online"] is True, "still online with one connection left"
    await second.close()
    for _ in range(50):
        call = api.get(f"/video/call/{call['call']['type']}/{call['call']['id']}").json()
        if call["call"]["created_by"]["online"] is False:
            break
        await asyncio.sleep(0.05)
    assert call["call"]["created_by"]["online"] is False
