"""``/metrics`` and JSON logs through a real ``weir serve --log-format json`` with one SFU worker process:
scraped during a two-participant call (the worker's counters reach the coordinator's scrape), refused without
its token, and every log line a JSON object that carries the request id, user id and call cid it knows."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.requests import Request

from tests.client.media_helpers import RoomFactory, loopback_ice, room  # noqa: F401
from tests.conftest import ROOT, RunningServer, free_port
from tests.test_webhooks import wait_until
from weir.coordinator.metrics import _check_access
from weir.protocol.errors import APIError, ErrorCode

TOKEN = "metrics-" + uuid.uuid4().hex


@dataclass
class Served:
    server: RunningServer
    log: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    directory = tmp_path_factory.mktemp("metrics")
    port = free_port()
    env = {**os.environ, "WEIR_API_KEY": "metrics-key", "WEIR_API_SECRET": "metrics-secret-" + uuid.uuid4().hex,
           "WEIR_ICE_HOST_ADDRESSES": "127.0.0.1", "WEIR_RATE_LIMITS_ENABLED": "false", "WEIR_SFU_WORKERS": "1",
           "WEIR_METRICS_TOKEN": TOKEN, "WEIR_EGRESS_WORKERS": "0", "WEIR_AI_WORKERS": "0",
           "WEIR_INGRESS_RTMP_PORT": "0", "WEIR_INGRESS_SRT_PORT": "0"}
    log = directory / "weir.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "weir"), "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir",
             str(directory / "data"), "--log-format", "json"], env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert process.poll() is None, "weir serve exited:\n" + log.read_text()
        try:  # the worker is up once it answers the scrape
            return 'weir_sfu_worker_up{worker="0"} 1.0' in scrape(url).text
        except httpx.TransportError:
            return False

    try:
        wait_until(up, "weir serve and its SFU worker to start", 60)
        yield Served(RunningServer(url, env["WEIR_API_KEY"], env["WEIR_API_SECRET"], directory, "sqlite"), log)
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def server(served: Served) -> RunningServer:
    """What the SDK fixtures (``room``) connect to."""
    return served.server


def scrape(url: str, token: str | None = TOKEN) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(url + "/metrics", headers=headers, timeout=10)


def samples(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = scrape(url)
    assert response.status_code == 200, response.text
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def value(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return found[(name, frozenset(labels.items()))]


async def test_counters_move_during_a_two_participant_call(served: Served, room: RoomFactory) -> None:  # noqa: F811
    r = await room()
    await r.flowing("audio", "video")
    url = served.server.base_url
    before = samples(url)
    await r.flowing("video")
    after = samples(url)
    assert value(after, "weir_sfu_participants", worker="0") == 2
    assert value(after, "weir_sfu_calls", worker="0") == 1
    assert value(after, "weir_active_participants") == 2
    assert value(after, "weir_active_calls") == 1
    assert value(after, "weir_websocket_connections") >= 2
    for name in ("weir_sfu_packets_received_total", "weir_sfu_packets_sent_total",
                 "weir_sfu_payload_bytes_received_total", "weir_sfu_payload_bytes_sent_total"):
        assert value(after, name, worker="0") > value(before, name, worker="0") > 0, name
    assert value(after, "weir_sfu_cpu_seconds_total", worker="0") > 0
    join = "/api/v1/video/call/{type}/{id}/join"
    assert value(after, "weir_http_requests_total", method="POST", route=join, status="200") == 2
    assert value(after, "weir_http_request_duration_seconds_count", method="POST", route=join) == 2
    assert value(after, "weir_outbox_deliveries", outbox="webhook", status="pending") == 0
    await r.bob.leave()  # what Bob's tracks and down-tracks counted stays counted
    for _ in range(100):  # the SFU may take a moment to drop the session
        left = samples(url)
        if value(left, "weir_sfu_participants", worker="0") == 1:
            break
        await asyncio.sleep(0.1)
    assert value(left, "weir_sfu_participants", worker="0") == 1
    for name in ("weir_sfu_packets_received_total", "weir_sfu_packets_sent_total"):
        assert value(left, name, worker="0") >= value(after, name, worker="0"), name


def test_metrics_need_the_token(served: Served) -> None:
    url = served.server.base_url
    for token in (None, "wrong-" + TOKEN):
        response = scrape(url, token)
        assert response.status_code == 401
        assert response.json()["code"] == ErrorCode.AUTH_FAILED
        assert "WEIR_METRICS_TOKEN" in response.json()["message"]
    assert scrape(url).status_code == 200


@pytest.mark.parametrize(("client", "allowed"), [("127.0.0.1", True), ("::1", True), ("10.1.2.3", False)])
def test_without_a_token_only_loopback_may_scrape(client: str, allowed: bool) -> None:
    request = Request({"type": "http", "method": "GET", "path": "/metrics", "headers": [], "client": (client, 1)})
    if allowed:
        _check_access(request, None)
    else:
        with pytest.raises(APIError) as refused:
            _check_access(request, None)
        assert refused.value.code == ErrorCode.NOT_ALLOWED


def test_json_log_lines_carry_the_request_id_user_and_call(served: Served) -> None:
    request_id = "req-" + uuid.uuid4().hex
    user = "logger-" + uuid.uuid4().hex[:6]
    response = httpx.get(f"{served.server.base_url}/api/v1/video/call/default/nothing-here",
                         headers={"X-Request-Id": request_id, "Authorization": served.server.token(user),
                                  "Stream-Auth-Type": "jwt"},
                         params={"api_key": served.server.api_key})
    assert response.status_code == 404
    assert response.headers["x-request-id"] == request_id

    def access_line() -> dict[str, Any] | None:
        lines = [json.loads(line) for line in served.log.read_text().splitlines() if line.strip()]
        return next((line for line in lines if line.get("request_id") == request_id), None)

    wait_until(access_line, "the request's access line")
    line = access_line()
    assert line is not None
    assert line["logger"] == "uvicorn.access" and "/nothing-here" in line["message"]
    assert line["user_id"] == user and line["call_cid"] == "default:nothing-here"
    assert {"timestamp", "level", "message"} <= line.keys()
    made_up = httpx.get(f"{served.server.base_url}/api/v1/health", headers={"X-Request-Id": "bad id {}"})
    assert made_up.headers["x-request-id"] != "bad id {}" and len(made_up.headers["x-request-id"]) == 16
