"""Shared input limits: id patterns and the documented 5 KB cap on custom data."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from weir.domain.clock import utc

CUSTOM_MAX_BYTES = 5 * 1024
CALL_ID_PATTERN = r"^[A-Za-z0-9_\-]{1,64}$"
CALL_TYPE_PATTERN = r"^[a-z0-9_\-]{1,64}$"
USER_ID_PATTERN = r"^[@A-Za-z0-9_\-.!]{1,255}$"
ROLE_PATTERN = r"^[a-z0-9_\-]{1,64}$"


def check_custom(value: dict[str, Any]) -> dict[str, Any]:
    """Custom data is capped at 5 KB of JSON, as documented."""
    if len(json.dumps(value, separators=(",", ":"), default=str).encode()) > CUSTOM_MAX_BYTES:
        raise ValueError(f"custom data must be at most {CUSTOM_MAX_BYTES} bytes of JSON")
    return value


def _unstorable(text: str) -> bool:
    if "\x00" in text:
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return True
    return False


def _find_unstorable(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        return path if _unstorable(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            if _unstorable(key):
                return path or "body"
            found = _find_unstorable(item, inner)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _find_unstorable(item, f"{path}.{index}" if path else str(index))
            if found is not None:
                return found
    return None


def unstorable_text(body: bytes | str) -> str | None:
    """The path of the first string in a JSON text that no database can store (a NUL character or a lone UTF-16
    surrogate, both only reachable through ``\\u`` escapes), or None. Malformed JSON is left to the parser."""
    raw = body.encode() if isinstance(body, str) else body
    if b"\\u" not in raw:
        return None
    try:
        return _find_unstorable(json.loads(raw), "")
    except ValueError:
        return None


def utc_datetime(value: datetime | None) -> datetime | None:
    """A request's timestamp in UTC; one that falls outside the representable range is a validation error."""
    try:
        return utc(value)
    except OverflowError:
        raise ValueError("date is out of range") from None
