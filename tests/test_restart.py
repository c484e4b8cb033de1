"""Backstage, sessions, timers and rings survive a coordinator restart in the middle."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn

from tests.conftest import (
    RunningServer,
    assert_error,
    free_port,
    fresh_postgres_database,
    start_server,
)
from tests.realtime import connect_user
from weir.config import Settings
from weir.protocol.errors import ErrorCode


@dataclass
class Restartable:
    settings: Settings
    server: RunningServer
    running: uvicorn.Server | None = None

    def start(self) -> None:
        self.running, self.thread = start_server(self.settings)

    def stop(self) -> None:
        assert self.running is not None
        self.running.should_exit = True
        self.thread.join(timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()

    def client(self, user_id: str | None = None) -> httpx.Client:
        return httpx.Client(base_url=self.server.base_url + "/api/v1", params={"api_key": self.server.api_key},
                            headers={"Authorization": self.server.token(user_id)}, timeout=30)


@pytest.fixture(params=["sqlite", "postgres"])
def restartable(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Restartable]:
    data_dir = tmp_path_factory.mktemp(f"restart-{request.param}")
    database_url, drop = (None, lambda: None) if request.param == "sqlite" else fresh_postgres_database()
    secret = "restart-secret-" + uuid.uuid4().hex
    settings = Settings(host="127.0.0.1", port=free_port(), data_dir=data_dir, database_url=database_url,
                        api_key="restart-key", api_secret=secret, rate_limits_enabled=False)
    server = RunningServer(f"http://127.0.0.1:{settings.port}", "restart-key", secret, data_dir, request.param,
                           settings.resolved_database_url)
    handle = Restartable(settings, server)
    handle.start()
    try:
        yield handle
    finally:
        handle.stop()
        drop()


async def test_backstage_session_and_timer_survive_a_restart(restartable: Restartable) -> None:
    host, viewer = f"host-{uuid.uuid4().hex[:6]}", f"viewer-{uuid.uuid4().hex[:6]}"
    path = f"/video/call/livestream/{uuid.uuid4().hex[:10]}"
    with restartable.client() as api, restartable.client(host) as host_api:
        api.post(path, json={"data": {"created_by_id": host, "members": [{"user_id": host}],
                                      "settings_override": {"limits": {"max_duration_seconds": 12}}}})
        joined = host_api.post(f"{path}/join", json={})
        assert joined.status_code == 200, joined.text
        before = joined.json()["call"]

    restartable.restart()

    with restartable.client() as api, restartable.client(host) as host_api, restartable.client(viewer) as viewer_api:
        state = api.get(path).json()["call"]
        assert state["backstage"] is True, "still backstage after the restart"
        assert state["session"]["id"] == before["session"]["id"]
        assert [p["user"]["id"] for p in state["session"]["participants"]] == [host]
        assert state["session"]["timer_ends_at"] == before["session"]["timer_ends_at"]
        assert_error(viewer_api.post(f"{path}/join", json={}), 403, ErrorCode.NOT_ALLOWED)
        host_ws = await connect_user(restartable.server, host)
        host_api.post(f"{path}/go_live").raise_for_status()
        assert (await host_ws.wait_for("call.live_started"))["call"]["backstage"] is False
        assert viewer_api.post(f"{path}/join", json={}).status_code == 200
        ended = await host_ws.wait_for("call.ended", timeout=20)
        assert ended["reason"] == "max_duration_reached", "the timer set before the restart still fires"
        await host_ws.close()


async def test_a_ring_times_out_after_a_restart(restartable: Restartable) -> None:
    caller, callee = f"caller-{uuid.uuid4().hex[:6]}", f"callee-{uuid.uuid4().hex[:6]}"
    call_type = f"ring_{uuid.uuid4().hex[:6]}"
    path = f"/video/call/{call_type}/{uuid.uuid4().hex[:10]}"
    with restartable.client() as api, restartable.client(caller) as caller_api:
        api.post("/video/calltypes", json={"name": call_type, "settings": {"ring": {
            "incoming_call_timeout_ms": 5000, "auto_cancel_timeout_ms": 5000, "missed_call_timeout_ms": 5000}}})
        rung = caller_api.post(path, json={"ring": True, "data": {"members": [{"user_id": caller},
                                                                             {"user_id": callee}]}})
        assert rung.status_code == 200, rung.text

    restartable.restart()

    callee_ws = await connect_user(restartable.server, callee)
    missed = await callee_ws.wait_for("call.missed", timeout=12)
    assert missed["user"]["id"] == caller and [m["user_id"] for m in missed["members"]] == [callee]
    await callee_ws.close()
