"""Amazon S3 and S3-compatible stores (MinIO...) through boto3, its calls run in a thread."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from weir.storage.blocking import CONNECT_TIMEOUT, READ_TIMEOUT, blocking, prefix_of


class S3Store:
    def __init__(self, bucket: str, path: str, region: str, api_key: str | None = None, secret: str | None = None,
                 endpoint_url: str | None = None) -> None:
        """No ``api_key``: boto3's default credential chain (an IAM role, the environment)."""
        self._bucket = bucket
        self._prefix = prefix_of(path)
        config = Config(signature_version="s3v4", connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT,
                        retries={"max_attempts": 1, "mode": "standard"},  # the upload queue retries
                        s3={"addressing_style": "path" if endpoint_url else "auto"})
        self._client: Any = boto3.session.Session().client(
            "s3", region_name=region, endpoint_url=endpoint_url, aws_access_key_id=api_key,
            aws_secret_access_key=secret, config=config)

    async def put(self, key: str, source: Path, content_type: str) -> None:
        await blocking("s3", lambda: self._client.upload_file(
            str(source), self._bucket, self._prefix + key, ExtraArgs={"ContentType": content_type}))

    async def signed_url(self, key: str, expires_in: timedelta) -> str:
        params = {"Bucket": self._bucket, "Key": self._prefix + key}
        seconds = int(expires_in.total_seconds())
        return str(await blocking("s3", lambda: self._client.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=seconds)))

    async def delete(self, key: str) -> None:
        await blocking("s3", lambda: self._client.delete_object(Bucket=self._bucket, Key=self._prefix + key))

    async def exists(self, key: str) -> bool:
        def head() -> bool:
            try:
                self._client.head_object(Bucket=self._bucket, Key=self._prefix + key)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                    return False
                raise
            return True

        return await blocking("s3", head)
