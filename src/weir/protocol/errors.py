"""The JSON error every failing request returns: ``{code, message, status_code, duration, more_info}``."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from pydantic import BaseModel

MORE_INFO = "https://github.com/weir-video/weir/blob/main/docs/errors.md"


class ErrorCode(IntEnum):
    """Stable numeric error codes; docs/errors.md lists them."""

    INTERNAL = 1
    API_KEY_NOT_FOUND = 2
    INPUT_ERROR = 4
    AUTH_FAILED = 5
    RATE_LIMITED = 9
    NOT_FOUND = 16
    NOT_ALLOWED = 17
    PAYLOAD_TOO_BIG = 22
    CONFLICT = 23
    CALL_FULL = 24
    TOKEN_EXPIRED = 40
    TOKEN_NOT_VALID_YET = 41
    TOKEN_SIGNATURE_INVALID = 43
    USER_BANNED = 44
    USER_DEACTIVATED = 45


STATUS_BY_CODE: dict[ErrorCode, int] = {
    ErrorCode.INTERNAL: 500,
    ErrorCode.API_KEY_NOT_FOUND: 401,
    ErrorCode.INPUT_ERROR: 400,
    ErrorCode.AUTH_FAILED: 401,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.NOT_ALLOWED: 403,
    ErrorCode.PAYLOAD_TOO_BIG: 413,
    ErrorCode.CONFLICT: 409,
    ErrorCode.CALL_FULL: 403,
    ErrorCode.TOKEN_EXPIRED: 401,
    ErrorCode.TOKEN_NOT_VALID_YET: 401,
    ErrorCode.TOKEN_SIGNATURE_INVALID: 401,
    ErrorCode.USER_BANNED: 403,
    ErrorCode.USER_DEACTIVATED: 403,
}


class APIErrorBody(BaseModel):
    code: int
    message: str
    status_code: int
    duration: str
    more_info: str
    exception_fields: dict[str, str] = {}


class APIError(Exception):
    """Raised anywhere in request handling; the coordinator turns it into an ``APIErrorBody``."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        fields: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status_code = STATUS_BY_CODE[code]
        self.fields = fields or {}
        self.headers = headers or {}

    def body(self, duration_ms: float) -> dict[str, Any]:
        return APIErrorBody(
            code=int(self.code),
            message=self.message,
            status_code=self.status_code,
            duration=f"{duration_ms:.2f}ms",
            more_info=MORE_INFO,
            exception_fields=self.fields,
        ).model_dump()


def input_error(field: str, message: str) -> APIError:
    """A 400 that names the offending field."""
    return APIError(ErrorCode.INPUT_ERROR, f"{field}: {message}", fields={field: message})


def not_found(what: str) -> APIError:
    return APIError(ErrorCode.NOT_FOUND, f"{what} does not exist")


def not_allowed(message: str) -> APIError:
    return APIError(ErrorCode.NOT_ALLOWED, message)
