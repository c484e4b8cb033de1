"""External storage configurations: from the API request to the stored row (secrets sealed), back out without
credentials, and to the backend that talks to the store.

Stored ``config`` holds the type's request fields by their seed names: s3 ``s3_*``, abs ``abs_*``, gcs
``gcs_credentials`` and ``gcs_custom_endpoint_url``. The secret ones are sealed (weir.sealing).
"""

from __future__ import annotations

from typing import Any

from weir.destinations import check_destination
from weir.protocol.errors import input_error
from weir.protocol.external_storage import ExternalStorageFields, ExternalStorageResponse
from weir.push.fcm import parse_service_account
from weir.sealing import Sealer
from weir.storage.azure import AzureBlobStore
from weir.storage.base import ObjectStore, StorageError
from weir.storage.gcs import GCSStore
from weir.storage.s3 import S3Store
from weir.store.tables import ExternalStorageRow

SECRET_KEYS = ("s3_api_key", "s3_secret", "abs_client_secret", "abs_account_key", "gcs_credentials")
# The request field that carries each type's settings; the other types' fields must be absent.
_SETTINGS_FIELD = {"s3": "aws_s3", "gcs": "gcs_credentials", "abs": "azure_blob"}
_ENDPOINTS = ("s3_custom_endpoint_url", "abs_custom_endpoint_url", "gcs_custom_endpoint_url")
_SERVICE_PRINCIPAL = ("abs_tenant_id", "abs_client_id", "abs_client_secret")


def merge_config(body: ExternalStorageFields, current: dict[str, Any] | None, allow_private: bool) -> dict[str, Any]:
    """The new stored config (opened): the given type's settings; ``current`` (the stored config of a storage
    of the same type) fills in settings the request leaves out. ``APIError`` (400) names a bad field."""
    kind = body.storage_type
    for other, field in _SETTINGS_FIELD.items():
        if other != kind and getattr(body, field) is not None:
            raise input_error(field, f"is a setting of {other} storage, not {kind}")
    if kind != "gcs" and body.gcs_custom_endpoint_url is not None:
        raise input_error("gcs_custom_endpoint_url", f"is a setting of gcs storage, not {kind}")
    config = _given(body)
    if kind == "gcs":
        config = {**(current or {}), **config}
    elif not config and current:
        config = dict(current)
    for name in _ENDPOINTS:
        if config.get(name):
            config[name] = str(config[name]).rstrip("/")
    _check(kind, config, allow_private)
    return config


def _given(body: ExternalStorageFields) -> dict[str, Any]:
    """The settings of the request's storage type that it gives."""
    if body.storage_type == "gcs":
        return body.model_dump(mode="json", include={"gcs_credentials", "gcs_custom_endpoint_url"}, exclude_none=True)
    settings = body.aws_s3 if body.storage_type == "s3" else body.azure_blob
    return settings.model_dump(mode="json", exclude_none=True) if settings is not None else {}


def _check(kind: str, config: dict[str, Any], allow_private: bool) -> None:
    if kind == "s3":
        if not config:
            raise input_error("aws_s3", "is required for s3 storage")
        if bool(config.get("s3_api_key")) != bool(config.get("s3_secret")):
            raise input_error("aws_s3.s3_secret", "s3_api_key and s3_secret go together")
        if config.get("s3_custom_endpoint_url") and not config.get("s3_api_key"):
            raise input_error("aws_s3.s3_api_key", "s3_api_key and s3_secret are required with s3_custom_endpoint_url")
    elif kind == "gcs":
        if not config.get("gcs_credentials"):
            raise input_error("gcs_credentials", "is required for gcs storage")
        try:
            token_uri = parse_service_account(config["gcs_credentials"]).token_uri
        except ValueError as exc:
            raise input_error("gcs_credentials", str(exc)) from None
        _check_destination("gcs_credentials", token_uri, allow_private)
    else:
        if not config:
            raise input_error("azure_blob", "is required for abs storage")
        if not config.get("abs_account_key") and not all(config.get(k) for k in _SERVICE_PRINCIPAL):
            raise input_error("azure_blob", "needs abs_tenant_id, abs_client_id and abs_client_secret "
                                            "(a service principal), or abs_account_key")
    for name in _ENDPOINTS:
        if config.get(name):
            _check_destination(name, config[name], allow_private)


def _check_destination(field: str, url: str, allow_private: bool) -> None:
    try:
        check_destination(url, allow_private)
    except ValueError as exc:
        raise input_error(field, str(exc)) from None


def sealed_config(config: dict[str, Any], sealer: Sealer) -> dict[str, Any]:
    return {k: sealer.seal(v) if k in SECRET_KEYS else v for k, v in config.items()}


def opened_config(row: ExternalStorageRow, sealer: Sealer) -> dict[str, Any]:
    return {k: sealer.unseal(v) if k in SECRET_KEYS else v for k, v in (row.config or {}).items()}


def storage_response(row: ExternalStorageRow) -> ExternalStorageResponse:
    return ExternalStorageResponse(name=row.name, type=row.type, bucket=row.bucket, path=row.path)


def make_store(kind: str, bucket: str, path: str, config: dict[str, Any]) -> ObjectStore:
    """The backend of a storage's opened config; ``StorageError`` if its client can't be built from it."""
    try:
        return _client_of(kind, bucket, path, config)
    except Exception as exc:
        raise StorageError(f"{kind}: cannot set up the client: {type(exc).__name__}: {exc}"[:500]) from exc


def _client_of(kind: str, bucket: str, path: str, config: dict[str, Any]) -> ObjectStore:
    if kind == "s3":
        return S3Store(bucket, path, config["s3_region"], config.get("s3_api_key"), config.get("s3_secret"),
                       config.get("s3_custom_endpoint_url"))
    if kind == "gcs":
        return GCSStore(bucket, path, config["gcs_credentials"], config.get("gcs_custom_endpoint_url"))
    return AzureBlobStore(bucket, path, config["abs_account_name"], account_key=config.get("abs_account_key"),
                          tenant_id=config.get("abs_tenant_id"), client_id=config.get("abs_client_id"),
                          client_secret=config.get("abs_client_secret"),
                          endpoint_url=config.get("abs_custom_endpoint_url"))


def row_store(row: ExternalStorageRow, sealer: Sealer) -> ObjectStore:
    return make_store(row.type, row.bucket, row.path, opened_config(row, sealer))
