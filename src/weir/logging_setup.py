"""Logging for ``weir serve``: readable lines, or one JSON object per line (``--log-format json``).

Each HTTP request or WebSocket gets a ``RequestContext`` (``RequestIds`` middleware): its request id (the
client's ``X-Request-Id`` if sane, else a new one, echoed back in the response), the user id once a token was
checked (``bind_user``, from authentication) and the call cid of ``/call/{type}/{id}`` routes (read from the
routed scope when a line is written). Every record written while it runs carries them, uvicorn's access and
error lines included (uvicorn writes its access line from inside the app's ``send``).
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
import secrets
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["LogFormat", "RequestContext", "RequestIds", "bind_user", "configure_logging", "log_config"]

LogFormat = Literal["plain", "json"]
REQUEST_ID_HEADER = b"x-request-id"
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
PLAIN = "%(asctime)s %(levelname)s %(name)s: %(message)s%(context)s"


class RequestContext:
    """Who and what one request is about; the same object for the whole request, so that what a handler
    learns (the user) is seen by lines written outside it (the access line)."""

    __slots__ = ("request_id", "scope", "user_id")

    def __init__(self, request_id: str, scope: Scope) -> None:
        self.request_id = request_id
        self.scope = scope  # routing fills in path_params
        self.user_id: str | None = None

    @property
    def call_cid(self) -> str | None:
        params = self.scope.get("path_params") or {}
        call_type, call_id = params.get("type"), params.get("id")
        if not (call_type and call_id and f"/call/{call_type}/{call_id}" in self.scope.get("path", "")):
            return None
        return f"{call_type}:{call_id}"

    def fields(self) -> dict[str, str]:
        found = {"request_id": self.request_id, "user_id": self.user_id, "call_cid": self.call_cid}
        return {key: value for key, value in found.items() if value}


_current: ContextVar[RequestContext | None] = ContextVar("weir_request", default=None)


def bind_user(user_id: str | None) -> None:
    """The current request is this user's (authentication calls this)."""
    context = _current.get()
    if context is not None and user_id:
        context.user_id = user_id


class RequestIds:
    """ASGI middleware (the outermost): a ``RequestContext`` per HTTP request and WebSocket."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers", [])).get(REQUEST_ID_HEADER, b"").decode("latin-1")
        request_id = given if _SANE_ID.fullmatch(given) else secrets.token_hex(8)
        token = _current.set(RequestContext(request_id, scope))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), (REQUEST_ID_HEADER, request_id.encode())]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _current.reset(token)


class _ContextFilter(logging.Filter):
    """Puts the current request's fields on every record (``record.weir``) and in ``%(context)s``."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _current.get()
        found = context.fields() if context is not None else {}
        record.weir = found
        record.context = "".join(f" {key}={value}" for key, value in found.items())
        return True


class JsonFormatter(logging.Formatter):
    def __init__(self, process: str | None = None) -> None:
        super().__init__()
        self.process = {"process": process} if process else {}  # which of weir serve's processes wrote it

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **self.process,
            **getattr(record, "weir", {}),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def _handler(log_format: LogFormat) -> dict[str, Any]:
    return {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "filters": ["weir"],
            "formatter": log_format}


def log_config(log_format: LogFormat, level: str, process: str | None = None) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for the root logger, uvicorn's loggers sending theirs there.
    ``process`` names a child process of ``weir serve`` (a prefix of plain lines, a field of JSON ones)."""
    plain = f"{process} {PLAIN}" if process else PLAIN
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"weir": {"()": _ContextFilter}},
        "formatters": {"json": {"()": JsonFormatter, "process": process}, "plain": {"format": plain}},
        "handlers": {"default": _handler(log_format)},
        "root": {"handlers": ["default"], "level": level.upper()},
        "loggers": {name: {"handlers": [], "propagate": True} for name in ("uvicorn", "uvicorn.error",
                                                                           "uvicorn.access")},
    }


def configure_logging(log_format: LogFormat, level: str, process: str | None = None) -> None:
    """Configure this process's logging (uvicorn's included: give it ``log_config=None``)."""
    logging.config.dictConfig(log_config(log_format, level, process))
