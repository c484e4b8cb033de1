"""Provider credentials: the APNs provider token's lifetime and the FCM grant assertion, on a controlled clock."""

from __future__ import annotations

import httpx
import jwt

from tests.push_fakes import apns_key, pem, service_account
from weir.push.apns import TOKEN_LIFETIME, ApnsClient, ApnsCredentials
from weir.push.fcm import SCOPE, FcmClient, parse_service_account
from weir.push.providers import mask

NO_TIME_CHECKS = {"verify_exp": False, "verify_iat": False}


class Clock:
    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_apns_provider_token_is_reused_then_renewed_within_the_hour() -> None:
    key, clock = apns_key(), Clock()
    async with httpx.AsyncClient() as http:
        client = ApnsClient(ApnsCredentials(pem(key), "KEYID12345", "TEAMID1234", "org.weir.app", "http://x"),
                            http, clock)
        first = client.provider_token()
        assert jwt.get_unverified_header(first) == {"alg": "ES256", "kid": "KEYID12345", "typ": "JWT"}
        claims = jwt.decode(first, key.public_key(), algorithms=["ES256"], options=NO_TIME_CHECKS)
        assert claims == {"iss": "TEAMID1234", "iat": int(clock.now)}
        clock.now += TOKEN_LIFETIME - 1
        assert client.provider_token() == first
        clock.now += 1
        renewed = client.provider_token()
        assert renewed != first and TOKEN_LIFETIME < 3600
        renewed_claims = jwt.decode(renewed, key.public_key(), algorithms=["ES256"], options=NO_TIME_CHECKS)
        assert renewed_claims["iat"] == int(clock.now)


async def test_fcm_assertion_is_a_signed_jwt_bearer_grant() -> None:
    text, key = service_account("http://127.0.0.1:9/token")
    account, clock = parse_service_account(text), Clock()
    async with httpx.AsyncClient() as http:
        assertion = FcmClient(account, http, clock=clock).assertion()
    claims = jwt.decode(assertion, key.public_key(), algorithms=["RS256"], audience=account.token_uri,
                        options=NO_TIME_CHECKS)
    assert claims == {"iss": account.client_email, "scope": SCOPE, "aud": account.token_uri,
                      "iat": int(clock.now), "exp": int(clock.now) + 3600}
    assert jwt.get_unverified_header(assertion)["kid"] == account.private_key_id


def test_masking_keeps_only_a_recognisable_tail() -> None:
    key = pem(apns_key())
    masked = mask(key)
    assert masked.startswith("****") and masked[4:] == key.strip().splitlines()[-2][-4:]
    assert mask("short") == "****"
