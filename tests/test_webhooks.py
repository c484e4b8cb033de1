"""Webhooks: app settings, signed deliveries with retries, per-endpoint filters, and the durable outbox.

Receivers are real HTTP servers on 127.0.0.1 that check the signature of every request, as a user's would.
The restart test runs ``weir serve`` as a subprocess and SIGKILLs it while deliveries are in flight.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import ROOT, RunningServer, assert_error, free_port, fresh_postgres_database
from weir.domain.tokens import create_token
from weir.protocol.app_settings import LEGACY_HOOK_ID, EventHookRequest, UpdateAppRequest
from weir.protocol.errors import APIError, ErrorCode
from weir.protocol.events import CallStatsReportReadyEvent
from weir.sealing import Sealer
from weir.server.webhook import (
    WebhookSignatureError,
    parse_webhook,
    verify_and_parse_webhook,
    verify_webhook_signature,
)
from weir.webhooks.config import updated_hooks
from weir.webhooks.policy import Outcome, RetryPolicy
from weir.webhooks.signature import sign

WAIT_SECONDS = 30
HOLD_SECONDS = 60


# --- a receiver ---------------------------------------------------------------------------------------------
@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    answer: int = 0

    @property
    def webhook_id(self) -> str:
        return self.headers["x-webhook-id"]

    @property
    def attempt(self) -> int:
        return int(self.headers["x-webhook-attempt"])

    @property
    def event(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A webhook endpoint: the n-th request of a webhook id gets ``statuses[n]`` (then ``default``).

    A bad signature gets 401. While ``hold`` is set, requests wait (until ``release``) before answering.
    """

    api_secret: str
    statuses: tuple[int, ...] = ()
    default: int = 200
    hold: bool = False
    received: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                if len(body) < length:  # the sender died mid-request (a killed server): no delivery
                    return
                item = Received({k.lower(): v for k, v in self.headers.items()}, body)
                receiver.received.append(item)
                if receiver.hold:
                    receiver.release.wait(HOLD_SECONDS)
                item.answer = receiver.answer_for(item)
                self.send_response(item.answer)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def answer_for(self, item: Received) -> int:
        if not verify_webhook_signature(item.body, item.headers.get("x-signature", ""), self.api_secret):
            return 401
        earlier = sum(1 for r in self.received if r.headers.get("x-webhook-id") == item.headers.get("x-webhook-id"))
        return self.statuses[earlier - 1] if earlier <= len(self.statuses) else self.default

    def about(self, call_cid: str) -> list[Received]:
        return [r for r in list(self.received) if r.event.get("call_cid") == call_cid]

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def wait_until(condition: Callable[[], object], what: str, seconds: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def receiver(server: RunningServer) -> Iterator[Callable[..., Receiver]]:
    made: list[Receiver] = []

    def make(**options: object) -> Receiver:
        made.append(Receiver(server.api_secret, **options))  # type: ignore[arg-type]
        return made[-1]

    yield make
    for item in made:
        item.close()


@pytest.fixture
def hooks(api: httpx.Client) -> Iterator[Callable[..., list[dict]]]:
    """``hooks({...}, {...})`` sets the app's endpoints; they are cleared after the test."""

    def set_hooks(*endpoints: dict) -> list[dict]:
        response = api.patch("/app", json={"event_hooks": list(endpoints)})
        assert response.status_code == 200, response.text
        return response.json()["app"]["event_hooks"]

    yield set_hooks
    assert api.patch("/app", json={"event_hooks": []}).status_code == 200


def create_call(api: httpx.Client, call_id: str) -> str:
    response = api.post(f"/video/call/default/{call_id}", json={"data": {"created_by_id": "webhook-owner"}})
    assert response.status_code == 200, response.text
    return f"default:{call_id}"


# --- delivery -----------------------------------------------------------------------------------------------
def test_500_twice_then_200_is_three_signed_attempts_with_one_id(
    server: RunningServer, api: httpx.Client, hooks: Callable[..., list[dict]], receiver: Callable[..., Receiver],
    uid: Callable[[str], str],
) -> None:
    hook = receiver(statuses=(500, 500))
    hooks({"webhook_url": hook.url, "event_types": ["call.created"]})
    cid = create_call(api, uid("wh"))
    wait_until(lambda: any(r.answer == 200 for r in hook.about(cid)), "the delivery to succeed")
    got = hook.about(cid)
    assert [r.answer for r in got] == [500, 500, 200]
    assert [r.attempt for r in got] == [1, 2, 3]
    assert len({r.webhook_id for r in got}) == 1
    for r in got:
        assert r.headers["x-api-key"] == server.api_key
        assert r.headers["content-type"] == "application/json"
        assert r.headers["x-signature"] == sign(r.body, server.api_secret)
        assert r.body == got[0].body
    event = got[0].event
    assert event["type"] == "call.created" and event["call_cid"] == cid and event["call"]["cid"] == cid
    assert [m["user_id"] for m in event["members"]] == []


def test_each_endpoint_has_its_own_filter(
    api: httpx.Client, hooks: Callable[..., list[dict]], receiver: Callable[..., Receiver], uid: Callable[[str], str],
) -> None:
    everything, updates, disabled = receiver(), receiver(), receiver()
    hooks({"webhook_url": everything.url},
          {"webhook_url": updates.url, "event_types": ["call.updated"]},
          {"webhook_url": disabled.url, "enabled": False})
    call_id = uid("wh")
    cid = create_call(api, call_id)
    assert api.patch(f"/video/call/default/{call_id}", json={"custom": {"x": 1}}).status_code == 200
    wait_until(lambda: {"call.created", "call.updated"} <= {r.event["type"] for r in everything.about(cid)},
               "every event at the catch-all endpoint")
    wait_until(lambda: updates.about(cid), "call.updated at the filtered endpoint")
    assert [r.event["type"] for r in updates.about(cid)] == ["call.updated"]
    assert disabled.about(cid) == []


def test_other_4xx_is_not_retried(
    api: httpx.Client, hooks: Callable[..., list[dict]], receiver: Callable[..., Receiver], uid: Callable[[str], str],
) -> None:
    gone, flaky = receiver(default=404), receiver(statuses=(500, 500))
    hooks({"webhook_url": gone.url, "event_types": ["call.created"]},
          {"webhook_url": flaky.url, "event_types": ["call.created"]})
    cid = create_call(api, uid("wh"))
    # the flaky endpoint's third attempt comes after both retry delays: a retry of the 404 would be in by then
    wait_until(lambda: len(flaky.about(cid)) == 3 and gone.about(cid), "both endpoints to be tried")
    assert [(r.attempt, r.answer) for r in gone.about(cid)] == [(1, 404)]


@pytest.mark.serial  # its retries must fit the endpoint's 15 s budget: a parallel run's busy shared server stalled it
def test_timeouts_are_retried_within_the_endpoint_timeout(
    api: httpx.Client, hooks: Callable[..., list[dict]], receiver: Callable[..., Receiver], uid: Callable[[str], str],
) -> None:
    stuck = receiver(hold=True)
    hooks({"webhook_url": stuck.url, "event_types": ["call.created"], "timeout_ms": 200})
    cid = create_call(api, uid("wh"))
    wait_until(lambda: len(stuck.about(cid)) == 3, "three attempts")
    assert [r.attempt for r in stuck.about(cid)] == [1, 2, 3]


def test_a_slow_endpoint_does_not_hold_up_the_others(
    api: httpx.Client, hooks: Callable[..., list[dict]], receiver: Callable[..., Receiver], uid: Callable[[str], str],
) -> None:
    slow, fast = receiver(hold=True), receiver()
    hooks({"webhook_url": slow.url, "event_types": ["call.created"]},
          {"webhook_url": fast.url, "event_types": ["call.created"]})
    cids = [create_call(api, uid("wh")) for _ in range(6)]
    wait_until(lambda: all(fast.about(cid) for cid in cids), "every event at the fast endpoint")
    assert all(r.attempt == 1 for r in slow.received), "the fast endpoint waited for the slow one's timeouts"


# --- app settings -------------------------------------------------------------------------------------------
def test_app_settings_round_trip(api: httpx.Client, hooks: Callable[..., list[dict]]) -> None:
    stored = hooks({"id": "main", "webhook_url": "https://example.com/hook", "event_types": ["call.ended"],
                    "timeout_ms": 2500},
                   {"webhook_url": "http://127.0.0.1:9/other"})
    shown = {k: v for k, v in stored[0].items() if not k.startswith(("sqs_", "sns_"))}  # (None on a webhook)
    assert shown | {"created_at": None, "updated_at": None} == {
        "id": "main", "hook_type": "webhook", "webhook_url": "https://example.com/hook", "enabled": True,
        "event_types": ["call.ended"], "timeout_ms": 2500, "created_at": None, "updated_at": None}
    assert len(stored[1]["id"]) == 32 and stored[1]["event_types"] == []
    got = api.get("/app")
    assert got.status_code == 200
    assert got.json()["app"]["event_hooks"] == stored
    again = hooks({"id": "main", "webhook_url": "https://example.com/new"})
    assert again[0]["created_at"] == stored[0]["created_at"] and again[0]["event_types"] == []


def test_single_url_fields_edit_the_default_endpoint(api: httpx.Client, hooks: Callable[..., list[dict]]) -> None:
    hooks({"id": "other", "webhook_url": "https://example.com/other"})
    response = api.patch("/app", json={"webhook_url": "https://example.com/one", "webhook_events": ["call.ended"]})
    assert response.status_code == 200, response.text
    app = response.json()["app"]
    assert app["webhook_url"] == "https://example.com/one" and app["webhook_events"] == ["call.ended"]
    assert [hook["id"] for hook in app["event_hooks"]] == ["other", LEGACY_HOOK_ID]
    app = api.patch("/app", json={"webhook_events": []}).json()["app"]
    assert app["webhook_url"] == "https://example.com/one" and app["webhook_events"] == []
    app = api.patch("/app", json={"webhook_url": ""}).json()["app"]
    assert app["webhook_url"] is None and [hook["id"] for hook in app["event_hooks"]] == ["other"]


@pytest.mark.parametrize(("body", "bad_field"), [
    ({"event_hooks": [{"webhook_url": "ftp://example.com/x"}]}, "event_hooks.0.webhook_url"),
    ({"event_hooks": [{"webhook_url": "example.com/x"}]}, "event_hooks.0.webhook_url"),
    ({"event_hooks": [{"webhook_url": "https://x.io", "event_types": ["call.nope"]}]}, "event_hooks.0.event_types"),
    ({"event_hooks": [{"webhook_url": "https://x.io", "hook_type": "kafka"}]}, "event_hooks.0.hook_type"),
    ({"event_hooks": [{"webhook_url": "https://x.io", "hook_type": "sqs"}]}, "event_hooks.0"),
    ({"event_hooks": [{"hook_type": "sqs", "sqs_queue_url": "https://evil.example/1/q", "sqs_key": "k",
                       "sqs_secret": "s"}]}, "event_hooks.0.sqs_queue_url"),
    ({"event_hooks": [{"hook_type": "sqs", "sqs_queue_url": "https://sqs.eu-west-1.amazonaws.com/1/q",
                       "sqs_key": "k"}]}, "event_hooks.0.sqs_secret"),
    ({"event_hooks": [{"webhook_url": "https://x.io", "timeout_ms": 7000}]}, "event_hooks.0.timeout_ms"),
    ({"event_hooks": [{"webhook_url": "https://x.io", "colour": "red"}]}, "event_hooks.0.colour"),
    ({"event_hooks": [{"id": "a", "webhook_url": "https://x.io"}] * 2}, "event_hooks"),
    ({"event_hooks": [{"webhook_url": "https://x.io"}] * 11}, "event_hooks"),
    ({"event_hooks": [], "webhook_url": "https://x.io"}, "webhook_url"),
    ({"webhook_url": "javascript:alert(1)"}, "webhook_url"),
    ({"webhook_events": ["call.nope"]}, "webhook_events"),
    ({"webhook_events": ["call.ended"]}, "webhook_events"),  # there is no 'default' endpoint to edit
    ({"colour": "red"}, "colour"),
])
def test_bad_app_settings_are_refused_and_change_nothing(
    api: httpx.Client, hooks: Callable[..., list[dict]], body: dict, bad_field: str,
) -> None:
    before = hooks({"id": "keep", "webhook_url": "https://example.com/keep"})
    error = assert_error(api.patch("/app", json=body), 400, ErrorCode.INPUT_ERROR)
    assert bad_field in error["exception_fields"], error
    assert api.get("/app").json()["app"]["event_hooks"] == before


def test_app_settings_are_server_only(user_api: Callable[..., httpx.Client], uid: Callable[[str], str]) -> None:
    user = user_api(uid("u"))
    assert_error(user.get("/app"), 403)
    assert_error(user.patch("/app", json={"event_hooks": []}), 403)


# --- the example receiver -----------------------------------------------------------------------------------
def test_example_receiver_verifies_and_prints_events(
    server: RunningServer, api: httpx.Client, hooks: Callable[..., list[dict]], uid: Callable[[str], str],
) -> None:
    port = free_port()
    env = {**os.environ, "WEIR_API_SECRET": server.api_secret, "PYTHONUNBUFFERED": "1"}
    demo = subprocess.Popen([sys.executable, str(ROOT / "examples" / "webhook_receiver.py"), "--port", str(port)],
                            env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert demo.stdout is not None
        assert "listening" in demo.stdout.readline()
        url = f"http://127.0.0.1:{port}/"
        forged = httpx.post(url, content=b'{"type":"custom"}', headers={"X-SIGNATURE": "00" * 32})
        assert forged.status_code == 401
        hooks({"webhook_url": url, "event_types": ["call.created"]})
        cid = create_call(api, uid("wh"))
        line = demo.stdout.readline()
        assert "call.created" in line and cid in line and "attempt 1" in line, line
    finally:
        demo.terminate()
        demo.wait(timeout=10)
        demo.stdout.close()  # else left to the garbage collector: an unraisable ResourceWarning


# --- durability: SIGKILL mid-delivery -----------------------------------------------------------------------
class WeirProcess:
    """``weir serve`` in a subprocess, so it can be killed for real."""

    def __init__(self, data_dir: Path, database_url: str | None, env: dict[str, str]) -> None:
        self.port = free_port()
        args = [str(ROOT / ".venv" / "bin" / "weir"), "serve", "--host", "127.0.0.1", "--port", str(self.port),
                "--data-dir", str(data_dir), "--log-level", "warning"]
        if database_url:
            args += ["--database-url", database_url]
        self.process = subprocess.Popen(args, env={**os.environ, **env}, stdout=subprocess.DEVNULL)
        self.api = httpx.Client(base_url=f"http://127.0.0.1:{self.port}/api/v1", timeout=30,
                                params={"api_key": env["WEIR_API_KEY"]})
        try:
            wait_until(self._up, "weir serve to start", 90)  # a cold start of a subprocess on loaded shared cores
        except BaseException:  # a server that never answered is not left running (nor its coturn child)
            self.process.terminate()
            self.process.wait(timeout=30)
            self.api.close()
            raise

    def _up(self) -> bool:
        assert self.process.poll() is None, "weir serve exited"
        try:
            return self.api.get("/health").status_code == 200
        except httpx.TransportError:
            return False

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.api.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_deliveries_survive_a_killed_server(tmp_path: Path, backend: str) -> None:
    secret = "kill-secret-" + "x" * 32
    env = {"WEIR_API_KEY": "kill-key", "WEIR_API_SECRET": secret, "WEIR_WEBHOOK_REQUEST_TIMEOUT_SECONDS": "3",
           "WEIR_WEBHOOK_TOTAL_TIMEOUT_SECONDS": "4", "WEIR_RATE_LIMITS_ENABLED": "false",
           "WEIR_ALLOW_PRIVATE_DESTINATIONS": "true"}  # the receiver is on loopback
    database_url, drop = fresh_postgres_database() if backend == "postgres" else (None, lambda: None)
    hook = Receiver(secret, hold=True)
    first = WeirProcess(tmp_path, database_url, env)
    try:
        headers = {"Authorization": f"Bearer {create_token(secret)}"}
        response = first.api.patch("/app", headers=headers,
                                   json={"event_hooks": [{"webhook_url": hook.url, "event_types": ["call.created"]}]})
        assert response.status_code == 200, response.text
        cids = []
        for n in range(4):
            created = first.api.post(f"/video/call/default/kill-{n}", headers=headers,
                                     json={"data": {"created_by_id": "owner"}})
            assert created.status_code == 200, created.text
            cids.append(f"default:kill-{n}")
        wait_until(lambda: hook.received, "a delivery in flight")
        first.kill()
        before = len(hook.received)  # requests from here on come from the restarted server
        hook.hold = False
        hook.release.set()

        def after_restart(cid: str) -> list[Received]:
            return [r for r in hook.received[before:] if r.event["call_cid"] == cid]

        second = WeirProcess(tmp_path, database_url, env)
        try:
            wait_until(lambda: all(any(r.answer == 200 for r in after_restart(cid)) for cid in cids),
                       "every event delivered after the restart")
        finally:
            second.kill()
        for cid in cids:
            got = hook.about(cid)
            assert len({r.webhook_id for r in got}) == 1, "the webhook id changed"
            attempts = [r.attempt for r in got]
            # An attempt is numbered before it is sent, so one cut short by the kill leaves a gap, never a repeat.
            assert attempts == sorted(set(attempts)) and attempts[0] >= 1, "attempt numbers must continue"
            assert after_restart(cid)[-1].event["call"]["cid"] == cid
        assert any(after_restart(r.event["call_cid"])[0].attempt == 2 for r in hook.received[:before])
    finally:
        hook.close()
        drop()


# --- units: signatures, retry policy, settings updates --------------------------------------------------------
def test_signature_is_hex_hmac_sha256_of_the_raw_body() -> None:
    body = b'{"type":"call.created","call_cid":"default:x"}'
    signature = sign(body, "secret")
    assert signature == hmac.new(b"secret", body, hashlib.sha256).hexdigest()
    assert verify_webhook_signature(body, signature, "secret")
    assert verify_webhook_signature(body.decode(), signature.upper(), "secret")
    assert not verify_webhook_signature(body + b" ", signature, "secret"), "tampered body"
    assert not verify_webhook_signature(body, signature, "other-secret"), "wrong secret"
    assert not verify_webhook_signature(body, "", "secret")
    assert not verify_webhook_signature(body, "é" * 64, "secret")


def test_verify_and_parse_gives_the_typed_event() -> None:
    body = b'{"type":"custom"}'
    with pytest.raises(WebhookSignatureError):
        verify_and_parse_webhook(body, sign(body, "wrong"), "secret")
    unknown = parse_webhook(b'{"type":"call.from_the_future","created_at":"2026-01-01T00:00:00Z","x":1}')
    assert unknown.type == "call.from_the_future" and unknown.model_extra == {"x": 1}
    good = json.dumps({"type": "call.stats_report_ready", "created_at": "2026-01-01T00:00:00Z",
                       "call_cid": "default:x", "session_id": "s1"}).encode()
    event = verify_and_parse_webhook(good, sign(good, "secret"), "secret")
    assert isinstance(event, CallStatsReportReadyEvent) and event.session_id == "s1"


DEFAULTS = RetryPolicy()


@pytest.mark.parametrize(("outcome", "attempts"), [
    (Outcome(status=500), 3), (Outcome(status=503), 3), (Outcome(status=408), 3), (Outcome(status=429), 3),
    (Outcome(error="network"), 2), (Outcome(error="timeout"), 3),
    (Outcome(status=400), 1), (Outcome(status=404), 1), (Outcome(status=410), 1), (Outcome(status=301), 1),
    (Outcome(status=200), 1), (Outcome(status=204), 1),
])
def test_documented_attempt_counts(outcome: Outcome, attempts: int) -> None:
    """Quick failures: retried after 0.5 s, then 1.5 s, until the documented number of attempts."""
    delays = []
    for attempt in range(1, 10):
        delay = DEFAULTS.retry_delay(outcome, attempt, elapsed=sum(delays))
        if delay is None:
            break
        delays.append(delay)
    assert len(delays) + 1 == attempts
    assert delays == [0.5, 1.5][: attempts - 1]


def test_timeouts_fit_the_15_second_budget() -> None:
    assert DEFAULTS.timeout_for(0) == 6
    assert DEFAULTS.retry_delay(Outcome(error="timeout"), 1, elapsed=6.0) == 0.5
    assert DEFAULTS.timeout_for(6.5) == 6
    assert DEFAULTS.retry_delay(Outcome(error="timeout"), 2, elapsed=12.5) == 1.5
    assert DEFAULTS.timeout_for(14.0) == 1.0, "the third attempt gets what is left of the 15 s"
    assert DEFAULTS.retry_delay(Outcome(status=500), 2, elapsed=13.0) is None, "no time left for a third attempt"


@given(st.lists(st.tuples(st.sampled_from([Outcome(status=500), Outcome(status=429), Outcome(error="network"),
                                           Outcome(error="timeout")]), st.floats(0, 1)), min_size=3, max_size=3))
def test_no_delivery_outlasts_the_budget(script: list[tuple[Outcome, float]]) -> None:
    """Whatever fails and however long each attempt takes (up to its timeout), all attempts end by 15 s."""
    elapsed = 0.0
    for attempt, (outcome, fraction) in enumerate(script, start=1):
        timeout = DEFAULTS.timeout_for(elapsed)
        assert timeout > 0
        elapsed += timeout if outcome.error == "timeout" else timeout * fraction
        assert elapsed <= DEFAULTS.total_timeout
        delay = DEFAULTS.retry_delay(outcome, attempt, elapsed)
        if delay is None:
            break
        elapsed += delay


def test_settings_update_rules() -> None:
    stamp, sealer = datetime(2026, 1, 1, tzinfo=UTC), Sealer(Fernet.generate_key())
    hooks = updated_hooks([], UpdateAppRequest(event_hooks=[EventHookRequest(webhook_url="https://a.io")]), stamp,
                          sealer)
    assert hooks[0].wants("call.created") and hooks[0].wants("call.some_future_event"), "empty means all"
    picky = updated_hooks(hooks, UpdateAppRequest(event_hooks=[
        EventHookRequest(id="p", webhook_url="https://a.io", event_types=["call.ended"])]), stamp, sealer)
    assert [h.id for h in picky] == ["p"] and picky[0].wants("call.ended") and not picky[0].wants("call.created")
    off = updated_hooks([], UpdateAppRequest(event_hooks=[EventHookRequest(webhook_url="https://a.io",
                                                                            enabled=False)]), stamp, sealer)
    assert not off[0].wants("call.created")
    with pytest.raises(APIError):
        updated_hooks([], UpdateAppRequest(webhook_events=["call.ended"]), stamp, sealer)
