"""Shared input limits: id patterns and the documented 5 KB cap on custom data."""

from __future__ import annotations

import json
from typing import Any

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


def has_lone_surrogate(body: bytes | str) -> bool:
    """Whether JSON text escapes a lone UTF-16 surrogate (``"\\udc00"``): Python decodes it, but no database can
    store it, so such input is refused up front."""
    raw = body.encode() if isinstance(body, str) else body
    if b"\\u" not in raw:
        return False
    try:
        json.dumps(json.loads(raw), ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return True
    except ValueError:  # malformed JSON: the parser reports it
        return False
    return False
