"""Reading a client's message: JSON text → one request model, or a ``SignalError`` saying what is wrong."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from weir.protocol.limits import json_text_problem
from weir.protocol.sfu.errors import SfuErrorCode, SignalError
from weir.protocol.sfu.requests import REQUEST_TYPES, AnyRequest, SfuRequest

MAX_MESSAGE_BYTES = 256 * 1024


def _request_id(message: dict[str, Any]) -> str | None:
    value = message.get("request_id")
    return value if isinstance(value, str) and len(value) <= 64 else None


def _location(error: ErrorDetails) -> str:
    # The first loc item is the union member's tag (e.g. "join"); the rest is the field path.
    return ".".join(str(part) for part in error["loc"][1:]) or "message"


def parse_request(raw: str | bytes) -> AnyRequest:
    """The request in ``raw``; raises ``SignalError`` (never anything else) when it is not one."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise SignalError(SfuErrorCode.INVALID_MESSAGE, f"messages are limited to {MAX_MESSAGE_BYTES} bytes")
    try:
        message = json.loads(raw)
    except (ValueError, RecursionError) as error:
        raise SignalError(SfuErrorCode.INVALID_MESSAGE, "messages must be JSON objects") from error
    if not isinstance(message, dict):
        raise SignalError(SfuErrorCode.INVALID_MESSAGE, "messages must be JSON objects")
    request_id = _request_id(message)
    kind = message.get("type")
    if not isinstance(kind, str) or kind not in REQUEST_TYPES:
        raise SignalError(SfuErrorCode.UNKNOWN_MESSAGE_TYPE, f"unknown message type {str(kind)[:64]!r}", request_id)
    problem = json_text_problem(raw)
    if problem is not None:
        raise SignalError(SfuErrorCode.INVALID_MESSAGE, "{}: {}".format(*problem), request_id)
    try:
        return SfuRequest.model_validate(message).root
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        raise SignalError(SfuErrorCode.INVALID_MESSAGE, f"{_location(first)}: {first['msg']}", request_id) from error


__all__ = ["MAX_MESSAGE_BYTES", "parse_request"]
