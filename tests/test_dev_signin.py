"""Development sign-in: on only with ``weir serve --dev``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import RunningServer, assert_error, free_port, start_server
from weir.config import Settings
from weir.protocol.errors import ErrorCode


@pytest.fixture(scope="module")
def dev_base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir: Path = tmp_path_factory.mktemp("weir-dev")
    settings = Settings(host="127.0.0.1", port=free_port(), data_dir=data_dir, dev=True, rate_limits_enabled=False)
    uv, thread = start_server(settings)
    try:
        yield f"http://127.0.0.1:{settings.port}/api/v1"
    finally:
        uv.should_exit = True
        thread.join(timeout=10)


def test_dev_token_signs_in_any_user(dev_base_url: str) -> None:
    response = httpx.post(f"{dev_base_url}/dev/token", json={"user_id": "dev-alice"})
    assert response.status_code == 200, response.text
    body = response.json()
    me = httpx.get(f"{dev_base_url}/health/auth", params={"api_key": body["api_key"]},
                   headers={"Authorization": body["token"]})
    assert me.json()["user_id"] == "dev-alice"
    assert_error(httpx.post(f"{dev_base_url}/dev/token", json={"user_id": "bad id!"}), 400, ErrorCode.INPUT_ERROR)


def test_dev_token_is_off_by_default(server: RunningServer) -> None:
    response = httpx.post(f"{server.base_url}/api/v1/dev/token", json={"user_id": "mallory"})
    assert_error(response, 404, ErrorCode.NOT_FOUND)
