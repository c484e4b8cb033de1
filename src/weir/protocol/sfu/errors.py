"""Signaling error codes, and what a client should do about each (docs/protocol.md, "Errors")."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from weir.protocol.sfu.models import ReconnectStrategy


class SfuErrorCode(StrEnum):
    INVALID_MESSAGE = "invalid_message"
    UNKNOWN_MESSAGE_TYPE = "unknown_message_type"
    NOT_JOINED = "not_joined"
    ALREADY_JOINED = "already_joined"
    INVALID_TOKEN = "invalid_token"
    TOKEN_EXPIRED = "token_expired"
    SESSION_NOT_FOUND = "session_not_found"
    PERMISSION_DENIED = "permission_denied"
    NEGOTIATION_FAILED = "negotiation_failed"
    MEDIA_CONNECTION_FAILED = "media_connection_failed"
    REMOVED_FROM_CALL = "removed_from_call"
    SESSION_REPLACED = "session_replaced"
    INTERNAL_ERROR = "internal_error"
    RATE_LIMITED = "rate_limited"


@dataclass(frozen=True)
class ErrorPolicy:
    """Whether the SFU closes the socket after the error, and how the client should reconnect."""

    closes: bool
    strategy: ReconnectStrategy
    should_retry: bool


POLICIES: dict[SfuErrorCode, ErrorPolicy] = {
    SfuErrorCode.INVALID_MESSAGE: ErrorPolicy(False, "unspecified", False),
    SfuErrorCode.UNKNOWN_MESSAGE_TYPE: ErrorPolicy(False, "unspecified", False),
    SfuErrorCode.NOT_JOINED: ErrorPolicy(False, "unspecified", False),
    SfuErrorCode.ALREADY_JOINED: ErrorPolicy(False, "unspecified", False),
    SfuErrorCode.INVALID_TOKEN: ErrorPolicy(True, "disconnect", False),
    SfuErrorCode.TOKEN_EXPIRED: ErrorPolicy(True, "rejoin", True),
    SfuErrorCode.SESSION_NOT_FOUND: ErrorPolicy(True, "rejoin", True),
    SfuErrorCode.PERMISSION_DENIED: ErrorPolicy(False, "unspecified", False),
    SfuErrorCode.NEGOTIATION_FAILED: ErrorPolicy(False, "unspecified", True),
    SfuErrorCode.MEDIA_CONNECTION_FAILED: ErrorPolicy(True, "rejoin", True),
    SfuErrorCode.REMOVED_FROM_CALL: ErrorPolicy(True, "disconnect", False),
    SfuErrorCode.SESSION_REPLACED: ErrorPolicy(True, "disconnect", False),
    SfuErrorCode.INTERNAL_ERROR: ErrorPolicy(False, "unspecified", True),
    SfuErrorCode.RATE_LIMITED: ErrorPolicy(True, "disconnect", False),
}


class SignalError(Exception):
    """A request the SFU refuses; it becomes an ``error`` event (and, by the code's policy, a close)."""

    def __init__(self, code: SfuErrorCode, message: str, request_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id

    @property
    def policy(self) -> ErrorPolicy:
        return POLICIES[self.code]


__all__ = ["POLICIES", "ErrorPolicy", "SfuErrorCode", "SignalError"]
