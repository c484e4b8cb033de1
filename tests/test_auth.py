"""Auth: API key and JWT checks, each failure with its status and JSON error."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import jwt

from tests.conftest import RunningServer, assert_error
from weir.protocol.errors import ErrorCode


def get(server: RunningServer, token: str | None, api_key: str | None = "test-key") -> httpx.Response:
    headers = {"Authorization": token} if token is not None else {}
    params = {"api_key": api_key} if api_key is not None else {}
    return httpx.get(f"{server.base_url}/api/v1/health/auth", headers=headers, params=params)


def test_valid_user_token_passes(server: RunningServer) -> None:
    response = get(server, server.token("auth-ok", expiration=60))
    assert response.status_code == 200, response.text
    assert response.json()["user_id"] == "auth-ok"


def test_bearer_prefix_is_accepted(server: RunningServer) -> None:
    assert get(server, "Bearer " + server.token()).json()["user_id"] is None


def test_bad_signature(server: RunningServer) -> None:
    forged = jwt.encode({"user_id": "mallory"}, "not-the-secret-but-as-long-as-a-real-one", algorithm="HS256")
    assert_error(get(server, forged), 401, ErrorCode.TOKEN_SIGNATURE_INVALID)


def test_expired_token(server: RunningServer) -> None:
    token = server.token("late", expiration=10, now=time.time() - 3600)
    assert_error(get(server, token), 401, ErrorCode.TOKEN_EXPIRED)


def test_iat_in_the_future(server: RunningServer) -> None:
    token = jwt.encode({"user_id": "early", "iat": int(time.time()) + 3600}, server.api_secret, algorithm="HS256")
    assert_error(get(server, token), 401, ErrorCode.TOKEN_NOT_VALID_YET)


def test_unknown_api_key(server: RunningServer) -> None:
    assert_error(get(server, server.token(), api_key="nope"), 401, ErrorCode.API_KEY_NOT_FOUND)


def test_missing_token_and_garbage_token(server: RunningServer) -> None:
    assert_error(get(server, None), 401, ErrorCode.AUTH_FAILED)
    assert_error(get(server, "not.a.jwt"), 401, ErrorCode.AUTH_FAILED)


def test_anonymous_token_needs_call_cids(server: RunningServer) -> None:
    bad = jwt.encode({"user_id": "!anon", "role": "viewer"}, server.api_secret, algorithm="HS256")
    assert_error(get(server, bad), 401, ErrorCode.AUTH_FAILED)
    good = server.token("!anon", role="viewer", call_cids=["livestream:123"], expiration=60)
    assert get(server, good).json()["user_id"] == "!anon"


def test_oversized_body_is_refused(server: RunningServer) -> None:
    response = httpx.post(f"{server.base_url}/api/v1/health/auth", content=b"x" * 2_000_000,
                          params={"api_key": "test-key"}, headers={"Authorization": server.token()})
    assert_error(response, 413, ErrorCode.PAYLOAD_TOO_BIG)


def test_oversized_chunked_body_is_refused(server: RunningServer) -> None:
    def chunks() -> Iterator[bytes]:  # a generator: httpx sends it chunked, without Content-Length
        for _ in range(40):
            yield b"x" * 50_000

    response = httpx.post(f"{server.base_url}/api/v1/video/call/default/chunked", content=chunks(),
                          params={"api_key": "test-key"}, headers={"Authorization": server.token()})
    assert_error(response, 413, ErrorCode.PAYLOAD_TOO_BIG)
