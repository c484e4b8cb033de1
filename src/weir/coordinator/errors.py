"""Map every failure to the JSON error body; nothing escapes as a bare 500 page."""

from __future__ import annotations

import json
import logging
import time

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from weir.protocol.errors import APIError, ErrorCode

log = logging.getLogger("weir.coordinator")


def _elapsed_ms(request: Request) -> float:
    started: float = request.scope.get("weir.started", time.perf_counter())
    return (time.perf_counter() - started) * 1000


def error_response(request: Request, error: APIError) -> JSONResponse:
    return JSONResponse(error.body(_elapsed_ms(request)), status_code=error.status_code, headers=error.headers)


def _field_name(loc: tuple[object, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def validation_error(exc: RequestValidationError) -> APIError:
    fields: dict[str, str] = {}
    for problem in exc.errors():
        kind = problem.get("type", "")
        name = _field_name(tuple(problem.get("loc", ())))
        if kind == "json_invalid":
            name = "body"
            message = "malformed JSON"
        elif kind == "extra_forbidden":
            message = "unknown field"
        else:
            message = str(problem.get("msg", "invalid value"))
        fields.setdefault(name, message)
    summary = "; ".join(f"{k}: {v}" for k, v in fields.items())
    return APIError(ErrorCode.INPUT_ERROR, f"invalid request: {summary}", fields=fields)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(APIError)
    async def on_api_error(request: Request, exc: APIError) -> JSONResponse:
        return error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(request, validation_error(exc))

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: ErrorCode.NOT_FOUND, 405: ErrorCode.NOT_ALLOWED}.get(exc.status_code, ErrorCode.INPUT_ERROR)
        message = str(exc.detail)
        if exc.status_code in (404, 405) and message in ("Not Found", "Method Not Allowed"):
            message = f"no route for {request.method} {request.url.path} (see /docs for the API)"
        error = APIError(code, message)
        error.status_code = exc.status_code
        return error_response(request, error)

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(request, APIError(ErrorCode.INTERNAL, "internal error"))


class RequestGuard:
    """ASGI middleware: stamps the start time and refuses bodies over ``max_bytes`` with a 413 JSON error."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope["weir.started"] = time.perf_counter()
        headers = dict(scope.get("headers", []))
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_big(send)
            return
        # Chunked bodies declare no length: read the body here (bounded), so that the 413 is sent before any
        # handler starts, then hand the app what was read.
        buffered = await self._read_body(receive)
        if buffered is None:
            await self._too_big(send)
            return

        async def replay() -> Message:
            return buffered.pop(0) if buffered else await receive()

        await self.app(scope, replay, send)

    async def _read_body(self, receive: Receive) -> list[Message] | None:
        """The request's messages up to the body's end (or a disconnect); None once the body passes the limit."""
        messages: list[Message] = []
        received = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return messages
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                return None
            if not message.get("more_body", False):
                return messages

    def _error(self) -> APIError:
        return APIError(ErrorCode.PAYLOAD_TOO_BIG, f"request body is larger than {self.max_bytes} bytes")

    async def _too_big(self, send: Send) -> None:
        body = json.dumps(self._error().body(0.0)).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

