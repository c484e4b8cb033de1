"""Events to AWS SQS queues and SNS topics, on moto in server mode (on loopback): a queue and
a topic beside a webhook, the topic read through a queue subscribed to it; moto stopped and started again while
events keep coming loses none of them; secrets are stored sealed and shown masked."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from tests.conftest import RunningServer, _client, free_port, start_server
from weir.config import Settings
from weir.protocol.app_settings import SECRET_MASK
from weir.store.tables import AppSettingsRow
from weir.webhooks.signature import sign

KEY, SECRET, REGION, ACCOUNT = "queue-key", "queue-secret", "us-east-1", "123456789012"
WAIT_SECONDS = 60


class MotoQueues:
    """moto's server in a thread, with an events queue, an events topic, and a queue subscribed to that topic (raw
    messages). Its queues live in this process, so a stop and start is an outage that keeps them, as AWS's would."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: ThreadedMotoServer | None = None

    def start(self) -> MotoQueues:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.url, region_name=REGION, aws_access_key_id=KEY,
                            aws_secret_access_key=SECRET)

    def create(self) -> None:
        sqs, sns = self.client("sqs"), self.client("sns")
        self.queue_url = sqs.create_queue(QueueName="weir-events")["QueueUrl"]
        self.topic_arn = sns.create_topic(Name="weir-events")["TopicArn"]
        self.topic_queue_url = sqs.create_queue(QueueName="weir-from-sns")["QueueUrl"]
        topic_queue_arn = sqs.get_queue_attributes(QueueUrl=self.topic_queue_url,
                                                   AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=self.topic_arn, Protocol="sqs", Endpoint=topic_queue_arn,
                      Attributes={"RawMessageDelivery": "true"})

    def drain(self, queue_url: str) -> list[dict[str, Any]]:
        """Every message waiting in the queue (received and deleted)."""
        sqs, messages = self.client("sqs"), []
        while True:
            batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                        MessageAttributeNames=["All"]).get("Messages", [])
            if not batch:
                return messages
            for message in batch:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            messages += batch


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoQueues]:
    server = MotoQueues().start()
    server.create()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def weir(moto: MotoQueues, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    settings = Settings(host="127.0.0.1", port=free_port(), data_dir=tmp_path_factory.mktemp("weir-queues"),
                        api_key="test-key", api_secret="test-secret-" + uuid.uuid4().hex, rate_limits_enabled=False,
                        aws_endpoint_url=moto.url, webhook_poll_interval_seconds=0.2)
    uv, thread = start_server(settings)
    yield RunningServer(f"http://127.0.0.1:{settings.port}", "test-key", settings.api_secret or "",
                        settings.data_dir, "sqlite", settings.resolved_database_url)
    uv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def api(weir: RunningServer) -> Iterator[httpx.Client]:
    with _client(weir, weir.token()) as client:
        yield client


def destinations(moto: MotoQueues) -> list[dict[str, Any]]:
    return [
        {"id": "queue", "hook_type": "sqs", "sqs_queue_url": moto.queue_url, "sqs_key": KEY, "sqs_secret": SECRET,
         "event_types": ["call.created"]},
        {"id": "topic", "hook_type": "sns", "sns_topic_arn": moto.topic_arn, "sns_auth_type": "keys",
         "sns_key": KEY, "sns_secret": SECRET, "event_types": ["call.created"]},
    ]


def created_calls(messages: list[dict[str, Any]]) -> set[str]:
    return {json.loads(m["Body"])["call_cid"] for m in messages}


def collect(moto: MotoQueues, wanted: set[str]) -> tuple[dict[str, set[str]], list[dict[str, Any]]]:
    """Poll both queues until each holds every call of ``wanted``: the calls each got, and the SQS messages."""
    got: dict[str, set[str]] = {"queue": set(), "topic": set()}
    messages: list[dict[str, Any]] = []
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        messages += moto.drain(moto.queue_url)
        got["queue"] = created_calls(messages)
        got["topic"] |= created_calls(moto.drain(moto.topic_queue_url))
        if wanted <= got["queue"] and wanted <= got["topic"]:
            break
        time.sleep(0.2)
    return got, messages


def create_calls(api: httpx.Client, count: int) -> set[str]:
    cids = set()
    for _ in range(count):
        call_id = uuid.uuid4().hex[:12]
        response = api.post(f"/video/call/default/{call_id}", json={"data": {"created_by_id": "queue-owner"}})
        assert response.status_code == 200, response.text
        cids.add(f"default:{call_id}")
    return cids


def test_events_reach_a_queue_and_a_topic_and_survive_a_restart_of_the_queues(
        api: httpx.Client, moto: MotoQueues, weir: RunningServer) -> None:
    response = api.patch("/app", json={"event_hooks": destinations(moto)})
    assert response.status_code == 200, response.text
    before = create_calls(api, 3)
    got, messages = collect(moto, before)
    assert got == {"queue": before, "topic": before}
    # the webhook headers travel as attributes; the signature is over the exact body
    attributes = {name: value["StringValue"] for name, value in messages[0]["MessageAttributes"].items()}
    assert attributes["X-API-KEY"] == "test-key" and attributes["X-WEBHOOK-ATTEMPT"] == "1"
    assert len(attributes["X-WEBHOOK-ID"]) == 32
    assert attributes["X-SIGNATURE"] == sign(messages[0]["Body"].encode(), weir.api_secret)

    moto.stop()  # events go on while the queues are away, and after they are back
    during = create_calls(api, 3)
    time.sleep(1.5)  # past the first delivery run of each: they are kept for later, not failed
    moto.start()
    after = create_calls(api, 2)
    got, _ = collect(moto, during | after)
    assert got == {"queue": during | after, "topic": during | after}, "events were lost while moto was down"


def test_secrets_are_masked_and_stored_sealed(api: httpx.Client, moto: MotoQueues, weir: RunningServer) -> None:
    shown = api.patch("/app", json={"event_hooks": destinations(moto)}).json()["app"]["event_hooks"]
    with sqlite3.connect(Path(weir.data_dir, "weir.db")) as db:
        first = json.loads(db.execute(f"SELECT settings FROM {AppSettingsRow.__tablename__}").fetchone()[0])[
            "event_hooks"]
    assert [h["sqs_secret"] or h["sns_secret"] for h in shown] == [SECRET_MASK, SECRET_MASK]
    assert api.get("/app").json()["app"]["event_hooks"] == shown
    # sent back as shown (masked), the stored secret stays; the database holds it sealed
    again = api.patch("/app", json={"event_hooks": [
        {k: v for k, v in hook.items() if k not in ("created_at", "updated_at") and v is not None}
        for hook in shown]})
    assert again.status_code == 200, again.text
    with sqlite3.connect(Path(weir.data_dir, "weir.db")) as db:
        (stored,) = db.execute(f"SELECT settings FROM {AppSettingsRow.__tablename__}").fetchone()
    hooks = json.loads(stored)["event_hooks"]
    assert [h["sqs_secret"] or h["sns_secret"] for h in hooks] == [h["sqs_secret"] or h["sns_secret"]
                                                                     for h in first]  # kept, as they were
    assert SECRET not in stored and all((h["sqs_secret"] or h["sns_secret"]).startswith("fernet:") for h in hooks)


def test_a_missing_queue_fails_at_once_and_others_still_get_events(
        api: httpx.Client, moto: MotoQueues, weir: RunningServer) -> None:
    missing = moto.queue_url.rsplit("/", 1)[0] + "/no-such-queue"
    hooks = [*destinations(moto), {"id": "gone", "hook_type": "sqs", "sqs_queue_url": missing, "sqs_key": KEY,
                                   "sqs_secret": SECRET, "event_types": ["call.created"]}]
    assert api.patch("/app", json={"event_hooks": hooks}).status_code == 200
    cids = create_calls(api, 2)
    assert collect(moto, cids)[0] == {"queue": cids, "topic": cids}
    deadline = time.monotonic() + WAIT_SECONDS  # its deliveries run beside the others', and may finish later
    while True:
        with sqlite3.connect(Path(weir.data_dir, "weir.db")) as db:
            rows = db.execute("SELECT status, last_error FROM webhook_deliveries WHERE endpoint_id = 'gone'")
            failed = rows.fetchall()
        if (len(failed) == 2 and all(status != "pending" for status, _ in failed)) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert [status for status, _ in failed] == ["failed", "failed"], failed  # a 400 is final: not kept for later
    assert all("NonExistentQueue" in (error or "") for _, error in failed), failed


def test_a_queue_elsewhere_than_the_configured_endpoint_is_refused(api: httpx.Client) -> None:
    response = api.patch("/app", json={"event_hooks": [
        {"hook_type": "sqs", "sqs_queue_url": f"http://127.0.0.1:{free_port()}/{ACCOUNT}/q", "sqs_key": KEY,
         "sqs_secret": SECRET}]})
    assert response.status_code == 400 and "sqs_queue_url" in response.text
