"""The server-side SDK (``weir.server``) against the real server: every test runs with ``Client`` and with
``AsyncClient`` (through a blocking view), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import inspect
import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import RunningServer, free_port, start_server
from tests.push_fakes import service_account
from weir.config import Settings
from weir.domain.tokens import verify_token
from weir.protocol.errors import ErrorCode
from weir.protocol.users import UserRequest
from weir.server import AsyncClient, Client, WeirAPIError, WeirResponse
from weir.server.operations import Group


class Blocking:
    """A blocking view of an ``AsyncClient`` (or its ``video``/``call`` groups), so tests are written once."""

    def __init__(self, target: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._target = target
        self._loop = loop

    def _wrap(self, value: Any) -> Any:
        if inspect.iscoroutine(value):
            return self._loop.run_until_complete(value)
        return Blocking(value, self._loop) if isinstance(value, Group) else value

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if inspect.ismethod(value):
            return lambda *args, **kwargs: self._wrap(value(*args, **kwargs))
        return self._wrap(value)


@contextmanager
def open_client(kind: str, api_key: str, api_secret: str, base_url: str, **options: Any) -> Iterator[Any]:
    """A ``Client``, or an ``AsyncClient`` behind a blocking view."""
    if kind == "sync":
        with Client(api_key, api_secret, base_url, **options) as sync_client:
            yield sync_client
        return
    loop = asyncio.new_event_loop()
    async_client = AsyncClient(api_key, api_secret, base_url, **options)
    try:
        yield Blocking(async_client, loop)
    finally:
        loop.run_until_complete(async_client.aclose())
        loop.close()


def finished(client: Any, task_id: str) -> Any:
    """The task (``get_task``) once it has completed or failed."""
    deadline = time.monotonic() + 60
    while (task := client.get_task(task_id).data).status not in ("completed", "failed"):
        assert time.monotonic() < deadline, task
        time.sleep(0.05)
    return task


@pytest.fixture(params=["sync", "async"])
def client(request: pytest.FixtureRequest, server: RunningServer) -> Iterator[Any]:
    with open_client(request.param, server.api_key, server.api_secret, server.base_url) as opened:
        yield opened


def api_error(call: Callable[[], object], status: int, code: ErrorCode | None = None) -> WeirAPIError:
    with pytest.raises(WeirAPIError) as caught:
        call()
    error = caught.value
    assert error.status_code == status, error.body
    assert error.body["status_code"] == status and error.message == error.body["message"]
    if code is not None:
        assert error.code == code
    return error


def type_name(uid: Callable[[str], str]) -> str:
    return uid("t").replace("-", "_")


def test_public_names() -> None:
    import weir.server

    assert sorted(weir.server.__all__) == [
        "AsyncClient", "Client", "RateLimit", "WebhookSignatureError", "WeirAPIError", "WeirResponse", "parse_webhook",
        "verify_webhook_signature",
    ]
    assert all(hasattr(weir.server, name) for name in weir.server.__all__)


def test_call_types_crud(client: Any, uid: Callable[[str], str]) -> None:
    name = type_name(uid)
    created = client.video.create_call_type(name, settings={"audio": {"mic_default_on": False}},
                                            grants={"user": ["join-call", "read-call"]})
    assert isinstance(created, WeirResponse) and created.status_code == 201
    assert created.data.name == name and created.data.settings.audio.mic_default_on is False
    assert created.data.grants["user"] == ["join-call", "read-call"]
    assert name in client.video.list_call_types().data.call_types
    updated = client.video.update_call_type(name, settings={"video": {"camera_facing": "back"}},
                                            notification_settings={"call_ring": {"enabled": False}})
    assert updated.data.settings.video.camera_facing == "back" and updated.data.settings.audio.mic_default_on is False
    assert client.video.get_call_type(name).data.notification_settings.call_ring.enabled is False
    client.video.delete_call_type(name)
    api_error(lambda: client.video.get_call_type(name), 404, ErrorCode.NOT_FOUND)


def test_errors_name_status_code_and_field(client: Any, uid: Callable[[str], str]) -> None:
    error = api_error(lambda: client.video.create_call_type(type_name(uid), settings={"video": {"enabled": "x"}}),
                      400, ErrorCode.INPUT_ERROR)
    assert "settings.video.enabled" in error.exception_fields
    assert "does not exist" in api_error(lambda: client.video.call("default", uid("c")).get(), 404).message
    assert api_error(lambda: client.video.delete_call_type("default"), 403).rate_limit() is None


def test_call_lifecycle(client: Any, uid: Callable[[str], str]) -> None:
    owner, member = uid("owner"), uid("m")
    call = client.video.call("default", uid("c"))
    starts_at = datetime.now(UTC) + timedelta(hours=1)
    created = call.get_or_create(data={
        "created_by_id": owner, "members": [{"user_id": owner, "role": "host"}, {"user_id": member}],
        "custom": {"topic": "sdk"}, "starts_at": starts_at,
        "settings_override": {"audio": {"mic_default_on": False}},
    }, members_limit=10)
    assert created.data.created is True and created.data.call.cid == call.cid
    assert created.data.call.created_by.id == owner and created.data.call.custom == {"topic": "sdk"}
    assert datetime.fromisoformat(created.data.call.starts_at) == starts_at
    assert created.data.call.settings.audio.mic_default_on is False
    assert {m.user_id: m.role for m in created.data.members} == {owner: "host", member: "call_member"}
    assert call.get_or_create().data.created is False
    assert call.get().data.call.custom == {"topic": "sdk"}
    updated = call.update(custom={"topic": "changed"}, settings_override={"video": {"camera_default_on": False}})
    assert updated.data.call.custom == {"topic": "changed"}
    assert updated.data.call.settings.video.camera_default_on is False
    call.end()
    assert call.get().data.call.ended_at is not None
    call.delete()
    api_error(call.get, 404, ErrorCode.NOT_FOUND)
    purged = call.delete(hard=True)
    assert purged.data.call.cid == call.cid and finished(client, purged.data.task_id).status == "completed"


def test_members_and_call_moderation(client: Any, uid: Callable[[str], str]) -> None:
    owner, alice, bob = uid("owner"), uid("alice"), uid("bob")
    call = client.video.call("default", uid("c"))
    call.get_or_create(data={"created_by_id": owner, "members": [{"user_id": alice}]})
    added = call.update_call_members(update_members=[{"user_id": bob, "role": "moderator"}], remove_members=[alice])
    assert [(m.user_id, m.role) for m in added.data.members] == [(bob, "moderator")]
    assert {m.user_id for m in call.get().data.members} == {bob}
    call.block_user(alice)
    assert call.get().data.call.blocked_user_ids == [alice]
    call.unblock_user(alice)
    call.kick_user(bob, block=True)
    assert call.get().data.call.blocked_user_ids == [bob]
    assert "creator" in api_error(lambda: call.block_user(owner), 400).message


def test_roles_grants_and_permissions(client: Any, uid: Callable[[str], str]) -> None:
    role, name = type_name(uid), type_name(uid)
    assert client.create_role(role).data.custom is True
    assert role in {r.name for r in client.list_roles().data.roles}
    client.video.create_call_type(name, grants={role: ["join-call", "read-call"]})
    api_error(lambda: client.delete_role(role), 409, ErrorCode.CONFLICT)
    client.video.delete_call_type(name)
    client.delete_role(role)
    assert role not in {r.name for r in client.list_roles().data.roles}
    assert "join-call" in {p.action for p in client.list_permissions().data.permissions}


def test_tokens_are_signed_with_the_secret(client: Any, server: RunningServer, uid: Callable[[str], str]) -> None:
    user = uid("u")
    claims = verify_token(server.api_secret, client.create_token(user, expiration=3600))
    assert claims.user_id == user and claims.call_cids is None
    allowed = client.video.call("default", uid("c"))
    allowed.get_or_create(data={"created_by_id": user})
    token = client.create_call_token(user, [allowed.cid], role="moderator", expiration=60)
    claims = verify_token(server.api_secret, token)
    assert claims.call_cids == (allowed.cid,) and claims.role == "moderator"
    with httpx.Client(base_url=server.base_url + "/api/v1", params={"api_key": server.api_key},
                      headers={"Authorization": token}) as user_http:
        assert user_http.get(f"/video/call/default/{allowed.id}").status_code == 200
        assert user_http.get(f"/video/call/default/{uid('c')}").status_code == 403


def test_users_upsert_update_query_deactivate_delete(client: Any, uid: Callable[[str], str]) -> None:
    a, b = uid("a"), uid("b")
    upserted = client.upsert_users(UserRequest(id=a, name="Ann", custom={"team": "red"}), {"id": b, "role": "admin"})
    assert set(upserted.data.users) == {a, b} and upserted.data.users[b].role == "admin"
    partial = client.update_users_partial({"id": a, "set": {"name": "Anne"}, "unset": ["custom"]})
    assert partial.data.users[a].name == "Anne" and partial.data.users[a].custom == {}
    found = client.query_users(filter_conditions={"id": {"$in": [a, b]}}, sort=[{"field": "id", "direction": 1}])
    assert [u.id for u in found.data.users] == sorted([a, b])
    assert client.deactivate_user(a).data.user.deactivated_at is not None
    client.reactivate_user(a)
    client.deactivate_users([a, b])
    assert client.query_users(filter_conditions={"id": {"$in": [a, b]}}).data.users == []
    hidden = client.query_users(filter_conditions={"id": {"$in": [a, b]}}, include_deactivated_users=True)
    assert all(u.deactivated_at is not None for u in hidden.data.users) and len(hidden.data.users) == 2
    client.reactivate_users([a, b])
    found = client.query_users(filter_conditions={"id": {"$in": [a, b]}}, sort=[{"field": "id", "direction": 1}],
                               offset=1)
    assert [u.id for u in found.data.users] == [max(a, b)] and found.data.users[0].deactivated_at is None
    assert finished(client, client.delete_users([b]).data.task_id).status == "completed"
    assert [u.id for u in client.query_users(filter_conditions={"id": {"$in": [a, b]}}).data.users] == [a]
    client.restore_users([b])
    exported = finished(client, client.export_users([a, b]).data.task_id)
    assert exported.status == "completed" and exported.result.users == 2 and exported.result.url
    assert finished(client, client.export_user(a).data.task_id).result.users == 1


def test_blocks_guests_and_bans(client: Any, uid: Callable[[str], str]) -> None:
    alice, bob = uid("alice"), uid("bob")
    client.upsert_users([{"id": alice}, {"id": bob}])
    client.block_users(bob, alice)
    assert [b.blocked_user_id for b in client.get_blocked_users(alice).data.blocks] == [bob]
    client.unblock_users(bob, alice)
    assert client.get_blocked_users(alice).data.blocks == []
    guest = client.create_guest({"id": uid("g"), "name": "Visitor"})
    assert guest.data.user.role == "guest" and guest.data.access_token
    client.ban(bob, banned_by_id=alice, reason="spam", timeout=30)
    banned = client.query_users(filter_conditions={"id": bob}).data.users[0]
    assert banned.banned is True and banned.ban_expires is not None
    error = api_error(lambda: client.video.call("default", uid("c")).get_or_create(data={"created_by_id": bob}), 403)
    assert error.code == ErrorCode.USER_BANNED
    client.unban(bob)
    assert client.query_users(filter_conditions={"id": bob}).data.users[0].banned is False


def test_query_calls_and_members_page_with_cursors(client: Any, uid: Callable[[str], str]) -> None:
    run, owner = uid("run"), uid("owner")
    cids = []
    for n in range(3):
        call = client.video.call("default", f"{run}-{n}")
        members = [{"user_id": owner, "role": "host"}] + [{"user_id": f"{run}-m{i}"} for i in range(n + 1)]
        call.get_or_create(data={"created_by_id": owner, "custom": {"run": run, "n": n}, "members": members})
        cids.append(call.cid)
    seen, cursor = [], None
    while True:
        page = client.video.query_calls(filter_conditions={"custom.run": run},
                                        sort=[{"field": "id", "direction": -1}], limit=2, next=cursor)
        seen += [c.call.cid for c in page.data.calls]
        cursor = page.data.get("next")
        if not cursor:
            break
    assert seen == cids[::-1]
    last = client.video.call(*cids[-1].split(":"))
    members = last.query_members(filter_conditions={"role": {"$eq": "call_member"}},
                                 sort=[{"field": "user_id", "direction": 1}], limit=2)
    assert [m.user_id for m in members.data.members] == [f"{run}-m0", f"{run}-m1"]
    rest = client.video.query_members(last.type, last.id, filter_conditions={"role": "call_member"},
                                      sort=[{"field": "user_id", "direction": 1}], next=members.data.next)
    assert [m.user_id for m in rest.data.members] == [f"{run}-m2"]


def test_configuration_from_environment_and_data_dir(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("WEIR_API_KEY", "WEIR_API_SECRET", "WEIR_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValueError, match="WEIR_API_KEY"):
        Client()
    (tmp_path / "credentials.json").write_text(json.dumps({"api_key": server.api_key,
                                                           "api_secret": server.api_secret}))
    with Client(base_url=server.base_url, data_dir=tmp_path) as from_file:
        assert "default" in from_file.video.list_call_types().data.call_types
    monkeypatch.setenv("WEIR_URL", server.base_url + "/")
    monkeypatch.setenv("WEIR_API_KEY", server.api_key)
    monkeypatch.setenv("WEIR_API_SECRET", server.api_secret)
    with Client() as from_env:
        assert from_env.base_url == server.base_url
        assert from_env.video.get_call_type("default").data.name == "default"
    with Client(api_secret="wrong-secret-" + uuid.uuid4().hex) as wrong:
        assert api_error(wrong.list_roles, 401).code == ErrorCode.TOKEN_SIGNATURE_INVALID


@pytest.fixture(scope="module")
def limited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A server with rate limiting on (the shared one has it off), on SQLite."""
    settings = Settings(host="127.0.0.1", port=free_port(), data_dir=tmp_path_factory.mktemp("weir-limited"),
                        api_key="limited-key", api_secret="limited-secret-" + uuid.uuid4().hex)
    uv, thread = start_server(settings)
    try:
        yield settings
    finally:
        uv.should_exit = True
        thread.join(timeout=10)


def test_rate_limit_headers_are_parsed(limited_server: Settings, server: RunningServer) -> None:
    url = f"http://{limited_server.host}:{limited_server.port}"
    with Client(limited_server.api_key, limited_server.api_secret, url) as client:
        first = client.video.list_call_types().rate_limit()
        second = client.video.list_call_types().rate_limit()
    assert first is not None and second is not None
    assert first.limit == 300 and second.remaining < first.remaining
    assert first.reset > datetime.now(UTC) - timedelta(seconds=1)
    with Client(server.api_key, server.api_secret, server.base_url) as unlimited:
        assert unlimited.list_roles().rate_limit() is None


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_429_is_retried_once_the_window_resets(kind: str, limited_server: Settings) -> None:
    url = f"http://{limited_server.host}:{limited_server.port}"
    key, secret = limited_server.api_key or "", limited_server.api_secret or ""
    with open_client(kind, key, secret, url) as patient, open_client(kind, key, secret, url, max_retries=0) as eager:
        calls = [patient.video.call("default", f"burst-{uuid.uuid4().hex[:8]}") for _ in range(12)]
        for call in calls:
            call.get_or_create(data={"created_by_id": "owner"})
        # DeleteCall allows 60 a minute, so 2 a second: a burst of 8 without retries is refused…
        refused = []
        for call in calls[:8]:
            try:
                eager.video.call(call.type, call.id).delete(hard=True)
            except WeirAPIError as error:
                refused.append(error)
        assert refused and refused[0].status_code == 429 and refused[0].code == ErrorCode.RATE_LIMITED
        limit = refused[0].rate_limit()
        assert limit is not None and limit.remaining == 0
        # …while the patient client waits for each window to reset and gets every delete through.
        for call in calls[8:]:
            assert call.delete(hard=True).status_code == 200


def test_app_settings_devices_and_push_providers(client: Any, uid: Callable[[str], str]) -> None:
    hook = {"id": uid("hook"), "webhook_url": "http://127.0.0.1:9/hook", "event_types": ["call.created"]}
    updated = client.update_app(event_hooks=[hook])
    assert [h["id"] for h in updated.data["app"]["event_hooks"]] == [hook["id"]]
    assert client.get_app().data["app"]["event_hooks"][0]["event_types"] == ["call.created"]
    client.update_app(event_hooks=[])

    user_id = uid("pushy")
    client.upsert_users({"id": user_id})
    provider = uid("fcm")
    credentials, _ = service_account("http://127.0.0.1:9/token")
    client.upsert_push_provider({"name": provider, "type": "firebase", "firebase_credentials": credentials})
    assert provider in {p["name"] for p in client.list_push_providers().data["push_providers"]}
    client.create_device("token-" + uid("d"), "firebase", user_id, push_provider_name=provider)
    devices = client.list_devices(user_id).data["devices"]
    assert len(devices) == 1 and devices[0]["push_provider_name"] == provider
    client.delete_device(devices[0]["id"], user_id)
    assert client.list_devices(user_id).data["devices"] == []
    client.delete_push_provider("firebase", provider)


def test_call_lifecycle_operations(client: Any, uid: Callable[[str], str]) -> None:
    host, guest = uid("host"), uid("guest")
    call = client.video.call("livestream", uid("live"))
    call.get_or_create(data={"created_by_id": host, "members": [{"user_id": host}, {"user_id": guest}]})
    assert call.get().data.call.backstage is True
    call.go_live()
    assert call.get().data.call.backstage is False
    call.stop_live()
    assert call.get().data.call.backstage is True
    assert call.ring(user_ids=[guest]).data["members_ids"] == [guest]
    call.send_call_event(host, {"kind": "hello"})
    call.update_user_permissions(guest, grant_permissions=["send-audio"])
    call.mute_users(host, user_ids=[guest], audio=True)
    api_error(lambda: call.update_user_permissions(guest, grant_permissions=["fly"]), 400, ErrorCode.INPUT_ERROR)


def test_webhook_signatures(client: Any, server: RunningServer) -> None:
    body = json.dumps({"type": "custom", "created_at": "2026-01-01T00:00:00Z", "call_cid": "default:x",
                       "custom": {}, "user": {"id": "u", "role": "user", "created_at": "2026-01-01T00:00:00Z",
                                              "updated_at": "2026-01-01T00:00:00Z"}}).encode()
    signature = hmac.new(server.api_secret.encode(), body, hashlib.sha256).hexdigest()
    assert client.verify_signature(body, signature) is True
    assert client.verify_signature(body + b" ", signature) is False
    assert client.verify_and_parse_webhook(body, signature).type == "custom"


def test_get_rate_limits(client: Any) -> None:
    limits = client.get_rate_limits(server_side=True, endpoints=["QueryCalls"]).data
    assert limits["server_side"]["QueryCalls"]["limit"] == 1000 and "web" not in limits
