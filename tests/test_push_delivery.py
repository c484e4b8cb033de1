"""Push dispatch and delivery, end to end: events written to the outbox in their transaction, the running
server's worker sending them to local FCM and APNs stand-ins that check what Google and Apple check.

Ringing is built elsewhere, so these tests emit the push events themselves, through the same ``EventEmitter``
and push sink the server uses, in a transaction on the server's database.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from secrets import token_hex
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from starlette.responses import HTMLResponse

from tests.conftest import RunningServer
from tests.push_fakes import FakeAPNs, FakeFCM, ThreadedServer, apns_key, pem, service_account
from weir.bus import InMemoryBus
from weir.coordinator.events import EventEmitter
from weir.domain.clock import now
from weir.protocol import events as ev
from weir.push.dispatcher import PushDispatcher
from weir.push.worker import MAX_ATTEMPTS
from weir.store.db import Database
from weir.store.tables import PushDeliveryRow

TOPIC = "org.weir.app"


@pytest.fixture(scope="module")
def fcm() -> Iterator[FakeFCM]:
    fake = FakeFCM()
    fake.server.start()
    yield fake
    fake.server.stop()


@pytest.fixture(scope="module")
def apns() -> Iterator[FakeAPNs]:
    fake = FakeAPNs(apns_key(), key_id="KEY1234567", team_id="TEAM765432", topic=TOPIC)
    fake.server.start()
    yield fake
    fake.server.stop()


@pytest.fixture
async def db(server: RunningServer) -> AsyncIterator[Database]:
    database = Database(server.database_url)
    yield database
    await database.close()


@dataclass
class Providers:
    firebase: str
    apn: str
    firebase_account: str  # its client_email


@pytest.fixture
def providers(api: httpx.Client, uid: Callable[[str], str], fcm: FakeFCM, apns: FakeAPNs) -> Providers:
    account, key = service_account(fcm.token_uri, project_id=uid("project"))
    names = Providers(uid("fcm"), uid("apn"), json.loads(account)["client_email"])
    fcm.add_account(account, key)
    created = [
        api.post("/push_providers", json={"push_provider": {
            "name": names.firebase, "type": "firebase", "firebase_credentials": account,
            "firebase_host": fcm.server.url}}),
        api.post("/push_providers", json={"push_provider": {
            "name": names.apn, "type": "apn", "apn_key": pem(apns.key), "apn_key_id": apns.key_id,
            "apn_team_id": apns.team_id, "apn_topic": TOPIC, "apn_host": apns.url}}),
    ]
    assert [r.status_code for r in created] == [201, 201], [r.text for r in created]
    return names


def make_users(api: httpx.Client, **names: str) -> dict[str, dict]:
    response = api.post("/users", json={"users": {i: {"id": i, "name": n} for i, n in names.items()}})
    assert response.status_code == 200, response.text
    return response.json()["users"]


def add_device(api: httpx.Client, user_id: str, token: str, provider: str, kind: str, voip: bool = False) -> None:
    body = {"id": token, "push_provider": kind, "push_provider_name": provider, "user_id": user_id,
            "voip_token": voip}
    response = api.post("/devices", json=body)
    assert response.status_code == 201, response.text


def create_call(api: httpx.Client, call_id: str, caller: str, members: list[str], call_type: str = "default",
                custom: dict | None = None) -> dict:
    body = {"data": {"created_by_id": caller, "custom": custom or {},
                     "members": [{"user_id": m} for m in [caller, *members]]}}
    response = api.post(f"/video/call/{call_type}/{call_id}", json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def emit(db: Database, event: ev.Event) -> None:
    """Emit ``event`` as the server does: the push sink writes the outbox inside the transaction."""
    emitter = EventEmitter(InMemoryBus())
    emitter.sinks.append(PushDispatcher())
    async with db.transaction() as session:
        await emitter.emit(session, event, call_cid=event.call_cid, to_members=False)  # type: ignore[attr-defined]


def ring(state: dict, caller: dict, callees: list[str], video: bool = True) -> ev.CallRingEvent:
    return ev.CallRingEvent(created_at=now(), call_cid=state["call"]["cid"], call=state["call"],
                            members=[m for m in state["members"] if m["user_id"] in callees],
                            session_id="s1", user=caller, video=video)


def notification(state: dict, caller: dict, targets: list[str]) -> ev.CallNotificationEvent:
    return ev.CallNotificationEvent(created_at=now(), call_cid=state["call"]["cid"], call=state["call"],
                                    members=[m for m in state["members"] if m["user_id"] in targets],
                                    session_id="s1", user=caller)


async def deliveries(db: Database, *device_ids: str) -> list[PushDeliveryRow]:
    async with db.read() as session:
        rows = await session.scalars(select(PushDeliveryRow).where(PushDeliveryRow.device_id.in_(device_ids)))
        return list(rows.all())


async def eventually(check: Callable[[], object], what: str) -> object:
    """Wait (at most 30 s) until ``check()`` (or what it awaits) is truthy; the worker runs on its own schedule."""
    for _ in range(600):
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def fcm_to(fcm: FakeFCM, token: str) -> list[dict]:
    return [m for m in fcm.messages if m["token"] == token]


def apns_to(apns: FakeAPNs, token: str) -> list[dict]:
    return [p for p in apns.pushes if p["token"] == token]


async def test_ring_and_notification_reach_firebase_and_apns(
    api: httpx.Client, uid: Callable[[str], str], db: Database, providers: Providers, fcm: FakeFCM, apns: FakeAPNs,
) -> None:
    carl, bob = uid("carl"), uid("bob")
    users = make_users(api, **{carl: "Carl <Caller>", bob: "Bob"})
    # APNs tokens of their own: the fake APNs serves the module, both databases' runs of this test included
    fcm_token, alert_token, voip_token, caller_token = uid("fcm"), token_hex(32), token_hex(32), uid("fcm")
    add_device(api, bob, fcm_token, providers.firebase, "firebase")
    add_device(api, bob, alert_token, providers.apn, "apn")
    add_device(api, bob, voip_token, providers.apn, "apn", voip=True)
    add_device(api, carl, caller_token, providers.firebase, "firebase")
    state = create_call(api, uid("call"), carl, [bob], custom={"name": "Standup", "title": "ignored"})
    cid = state["call"]["cid"]

    await emit(db, ring(state, users[carl], [bob]))
    [message] = await eventually(lambda: fcm_to(fcm, fcm_token), "the FCM ring")  # type: ignore[misc]
    assert message["data"] == {
        "sender": "stream.video", "type": "call.ring", "call_cid": cid, "call_type": "default",
        "call_id": state["call"]["id"], "call_display_name": "Standup", "created_by_id": carl,
        "created_by_display_name": "Carl <Caller>", "video": "true", "receiver_id": bob,
    }
    assert message["android"]["priority"] == "high"
    [push] = await eventually(lambda: apns_to(apns, voip_token), "the VoIP ring")  # type: ignore[misc]
    assert push["headers"]["apns-push-type"] == "voip" and push["headers"]["apns-topic"] == TOPIC + ".voip"
    assert push["headers"]["apns-priority"] == "10"
    assert push["body"]["aps"]["alert"] == {"title": "Carl &lt;Caller&gt; calls you",
                                            "body": "Carl &lt;Caller&gt; is calling"}
    assert push["body"]["stream"] == message["data"]
    ring_rows = {r.device_id: r for r in await deliveries(db, fcm_token, alert_token, voip_token, caller_token)}
    assert set(ring_rows) == {fcm_token, voip_token}, "no ring to the standard token beside a VoIP one, or the caller"

    await emit(db, notification(state, users[carl], [bob]))
    [alert] = await eventually(lambda: apns_to(apns, alert_token), "the APNs notification")  # type: ignore[misc]
    assert alert["headers"]["apns-push-type"] == "alert" and alert["headers"]["apns-topic"] == TOPIC
    assert (alert["body"]["stream"]["type"], alert["body"]["stream"]["sender"]) == ("call.notification", "stream.video")
    assert alert["body"]["aps"]["alert"]["title"] == "Carl &lt;Caller&gt; calls you"
    assert (await eventually(lambda: len(fcm_to(fcm, fcm_token)) == 2, "the FCM notification"))
    assert fcm_to(fcm, fcm_token)[1]["data"]["type"] == "call.notification"
    assert len(apns_to(apns, voip_token)) == 1, "VoIP tokens get rings only"
    async def all_delivered() -> bool:
        rows = await deliveries(db, fcm_token, alert_token, voip_token)
        return len(rows) == 4 and all(r.status == "delivered" for r in rows)

    assert await eventually(all_delivered, "the four deliveries to be recorded")
    assert fcm.grants[providers.firebase_account] == 1, "the access token is reused"


async def test_disabled_provider_event_or_blocking_sends_nothing(
    api: httpx.Client, uid: Callable[[str], str], db: Database, providers: Providers,
) -> None:
    carl, bob, dora, eve = uid("carl"), uid("bob"), uid("dora"), uid("eve")
    users = make_users(api, **{carl: "Carl", bob: "Bob", dora: "Dora", eve: "Eve"})
    off = uid("off")
    account, _ = service_account("http://127.0.0.1:9/token")
    response = api.post("/push_providers", json={"push_provider": {
        "name": off, "type": "firebase", "firebase_credentials": account, "enabled": False}})
    assert response.status_code == 201, response.text
    add_device(api, bob, "bob-" + bob, off, "firebase")
    add_device(api, dora, "dora-" + dora, providers.firebase, "firebase")
    add_device(api, eve, "eve-" + eve, providers.firebase, "firebase")
    assert api.post("/users/block", json={"user_id": eve, "blocked_user_id": carl}).status_code == 200
    call_type = uid("quiet").lower()
    created = api.post("/video/calltypes", json={"name": call_type, "notification_settings": {
        "call_notification": {"enabled": False}}})
    assert created.status_code == 201, created.text

    quiet = create_call(api, uid("call"), carl, [dora], call_type=call_type)
    await emit(db, notification(quiet, users[carl], [dora]))
    assert await deliveries(db, "dora-" + dora) == [], "the call type switched call_notification off"

    state = create_call(api, uid("call"), carl, [bob, dora, eve])
    await emit(db, ring(state, users[carl], [bob, dora, eve]))
    assert [r.device_id for r in await deliveries(db, "bob-" + bob, "dora-" + dora, "eve-" + eve)] == [
        "dora-" + dora], "bob's provider is disabled and eve blocked the caller"


async def test_dead_tokens_disable_their_devices(
    api: httpx.Client, uid: Callable[[str], str], db: Database, providers: Providers, fcm: FakeFCM, apns: FakeAPNs,
) -> None:
    carl, bob = uid("carl"), uid("bob")
    users = make_users(api, **{carl: "Carl", bob: "Bob"})
    apn_token, fcm_token = "ef" * 32, uid("gone")
    apns.unregistered.add(apn_token)
    fcm.unregistered.add(fcm_token)
    add_device(api, bob, apn_token, providers.apn, "apn")
    add_device(api, bob, fcm_token, providers.firebase, "firebase")
    state = create_call(api, uid("call"), carl, [bob])
    await emit(db, notification(state, users[carl], [bob]))

    def disabled() -> dict[str, str]:
        devices = api.get("/devices", params={"user_id": bob}).json()["devices"]
        return {d["id"]: d["disabled_reason"] for d in devices if d["disabled"]}

    reasons = await eventually(lambda: len(disabled()) == 2 and disabled(), "both devices to be disabled")
    assert "410 Unregistered" in reasons[apn_token] and "UNREGISTERED" in reasons[fcm_token]  # type: ignore[index]

    async def both_failed() -> bool:
        return [r.status for r in await deliveries(db, apn_token, fcm_token)] == ["failed", "failed"]

    assert await eventually(both_failed, "the failures to be recorded")
    await emit(db, notification(state, users[carl], [bob]))
    assert len(await deliveries(db, apn_token, fcm_token)) == 2, "disabled devices get nothing more"


async def test_provider_errors_are_retried(
    api: httpx.Client, uid: Callable[[str], str], db: Database, providers: Providers, fcm: FakeFCM,
) -> None:
    carl, bob = uid("carl"), uid("bob")
    users = make_users(api, **{carl: "Carl", bob: "Bob"})
    token = uid("flaky")
    fcm.flaky[token] = 2
    add_device(api, bob, token, providers.firebase, "firebase")
    state = create_call(api, uid("call"), carl, [bob])
    await emit(db, ring(state, users[carl], [bob], video=False))
    [message] = await eventually(lambda: fcm_to(fcm, token), "the retried push")  # type: ignore[misc]
    assert message["data"]["video"] == "false"

    async def delivered() -> list[PushDeliveryRow]:
        return [r for r in await deliveries(db, token) if r.status == "delivered"]

    [row] = await eventually(delivered, "the delivery to be recorded")  # type: ignore[misc]
    assert row.attempts == 3 and row.last_error is None


async def test_an_answer_that_is_not_json_fails_by_the_retry_policy(
    api: httpx.Client, uid: Callable[[str], str], db: Database,
) -> None:
    """A provider (here Firebase's token endpoint) answering HTML: the row records why, is retried with backoff,
    and after the last attempt ends as failed (it used to be re-sent forever, a traceback each time)."""
    async def html(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await HTMLResponse("<html>maintenance</html>")(scope, receive, send)

    portal = ThreadedServer(html).start()
    try:
        account, _ = service_account(portal.url + "/token")
        name, carl, bob = uid("html"), uid("carl"), uid("bob")
        response = api.post("/push_providers", json={"push_provider": {
            "name": name, "type": "firebase", "firebase_credentials": account, "firebase_host": portal.url}})
        assert response.status_code == 201, response.text
        users = make_users(api, **{carl: "Carl", bob: "Bob"})
        token = uid("html-device")
        add_device(api, bob, token, name, "firebase")
        state = create_call(api, uid("call"), carl, [bob])
        await emit(db, ring(state, users[carl], [bob]))

        async def retrying() -> list[PushDeliveryRow]:
            return [r for r in await deliveries(db, token) if "unreadable answer" in (r.last_error or "")]

        [row] = await eventually(retrying, "the first attempt's error")  # type: ignore[misc]
        assert row.status == "pending" and row.next_attempt_at > row.created_at, "retried later, with backoff"
        async with db.transaction() as session:  # skip the backoff to the last attempt
            await session.execute(update(PushDeliveryRow).where(PushDeliveryRow.id == row.id).values(
                attempts=MAX_ATTEMPTS - 1, next_attempt_at=now()))

        async def failed() -> list[PushDeliveryRow]:
            return [r for r in await deliveries(db, token) if r.status == "failed"]

        [row] = await eventually(failed, "the delivery to fail")  # type: ignore[misc]
        assert row.attempts == MAX_ATTEMPTS and "unreadable answer" in (row.last_error or "")
    finally:
        portal.stop()
