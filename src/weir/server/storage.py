"""External storage operations (the seed's ``create|list|update|delete|check_external_storage``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from weir.server.operations import JSON, Group, Operation, R, body, segment

StorageType = Literal["s3", "gcs", "abs"]


def _fields(storage_type: StorageType, bucket: str, path: str | None, aws_s3: Mapping[str, Any] | None,
            azure_blob: Mapping[str, Any] | None, gcs_credentials: str | None,
            gcs_custom_endpoint_url: str | None) -> JSON:
    return body(storage_type=storage_type, bucket=bucket, path=path, aws_s3=aws_s3, azure_blob=azure_blob,
                gcs_credentials=gcs_credentials, gcs_custom_endpoint_url=gcs_custom_endpoint_url)


class StorageOperations(Group[R]):
    def create_external_storage(self, bucket: str, name: str, storage_type: StorageType,
                                gcs_credentials: str | None = None, path: str | None = None,
                                aws_s3: Mapping[str, Any] | None = None, azure_blob: Mapping[str, Any] | None = None,
                                gcs_custom_endpoint_url: str | None = None) -> R:
        """A named S3, GCS or Azure Blob storage for recordings (at most 10 per app); ``aws_s3`` holds the
        ``s3_*`` settings, ``azure_blob`` the ``abs_*`` ones, ``gcs_credentials`` the service account JSON."""
        fields = _fields(storage_type, bucket, path, aws_s3, azure_blob, gcs_credentials, gcs_custom_endpoint_url)
        return self._send(Operation("POST", "/external_storage", {"name": name, **fields}))

    def list_external_storage(self) -> R:
        """Every storage by name (``external_storages``), without credentials."""
        return self._send(Operation("GET", "/external_storage"))

    def update_external_storage(self, name: str, bucket: str, storage_type: StorageType,
                                gcs_credentials: str | None = None, path: str | None = None,
                                aws_s3: Mapping[str, Any] | None = None, azure_blob: Mapping[str, Any] | None = None,
                                gcs_custom_endpoint_url: str | None = None) -> R:
        """Replace a storage's settings; credentials left out are kept while the type stays the same."""
        fields = _fields(storage_type, bucket, path, aws_s3, azure_blob, gcs_credentials, gcs_custom_endpoint_url)
        return self._send(Operation("PUT", f"/external_storage/{segment(name)}", fields))

    def delete_external_storage(self, name: str) -> R:
        return self._send(Operation("DELETE", f"/external_storage/{segment(name)}"))

    def check_external_storage(self, name: str) -> R:
        """Write a new test file to the storage; the answer's ``file_url`` is a signed URL of it."""
        return self._send(Operation("GET", f"/external_storage/{segment(name)}/check"))
