"""Local stand-ins for Google's and Apple's push services that check what the real ones check.

``FakeFCM`` serves the OAuth2 token endpoint (verifies the RS256 JWT-bearer assertion against the service
account's public key) and the FCM v1 send endpoint (bearer token, message shape, string-only data).
``FakeAPNs`` speaks HTTP/2 only (hypercorn, h2c with prior knowledge) and verifies the ES256 provider token,
the apns-* headers and the JSON body. Both record what they accepted, and can be told to refuse tokens.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypercorn.asyncio import serve
from hypercorn.config import Config
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.conftest import free_port
from weir.push.fcm import GRANT_TYPE, SCOPE

FCM_MESSAGE_KEYS = {"token", "data", "notification", "android", "apns", "webpush", "fcm_options"}
APNS_MAX_BODY = 5120  # VoIP limit; alerts are limited to 4096


def pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def service_account(token_uri: str, project_id: str = "weir-test") -> tuple[str, rsa.RSAPrivateKey]:
    """A service account key file (JSON text) and its private key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    data = {"type": "service_account", "project_id": project_id, "private_key_id": secrets.token_hex(20),
            "private_key": pem(key), "client_email": f"push@{project_id}.iam.gserviceaccount.com",
            "client_id": "1234567890", "token_uri": token_uri}
    return json.dumps(data), key


def apns_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


class ThreadedServer:
    """An ASGI app served by hypercorn on 127.0.0.1 in a thread of its own."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._app = app
        self._ready = threading.Event()
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),), daemon=True)

    async def _main(self) -> None:
        config = Config()
        config.bind = [f"127.0.0.1:{self.port}"]
        config.loglevel = "WARNING"
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._ready.set()
        await serve(self._app, config, shutdown_trigger=self._stop.wait)  # type: ignore[arg-type]

    def start(self) -> ThreadedServer:
        self._thread.start()
        self._ready.wait(10)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)


@dataclass
class FakeFCM:
    """Google's OAuth2 token endpoint and the FCM v1 API, for the service accounts it is told about."""

    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)  # client_email -> key file, public key
    access_tokens: dict[str, str] = field(default_factory=dict)  # access token -> project id
    messages: list[dict[str, Any]] = field(default_factory=list)
    unregistered: set[str] = field(default_factory=set)
    flaky: dict[str, int] = field(default_factory=dict)  # token -> how many 503s to answer first
    grants: dict[str, int] = field(default_factory=dict)  # client_email -> access tokens granted

    def __post_init__(self) -> None:
        self.server = ThreadedServer(Starlette(routes=[
            Route("/token", self.token, methods=["POST"]),
            Route("/v1/projects/{project}/messages:send", self.send, methods=["POST"]),
        ]))
        self.token_uri = self.server.url + "/token"

    def add_account(self, account_json: str, key: rsa.RSAPrivateKey) -> None:
        data = json.loads(account_json)
        self.accounts[data["client_email"]] = {**data, "public_key": key.public_key()}

    async def token(self, request: Request) -> Response:
        if request.headers.get("content-type") != "application/x-www-form-urlencoded":
            return JSONResponse({"error": "invalid_request"}, 400)
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        if form.get("grant_type") != GRANT_TYPE:
            return JSONResponse({"error": "unsupported_grant_type"}, 400)
        assertion = str(form.get("assertion") or "")
        try:
            account = self.accounts[jwt.decode(assertion, options={"verify_signature": False})["iss"]]
            claims = jwt.decode(assertion, account["public_key"], algorithms=["RS256"], audience=self.token_uri,
                                options={"require": ["iss", "scope", "aud", "iat", "exp"]})
            assert claims["scope"] == SCOPE and claims["exp"] - claims["iat"] <= 3600
            assert jwt.get_unverified_header(assertion)["kid"] == account["private_key_id"]
        except (jwt.PyJWTError, KeyError, AssertionError):
            return JSONResponse({"error": "invalid_grant", "error_description": "Invalid JWT"}, 400)
        self.grants[claims["iss"]] = self.grants.get(claims["iss"], 0) + 1
        access = secrets.token_urlsafe(24)
        self.access_tokens[access] = account["project_id"]
        return JSONResponse({"access_token": access, "expires_in": 3599, "token_type": "Bearer"})

    @staticmethod
    def _error(status: int, name: str, code: str = "") -> Response:
        details = [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": code}] if code else []
        return JSONResponse({"error": {"code": status, "message": name, "status": name, "details": details}}, status)

    async def send(self, request: Request) -> Response:
        scheme, _, access = request.headers.get("authorization", "").partition(" ")
        if scheme != "Bearer" or self.access_tokens.get(access) != request.path_params["project"]:
            return self._error(401, "UNAUTHENTICATED")
        body = await request.json()
        message = body.get("message") if isinstance(body, dict) else None
        if (not isinstance(message, dict) or set(body) != {"message"} or not set(message) <= FCM_MESSAGE_KEYS
                or not isinstance(message.get("token"), str)
                or not all(isinstance(k, str) and isinstance(v, str) for k, v in message.get("data", {}).items())):
            return self._error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT")
        token = message["token"]
        if token in self.unregistered:
            return self._error(404, "NOT_FOUND", "UNREGISTERED")
        if self.flaky.get(token, 0) > 0:
            self.flaky[token] -= 1
            return self._error(503, "UNAVAILABLE", "UNAVAILABLE")
        self.messages.append(message)
        return JSONResponse({"name": f"projects/{request.path_params['project']}/messages/{len(self.messages)}"})


@dataclass
class FakeAPNs:
    """APNs for one auth key: HTTP/2 only, token auth, per-device answers."""

    key: ec.EllipticCurvePrivateKey
    key_id: str
    team_id: str
    topic: str
    pushes: list[dict[str, Any]] = field(default_factory=list)  # {token, headers, body}
    unregistered: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.server = ThreadedServer(self.app)
        self.url = self.server.url

    async def app(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        status, answer = self.check(scope, request.headers, await request.body())
        await JSONResponse(answer, status, headers={"apns-id": secrets.token_hex(16)})(scope, receive, send)

    def check(self, scope: dict, headers: Any, raw: bytes) -> tuple[int, dict]:
        if scope["http_version"] != "2":
            return 400, {"reason": "BadRequest (HTTP/2 required)"}
        parts = scope["path"].split("/")
        if scope["method"] != "POST" or len(parts) != 4 or parts[:3] != ["", "3", "device"]:
            return 405 if scope["method"] != "POST" else 404, {"reason": "BadPath"}
        token = parts[3]
        scheme, _, provider_token = headers.get("authorization", "").partition(" ")
        try:
            assert scheme == "bearer" and jwt.get_unverified_header(provider_token)["kid"] == self.key_id
            claims = jwt.decode(provider_token, self.key.public_key(), algorithms=["ES256"],
                                options={"require": ["iss", "iat"]})
            assert claims["iss"] == self.team_id and time.time() - claims["iat"] < 3600
        except (jwt.PyJWTError, KeyError, AssertionError):
            return 403, {"reason": "InvalidProviderToken"}
        push_type = headers.get("apns-push-type")
        wanted_topic = self.topic + (".voip" if push_type == "voip" else "")
        if push_type not in ("alert", "voip") or headers.get("apns-topic") != wanted_topic:
            return 400, {"reason": "DeviceTokenNotForTopic" if push_type else "InvalidPushType"}
        if headers.get("apns-priority") not in ("5", "10") or not headers.get("apns-expiration", "").isdigit():
            return 400, {"reason": "BadPriority"}
        if not all(c in "0123456789abcdefABCDEF" for c in token) or not token:
            return 400, {"reason": "BadDeviceToken"}
        try:
            body = json.loads(raw)
        except ValueError:
            return 400, {"reason": "PayloadEmpty"}
        if len(raw) > (APNS_MAX_BODY if push_type == "voip" else 4096) or not isinstance(body.get("aps"), dict):
            return 400, {"reason": "PayloadTooLarge" if len(raw) > 4096 else "MissingAps"}
        if token in self.unregistered:
            return 410, {"reason": "Unregistered", "timestamp": int(time.time() * 1000)}
        self.pushes.append({"token": token, "headers": dict(headers), "body": body})
        return 200, {}
