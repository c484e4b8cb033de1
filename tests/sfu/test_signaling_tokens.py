"""SFU tokens: issued by the coordinator's join, checked by the SFU, and useless anywhere else."""

from __future__ import annotations

import time

import jwt
import pytest

from weir.domain.sfu_tokens import SFU_AUDIENCE, SfuTokenError, create_sfu_token, verify_sfu_token
from weir.domain.tokens import create_token, verify_token
from weir.protocol.errors import APIError

SECRET = "s" * 40
CLAIMS = {"call_cid": "default:c1", "user_id": "alice", "session_id": "us1", "role": "user",
          "capabilities": ["send-audio", "join-call"]}


def test_a_token_names_call_user_session_role_and_capabilities() -> None:
    grant = verify_sfu_token(SECRET, create_sfu_token(SECRET, **CLAIMS))  # type: ignore[arg-type]
    assert (grant.call_cid, grant.user_id, grant.session_id, grant.role) == ("default:c1", "alice", "us1", "user")
    assert grant.capabilities == {"send-audio", "join-call"}
    assert 290 <= grant.expires_at - time.time() <= 300


def test_a_forged_token_is_refused_and_not_as_expired() -> None:
    with pytest.raises(SfuTokenError) as caught:
        verify_sfu_token(SECRET, create_sfu_token("x" * 40, **CLAIMS))  # type: ignore[arg-type]
    assert not caught.value.expired


def test_an_expired_token_is_refused_unless_resuming() -> None:
    old = create_sfu_token(SECRET, **CLAIMS, ttl_seconds=60, now=time.time() - 120)  # type: ignore[arg-type]
    with pytest.raises(SfuTokenError) as caught:
        verify_sfu_token(SECRET, old)
    assert caught.value.expired
    assert verify_sfu_token(SECRET, old, allow_expired=True).session_id == "us1"


def test_coordinator_tokens_do_not_open_the_sfu() -> None:
    with pytest.raises(SfuTokenError, match="aud"):
        verify_sfu_token(SECRET, create_token(SECRET, "alice"))


def test_sfu_tokens_do_not_open_the_coordinator_api() -> None:
    with pytest.raises(APIError):
        verify_token(SECRET, create_sfu_token(SECRET, **CLAIMS))  # type: ignore[arg-type]


@pytest.mark.parametrize("change", [
    {"capabilities": "send-audio"}, {"capabilities": [1]}, {"call_cid": ""}, {"user_id": None},
    {"session_id": 5}, {"exp": "soon"}, {"aud": "weir-coordinator"},
])
def test_malformed_claims_are_refused(change: dict[str, object]) -> None:
    claims = {**CLAIMS, "aud": SFU_AUDIENCE, "exp": int(time.time()) + 60, **change}
    with pytest.raises(SfuTokenError):
        verify_sfu_token(SECRET, jwt.encode(claims, SECRET, algorithm="HS256"))


def test_garbage_is_refused() -> None:
    for token in ("", "a.b.c", "not-a-token"):
        with pytest.raises(SfuTokenError):
            verify_sfu_token(SECRET, token)
