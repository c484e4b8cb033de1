"""Google Cloud Storage through google-cloud-storage with a service account key; calls run in a thread.

Signed URLs are V4, signed locally with the service account's private key (no extra permission needed).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from google.api_core.exceptions import NotFound
from google.cloud import storage
from google.oauth2 import service_account

from weir.storage.blocking import CONNECT_TIMEOUT, READ_TIMEOUT, blocking, prefix_of

SCOPE = "https://www.googleapis.com/auth/devstorage.read_write"
TIMEOUT = (CONNECT_TIMEOUT, READ_TIMEOUT)


class GCSStore:
    def __init__(self, bucket: str, path: str, credentials_json: str, endpoint_url: str | None = None) -> None:
        info = json.loads(credentials_json)
        self._credentials: Any = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
            info, scopes=[SCOPE])
        self._endpoint = endpoint_url
        options = {"api_endpoint": endpoint_url} if endpoint_url else None
        self._client = storage.Client(project=info.get("project_id"), credentials=self._credentials,
                                      client_options=options)
        self._bucket = self._client.bucket(bucket)
        self._prefix = prefix_of(path)

    def _blob(self, key: str) -> Any:
        return self._bucket.blob(self._prefix + key)

    async def put(self, key: str, source: Path, content_type: str) -> None:
        # No client-side retry: the upload queue retries, and an unreachable store should fail fast.
        await blocking("gcs", lambda: self._blob(key).upload_from_filename(
            str(source), content_type=content_type, timeout=TIMEOUT, retry=None))

    async def signed_url(self, key: str, expires_in: timedelta) -> str:
        extra = {"api_access_endpoint": self._endpoint} if self._endpoint else {}
        return str(await blocking("gcs", lambda: self._blob(key).generate_signed_url(
            version="v4", expiration=expires_in, method="GET", credentials=self._credentials, **extra)))

    async def delete(self, key: str) -> None:
        def remove() -> None:
            try:
                self._blob(key).delete(timeout=TIMEOUT, retry=None)
            except NotFound:
                pass

        await blocking("gcs", remove)

    async def exists(self, key: str) -> bool:
        return bool(await blocking("gcs", lambda: self._blob(key).exists(timeout=TIMEOUT, retry=None)))
