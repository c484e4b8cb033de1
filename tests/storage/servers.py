"""The real storage servers the storage tests run on loopback, each in a process of its own that a test can stop
and start again: moto (S3), gcp-storage-emulator (GCS) and Azurite (Azure Blob).

Each also builds the matching backend (``store()``) and the JSON an API request gives for it (``request()``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.conftest import free_port, from_setup_script
from tests.push_fakes import ThreadedServer, service_account
from weir.storage.azure import AzureBlobStore
from weir.storage.gcs import GCSStore
from weir.storage.s3 import S3Store

BUCKET = "weir-test"
S3_KEY, S3_SECRET, S3_REGION = "test-key", "test-secret", "us-east-1"
# Azurite's one built-in account and its published key.
AZURE_ACCOUNT = "devstoreaccount1"
AZURE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


class LocalServer:
    """A server process listening on a loopback port it keeps across restarts."""

    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.tmp = tmp
        self._process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def prepare(self) -> None:
        """Once listening: create the test bucket or container."""

    def start(self) -> LocalServer:
        with (self.tmp / f"{type(self).__name__}.log").open("ab") as log:  # the server has its own descriptor
            self._process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, cwd=self.tmp)
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{type(self).__name__} did not start; see {log.name}") from None
                time.sleep(0.05)
        self.prepare()
        return self

    def stop(self) -> None:
        if self._process is not None:
            self._process.kill()  # at once: Azurite would wait for open connections to close
            self._process.wait(timeout=10)
            self._process = None

    def close(self) -> None:
        self.stop()

    def store(self, path: str = "", url: str | None = None) -> Any:
        """A backend for this server (or, given ``url``, for a server of this kind there)."""
        raise NotImplementedError

    def request(self) -> dict[str, Any]:
        raise NotImplementedError


class MotoS3(LocalServer):
    def command(self) -> list[str]:
        return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]

    def prepare(self) -> None:
        boto3.client("s3", endpoint_url=self.url, region_name=S3_REGION, aws_access_key_id=S3_KEY,
                     aws_secret_access_key=S3_SECRET).create_bucket(Bucket=BUCKET)

    def store(self, path: str = "", url: str | None = None) -> S3Store:
        return S3Store(BUCKET, path, S3_REGION, S3_KEY, S3_SECRET, url or self.url)

    def request(self) -> dict[str, Any]:
        return {"storage_type": "s3", "bucket": BUCKET, "aws_s3": {
            "s3_region": S3_REGION, "s3_api_key": S3_KEY, "s3_secret": S3_SECRET, "s3_custom_endpoint_url": self.url}}


async def _token(_: Request) -> Response:
    return JSONResponse({"access_token": "emulator-token", "expires_in": 3599, "token_type": "Bearer"})


class GCSEmulator(LocalServer):
    """gcp-storage-emulator, with an OAuth2 token endpoint beside it for the service account it is given."""

    def __init__(self, tmp: Path) -> None:
        super().__init__(tmp)
        self.tokens = ThreadedServer(Starlette(routes=[Route("/token", _token, methods=["POST"])])).start()
        self.credentials = service_account(self.tokens.url + "/token")[0]

    def command(self) -> list[str]:
        return [sys.executable, "-m", "gcp_storage_emulator", "start", "--host", "127.0.0.1", "--port",
                str(self.port), "--in-memory", "--default-bucket", BUCKET, "--quiet"]

    def close(self) -> None:
        self.stop()
        self.tokens.stop()

    def store(self, path: str = "", url: str | None = None) -> GCSStore:
        return GCSStore(BUCKET, path, self.credentials, url or self.url)

    def request(self) -> dict[str, Any]:
        return {"storage_type": "gcs", "bucket": BUCKET, "gcs_credentials": self.credentials,
                "gcs_custom_endpoint_url": self.url}


class Azurite(LocalServer):
    def command(self) -> list[str]:
        binary = from_setup_script("WEIR_AZURITE", "azurite.sh")
        return [binary, "--blobHost", "127.0.0.1", "--blobPort", str(self.port), "--inMemoryPersistence",
                "--extentMemoryLimit", "256", "--skipApiVersionCheck", "--silent", "--loose"]

    @property
    def endpoint(self) -> str:
        return f"{self.url}/{AZURE_ACCOUNT}"

    def prepare(self) -> None:
        from azure.storage.blob import BlobServiceClient

        container = BlobServiceClient(self.endpoint, credential=AZURE_KEY).get_container_client(BUCKET)
        if not container.exists():
            container.create_container()

    def store(self, path: str = "", url: str | None = None) -> AzureBlobStore:
        endpoint = f"{url}/{AZURE_ACCOUNT}" if url else self.endpoint
        return AzureBlobStore(BUCKET, path, AZURE_ACCOUNT, account_key=AZURE_KEY, endpoint_url=endpoint)

    def request(self) -> dict[str, Any]:
        return {"storage_type": "abs", "bucket": BUCKET, "azure_blob": {
            "abs_account_name": AZURE_ACCOUNT, "abs_account_key": AZURE_KEY, "abs_custom_endpoint_url": self.endpoint}}


os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")  # boto3 never asks a metadata service here
