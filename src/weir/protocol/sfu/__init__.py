"""Weir's SFU signaling protocol: the one definition of every message (docs/protocol.md).

``models`` holds the shared types, ``requests`` what clients send, ``events`` what the SFU sends, ``errors`` the
error codes and ``parse`` the reader of client messages; ``schema`` exports it all as JSON Schema.
"""

from weir.protocol.sfu.errors import SfuErrorCode, SignalError
from weir.protocol.sfu.events import EVENT_TYPES, AnyEvent, SfuEvent
from weir.protocol.sfu.parse import parse_request
from weir.protocol.sfu.requests import REQUEST_TYPES, AnyRequest, SfuRequest

__all__ = [
    "EVENT_TYPES", "REQUEST_TYPES", "AnyEvent", "AnyRequest", "SfuErrorCode", "SfuEvent", "SfuRequest",
    "SignalError", "parse_request",
]
