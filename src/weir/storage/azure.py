"""Azure Blob Storage through azure-storage-blob; ``bucket`` is the container. Calls run in a thread.

Two ways in: the seed's service principal (tenant, client id and secret, via azure-identity), with SAS URLs
signed by a user delegation key; or the account's shared key (Azurite, or accounts without Entra ID), with SAS
URLs signed by that key.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.identity import ClientSecretCredential
from azure.storage.blob import BlobSasPermissions, BlobServiceClient, ContentSettings, generate_blob_sas

from weir.storage.blocking import CONNECT_TIMEOUT, READ_TIMEOUT, blocking, prefix_of


class AzureBlobStore:
    def __init__(self, container: str, path: str, account_name: str, *, account_key: str | None = None,
                 tenant_id: str | None = None, client_id: str | None = None, client_secret: str | None = None,
                 endpoint_url: str | None = None) -> None:
        self._account = account_name
        self._account_key = account_key
        credential: Any = account_key
        if account_key is None:
            assert tenant_id and client_id and client_secret, "a service principal or an account key is needed"
            credential = ClientSecretCredential(tenant_id, client_id, client_secret)
        url = endpoint_url or f"https://{account_name}.blob.core.windows.net"
        self._service = BlobServiceClient(url, credential=credential, retry_total=0,
                                          connection_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT)
        self._container = self._service.get_container_client(container)
        self._prefix = prefix_of(path)

    def _blob(self, key: str) -> Any:
        return self._container.get_blob_client(self._prefix + key)

    async def put(self, key: str, source: Path, content_type: str) -> None:
        def upload() -> None:
            with source.open("rb") as data:
                self._blob(key).upload_blob(data, overwrite=True,
                                            content_settings=ContentSettings(content_type=content_type))

        await blocking("abs", upload)

    async def signed_url(self, key: str, expires_in: timedelta) -> str:
        def sign() -> str:
            blob = self._blob(key)
            expiry = datetime.now(UTC) + expires_in
            signer: dict[str, Any] = {"account_key": self._account_key}
            if self._account_key is None:
                start = datetime.now(UTC) - timedelta(minutes=5)
                signer = {"user_delegation_key": self._service.get_user_delegation_key(start, expiry)}
            sas = generate_blob_sas(self._account, blob.container_name, blob.blob_name,
                                    permission=BlobSasPermissions(read=True), expiry=expiry, **signer)
            return f"{blob.url}?{sas}"

        return await blocking("abs", sign)

    async def delete(self, key: str) -> None:
        def remove() -> None:
            try:
                self._blob(key).delete_blob()
            except ResourceNotFoundError:
                pass

        await blocking("abs", remove)

    async def exists(self, key: str) -> bool:
        return bool(await blocking("abs", lambda: self._blob(key).exists()))
