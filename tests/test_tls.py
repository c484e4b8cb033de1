"""``weir serve --certfile/--keyfile`` serves HTTPS and WSS: the server SDK and the client SDK (REST, the
coordinator WebSocket and the SFU's signaling) reach it with a CA given to them, and refuse it without."""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import ROOT, free_port
from tests.test_webhooks import wait_until
from weir.client import CallStatusConnected, StreamVideo, StreamVideoOptions, User
from weir.server import Client


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (and localhost), signed by its own key: (certificate, key) PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "weir test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@dataclass
class TlsServer:
    url: str
    api_key: str
    api_secret: str
    ca: ssl.SSLContext


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServer]:
    directory = tmp_path_factory.mktemp("tls")
    cert, key = self_signed(directory)
    port = free_port()
    secret = "tls-secret-" + uuid.uuid4().hex
    env = {**os.environ, "WEIR_API_KEY": "tls-key", "WEIR_API_SECRET": secret, "WEIR_ICE_HOST_ADDRESSES": "127.0.0.1",
           "WEIR_RATE_LIMITS_ENABLED": "false"}
    process = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "weir"), "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir",
         str(directory / "data"), "--certfile", str(cert), "--keyfile", str(key), "--log-level", "warning"],
        env=env, stdout=subprocess.DEVNULL)
    ca = ssl.create_default_context(cafile=str(cert))

    def up() -> bool:
        assert process.poll() is None, "weir serve exited"
        try:
            return httpx.get(f"https://127.0.0.1:{port}/api/v1/health", verify=ca).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(up, "weir serve with TLS to start")
        yield TlsServer(f"https://127.0.0.1:{port}", "tls-key", secret, ca)
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_server_sdk_speaks_https_with_the_ca(tls_server: TlsServer) -> None:
    with Client(tls_server.api_key, tls_server.api_secret, tls_server.url, verify=tls_server.ca) as client:
        assert "default" in client.video.list_call_types().data["call_types"]
    with Client(tls_server.api_key, tls_server.api_secret, tls_server.url) as client:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            client.video.list_call_types()
    with pytest.raises(httpx.RemoteProtocolError):  # no plain HTTP on the TLS port
        httpx.get(tls_server.url.replace("https://", "http://") + "/api/v1/health")


async def test_the_client_sdk_joins_over_https_and_wss(tls_server: TlsServer) -> None:
    user_id = "tls-" + uuid.uuid4().hex[:6]
    token = Client(tls_server.api_key, tls_server.api_secret, tls_server.url).create_token(user_id)
    options = StreamVideoOptions(coordinator_rpc_url=tls_server.url, ssl_context=tls_server.ca)
    client = StreamVideo.create(tls_server.api_key, user=User.regular(user_id), user_token=token, options=options)
    try:
        await client.connect()  # wss://…/api/v1/connect
        call = client.make_call(id=uuid.uuid4().hex[:10])
        joined = await call.join(create=True)  # https, then the SFU's wss and media
        assert joined.credentials.server.url.startswith("wss://127.0.0.1:")
        assert call.state.value.status == CallStatusConnected()
        await call.leave()
    finally:
        await client.disconnect()
