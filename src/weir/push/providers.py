"""Push provider configurations: from the API request to the stored config, back out masked, and to a client.

Stored ``config``: firebase ``{credentials, host}``; apn ``{key, key_id, team_id, topic, development, host}``.
"""

from __future__ import annotations

from typing import Any

import httpx

from weir.destinations import check_destination
from weir.domain.clock import utc
from weir.protocol.errors import input_error
from weir.protocol.push import PushProviderRequest, PushProviderResponse
from weir.push.apns import PRODUCTION_HOST, SANDBOX_HOST, ApnsClient, ApnsCredentials, check_signing_key
from weir.push.fcm import FCM_HOST, FcmClient, parse_service_account
from weir.sealing import Sealer, SealError
from weir.store.tables import PushProviderRow

FIELD = "push_provider."
# Request field -> config key, per provider type.
_FIELDS = {
    "firebase": {"firebase_credentials": "credentials", "firebase_host": "host"},
    "apn": {"apn_key": "key", "apn_key_id": "key_id", "apn_team_id": "team_id", "apn_topic": "topic",
            "apn_development": "development", "apn_host": "host"},
}
SECRET_KEYS = ("credentials", "key")  # stored sealed (weir.sealing)
UNREADABLE = "unreadable: stored under another WEIR_SECRET_KEY; set it again"
_REQUIRED = {"firebase": ("firebase_credentials",), "apn": ("apn_key", "apn_key_id", "apn_team_id", "apn_topic")}


def merge_config(request: PushProviderRequest, current: dict[str, Any] | None) -> dict[str, Any]:
    """The new stored config: given fields replace the current ones, omitted ones are kept."""
    given = request.model_dump(exclude_unset=True, exclude_none=True, exclude={"name", "type", "enabled"})
    fields = _FIELDS[request.type]
    for name in given:
        if name not in fields:
            raise input_error(FIELD + name, f"is not a setting of {request.type} providers")
    _check_secrets(given)
    config = dict(current or {})
    config.update({fields[name]: str(value).rstrip("/") if name.endswith("_host") else value
                   for name, value in given.items()})
    for name in _REQUIRED[request.type]:
        if not config.get(fields[name]):
            raise input_error(FIELD + name, f"is required for {request.type} providers")
    return config


def check_destinations(type_: str, config: dict[str, Any], allow_private: bool) -> None:
    """The hosts a provider's pushes go to (and Firebase's token endpoint) must be public addresses."""
    urls = {f"{type_}_host": config.get("host")}
    if type_ == "firebase":
        urls["firebase_credentials"] = parse_service_account(config["credentials"]).token_uri
    for name, url in urls.items():
        try:
            if url:
                check_destination(url, allow_private)
        except ValueError as exc:
            raise input_error(FIELD + name, str(exc)) from None


def _check_secrets(given: dict[str, Any]) -> None:
    checks = {"firebase_credentials": parse_service_account, "apn_key": check_signing_key}
    for name, check in checks.items():
        if name in given:
            try:
                check(given[name])
            except ValueError as exc:
                raise input_error(FIELD + name, str(exc)) from None


def mask(secret: str) -> str:
    """Enough of a secret to recognise it, never enough to use it."""
    visible = secret.strip().splitlines()
    tail = visible[-2] if len(visible) > 2 and visible[-1].startswith("-----END") else (visible or [""])[-1]
    return "****" + tail[-4:] if len(tail) >= 8 else "****"


def sealed_config(config: dict[str, Any], sealer: Sealer) -> dict[str, Any]:
    """The config as stored: its secrets encrypted."""
    return {k: sealer.seal(v) if k in SECRET_KEYS else v for k, v in config.items()}


def opened_config(row: PushProviderRow, sealer: Sealer, *, drop_unreadable: bool = False) -> dict[str, Any]:
    """A stored config with its secrets decrypted. A secret this key cannot open (``WEIR_SECRET_KEY`` changed)
    raises ``SealError``, or with ``drop_unreadable`` is left out, for a request that sets it again."""
    opened = {}
    for name, value in (row.config or {}).items():
        if name not in SECRET_KEYS:
            opened[name] = value
            continue
        try:
            opened[name] = sealer.unseal(value)
        except SealError:
            if not drop_unreadable:
                raise
    return opened


def listed_provider(row: PushProviderRow, sealer: Sealer) -> PushProviderResponse:
    """The provider as the API lists it; one whose secrets this key cannot open is still listed, with its
    secrets shown as unreadable, so that one stale row never fails the listing."""
    try:
        return provider_response(row, opened_config(row, sealer))
    except SealError:
        config = row.config or {}
        if row.type == "firebase":
            return PushProviderResponse(**_common(row), firebase_credentials=UNREADABLE,
                                        firebase_host=config.get("host"))
        return PushProviderResponse(
            **_common(row), apn_key=UNREADABLE, apn_key_id=config.get("key_id"), apn_team_id=config.get("team_id"),
            apn_topic=config.get("topic"), apn_development=bool(config.get("development")), apn_host=config.get("host"),
        )


def _common(row: PushProviderRow) -> dict[str, Any]:
    return {"name": row.name, "type": row.type, "enabled": row.enabled,
            "created_at": utc(row.created_at), "updated_at": utc(row.updated_at)}


def provider_response(row: PushProviderRow, config: dict[str, Any]) -> PushProviderResponse:
    """``config``: the provider's opened config."""
    common = _common(row)
    if row.type == "firebase":
        account = parse_service_account(config["credentials"])
        return PushProviderResponse(
            **common, firebase_credentials=mask(account.private_key_id or account.client_email),
            firebase_project_id=account.project_id, firebase_client_email=account.client_email,
            firebase_host=config.get("host"),
        )
    return PushProviderResponse(
        **common, apn_key=mask(config["key"]), apn_key_id=config["key_id"], apn_team_id=config["team_id"],
        apn_topic=config["topic"], apn_development=bool(config.get("development")), apn_host=config.get("host"),
    )


def apns_host(config: dict[str, Any]) -> str:
    return config.get("host") or (SANDBOX_HOST if config.get("development") else PRODUCTION_HOST)


def make_client(row: PushProviderRow, config: dict[str, Any], fcm_http: httpx.AsyncClient,
                apns_http: httpx.AsyncClient) -> FcmClient | ApnsClient:
    """``config``: the provider's opened config."""
    if row.type == "firebase":
        return FcmClient(parse_service_account(config["credentials"]), fcm_http, config.get("host") or FCM_HOST)
    credentials = ApnsCredentials(config["key"], config["key_id"], config["team_id"], config["topic"],
                                  apns_host(config))
    return ApnsClient(credentials, apns_http)
