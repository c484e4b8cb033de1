"""Connecting: the socket and the user it reports, disconnecting, the singleton, guests, anonymous users,
token refresh through ``token_loader`` and auto-connect."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
import pytest

from tests.client.conftest import WAIT, options_for
from tests.conftest import RunningServer
from weir.client import (
    CallStatusConnected,
    ConnectionStatus,
    StreamCallType,
    StreamVideo,
    User,
    UserType,
    VideoError,
    WeirAPIError,
)
from weir.protocol.errors import ErrorCode

MakeClient = Callable[..., Awaitable[StreamVideo]]


def server_user(api: httpx.Client, user_id: str) -> dict:
    found = api.post("/users/query", json={"filter_conditions": {"id": user_id}}).json()["users"]
    assert len(found) == 1, found
    return found[0]


async def test_connect_upserts_the_user_and_disconnect_goes_offline(
    clients: MakeClient, api: httpx.Client, uid: Callable[[str], str]
) -> None:
    user_id = uid("alice")
    client = await clients(user_id, user=User.regular(user_id, name="Alice A.", image="https://x/a.png",
                                                     custom={"team": "blue"}))
    connection = client.state.connection.value
    assert connection.status is ConnectionStatus.CONNECTED and connection.connection_id == client.connection_id
    assert client.current_user.role == "user" and client.current_user.name == "Alice A."
    stored = server_user(api, user_id)
    assert stored["name"] == "Alice A." and stored["custom"] == {"team": "blue"} and stored["online"] is True

    await client.disconnect()
    assert client.state.connection.value.status is ConnectionStatus.DISCONNECTED
    assert client.connection_id is None
    for _ in range(50):  # the server marks the user offline once it notices the socket closed
        if not server_user(api, user_id)["online"]:
            break
        await asyncio.sleep(0.05)
    assert server_user(api, user_id)["online"] is False


async def test_include_user_details_false_sends_no_profile(
    clients: MakeClient, api: httpx.Client, uid: Callable[[str], str]
) -> None:
    user_id = uid("quiet")
    client = await clients(user_id, connect=False, user=User.regular(user_id, name="Not Sent"))
    await client.connect(include_user_details=False)
    assert server_user(api, user_id)["name"] is None


async def test_singleton_instance(server: RunningServer, uid: Callable[[str], str]) -> None:
    user = User.regular(uid("single"))
    with pytest.raises(VideoError):
        _ = StreamVideo.instance
    first = StreamVideo(server.api_key, user=user, user_token=server.token(user.id), options=options_for(server))
    try:
        assert StreamVideo.instance is first
        with pytest.raises(VideoError):
            StreamVideo(server.api_key, user=user, user_token=server.token(user.id))
        second = StreamVideo(server.api_key, user=user, user_token=server.token(user.id),
                             options=options_for(server), fail_if_singleton_exists=False)
        assert StreamVideo.instance is second
        assert StreamVideo.create(server.api_key, user=user) is not StreamVideo.instance
    finally:
        await StreamVideo.reset()
    with pytest.raises(VideoError):
        _ = StreamVideo.instance


async def test_guest_gets_a_server_assigned_id_and_token(
    server: RunningServer, api: httpx.Client, uid: Callable[[str], str]
) -> None:
    updated: list[str] = []
    client = StreamVideo.create(server.api_key, user=User.guest("visitor", name="Visitor"),
                                on_token_updated=updated.append, options=options_for(server))
    try:
        token = await client.connect()
        me = client.current_user
        assert me.id.startswith("guest-visitor-") and me.type is UserType.GUEST and me.role == "guest"
        assert updated == [token] and client.state.connection.value.is_connected
        cid_id = uid("guest-call")
        api.post(f"/video/call/default/{cid_id}", json={"data": {"created_by_id": uid("host")}}).raise_for_status()
        call = client.make_call(StreamCallType.default_type(), cid_id)
        await call.join()
        assert call.state.value.status == CallStatusConnected()
        assert call.state.value.local_participant is not None
        assert call.state.value.local_participant.user_id == me.id
        await client.disconnect()
        await client.connect()  # connecting again keeps the guest
        assert client.current_user.id == me.id and updated == [token]
    finally:
        await client.disconnect()


async def test_anonymous_user_has_no_socket_and_only_its_calls(
    server: RunningServer, api: httpx.Client, uid: Callable[[str], str]
) -> None:
    allowed, other = uid("show"), uid("other")
    for call_id in (allowed, other):
        api.post(f"/video/call/livestream/{call_id}",
                 json={"data": {"created_by_id": uid("host")}}).raise_for_status()
    token = server.token("!anon", call_cids=[f"livestream:{allowed}"])
    client = StreamVideo.create(server.api_key, user=User.anonymous(), user_token=token,
                                options=options_for(server))
    try:
        assert await client.connect() == token
        assert client.state.connection.value.status is ConnectionStatus.DISCONNECTED
        assert client.connection_id is None
        call = client.make_call(StreamCallType.livestream(), allowed)
        await call.get()
        assert call.state.value.created_by_user_id.startswith("host-")
        with pytest.raises(WeirAPIError) as refused:
            await client.make_call(StreamCallType.livestream(), other).get()
        assert refused.value.status_code == 403
    finally:
        await client.disconnect()


async def test_token_loader_replaces_an_expired_token(
    server: RunningServer, uid: Callable[[str], str]
) -> None:
    user_id = uid("expiring")
    loaded: list[str] = []
    updated: list[str] = []

    async def token_loader(who: str) -> str:
        loaded.append(who)
        return server.token(who)

    # The server tolerates 5 s of clock skew, so exp = now - 3 leaves this token valid for about 2 seconds.
    short = server.token(user_id, expiration=-3)
    client = StreamVideo.create(server.api_key, user=User.regular(user_id), user_token=short,
                                token_loader=token_loader, on_token_updated=updated.append,
                                options=options_for(server))
    try:
        await client.connect()
        assert loaded == []
        await asyncio.sleep(2.5)
        response = await client.make_call(id=uid("after-expiry")).get_or_create()
        assert response.created is True
        assert loaded == [user_id] and len(updated) == 1 and updated[0] != short
    finally:
        await client.disconnect()


async def test_socket_handshake_reloads_an_expired_token(
    server: RunningServer, uid: Callable[[str], str]
) -> None:
    user_id = uid("stale")
    loaded: list[str] = []

    async def token_loader(who: str) -> str:
        loaded.append(who)
        return server.token(who)

    client = StreamVideo.create(server.api_key, user=User.regular(user_id),
                                user_token=server.token(user_id, expiration=-60), token_loader=token_loader,
                                options=options_for(server))
    try:
        await client.connect()
        assert loaded == [user_id] and client.state.connection.value.is_connected
    finally:
        await client.disconnect()


async def test_expired_token_without_loader_is_refused(
    server: RunningServer, clients: MakeClient, uid: Callable[[str], str]
) -> None:
    user_id = uid("nolo")
    client = await clients(user_id, connect=False, token=server.token(user_id, expiration=-60))
    with pytest.raises(WeirAPIError) as refused:
        await client.connect()
    assert refused.value.code == ErrorCode.TOKEN_EXPIRED
    assert client.state.connection.value.status is ConnectionStatus.DISCONNECTED


async def test_token_loader_alone_loads_the_first_token(server: RunningServer, uid: Callable[[str], str]) -> None:
    user_id = uid("lazy")

    async def token_loader(who: str) -> str:
        return server.token(who)

    client = StreamVideo.create(server.api_key, user=User.regular(user_id), token_loader=token_loader,
                                options=options_for(server))
    try:
        assert await client.connect() == await client._tokens.get()
        assert client.connection_id is not None
    finally:
        await client.disconnect()


async def test_first_request_auto_connects_and_watches(clients: MakeClient, uid: Callable[[str], str]) -> None:
    client, other = await clients(uid("auto"), connect=False), await clients(uid("other"))
    assert client.connection_id is None
    call = client.make_call(id=uid("c"))
    await call.get_or_create()
    assert client.state.connection.value.is_connected
    async with call.events.subscribe() as events:  # not a member: the events come from watching
        await other.make_call(id=call.id).send_custom_event("hello")
        assert (await events.first(lambda e: e.type == "custom", WAIT)).custom == {"type": "hello"}


async def test_without_auto_connect_requests_use_rest_only(clients: MakeClient, uid: Callable[[str], str]) -> None:
    client = await clients(uid("manual"), connect=False, auto_connect=False)
    call = client.make_call(id=uid("c"))
    await call.get_or_create()
    assert client.connection_id is None and call.state.value.created_by_me
    await asyncio.wait_for(client.disconnect(), WAIT)
