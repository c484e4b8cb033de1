"""The publisher's token (the stream key with the ingress claim), the source in SFU tokens, and the addresses."""

from __future__ import annotations

import pytest

from weir.domain.ingress import IngressBases, publisher_token, source_of
from weir.domain.sfu_tokens import create_sfu_token, verify_sfu_token
from weir.domain.tokens import create_token, verify_token
from weir.protocol.errors import APIError

SECRET = "s" * 40


def test_the_stream_key_becomes_a_token_naming_the_protocol() -> None:
    user_id, token = publisher_token(SECRET, create_token(SECRET, "obs-user", expiration=600), "rtmp")
    claims = verify_token(SECRET, token)
    assert (user_id, claims.user_id, source_of(claims.extra)) == ("obs-user", "obs-user", "rtmp")
    assert source_of(verify_token(SECRET, create_token(SECRET, "plain")).extra) is None
    assert source_of({"ingress": "carrier-pigeon"}) is None


@pytest.mark.parametrize(("key", "reason"), [
    (create_token(SECRET, "late", expiration=-60), "expired"),
    (create_token("other" * 8, "forged"), "signature"),
    (create_token(SECRET), "user's token"),
    ("garbage", "malformed"),
])
def test_bad_stream_keys_are_refused(key: str, reason: str) -> None:
    with pytest.raises(APIError, match=reason):
        publisher_token(SECRET, key, "rtmp")


def test_sfu_tokens_carry_the_source() -> None:
    claims = {"call_cid": "default:a", "user_id": "u", "session_id": "s", "role": "user", "capabilities": []}
    assert verify_sfu_token(SECRET, create_sfu_token(SECRET, **claims, source="rtmp")).source == "rtmp"  # type: ignore[arg-type]
    assert verify_sfu_token(SECRET, create_sfu_token(SECRET, **claims)).source == "webrtc"  # type: ignore[arg-type]


def test_addresses() -> None:
    bases = IngressBases(rtmp="rtmp://h:1935", srt="", whip="http://h:3030/sfu/whip", api_key="k")
    assert bases.addresses("default", "c1") == {
        "rtmp": "rtmp://h:1935/default/c1", "srt": "", "whip": "http://h:3030/sfu/whip/default/c1?api_key=k"}
