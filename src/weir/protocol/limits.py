"""Shared input limits: id patterns, and the JSON that no database can store."""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from weir.domain.clock import utc

CALL_ID_PATTERN = r"^[A-Za-z0-9_\-]{1,64}$"
CALL_TYPE_PATTERN = r"^[a-z0-9_\-]{1,64}$"
USER_ID_CHARACTERS = r"[@A-Za-z0-9_\-.!]{1,255}"
USER_ID_PATTERN = f"^{USER_ID_CHARACTERS}$"
ROLE_PATTERN = r"^[a-z0-9_\-]{1,64}$"


def _unstorable(text: str) -> bool:
    if "\x00" in text:
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return True
    return False


class _NonFinite:
    """Stands in for NaN, Infinity and numbers too large for a float while a request's JSON is checked."""


_NON_FINITE = _NonFinite()


def _checked_float(text: str) -> float | _NonFinite:
    value = float(text)
    return value if math.isfinite(value) else _NON_FINITE


def _is_bad(value: Any) -> str | None:
    if value is _NON_FINITE:
        return "numbers must be finite (NaN and Infinity are not JSON)"
    if isinstance(value, str) and _unstorable(value):
        return "text must be valid Unicode without NUL characters"
    return None


def _find_bad(value: Any, path: str) -> tuple[str, str] | None:
    """The path and the problem of the first value no database can store (iterative: depth is no limit)."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        problem = _is_bad(item)
        if problem is not None:
            return where or "body", problem
        if isinstance(item, dict):
            for key in item:
                if _unstorable(key):
                    return where or "body", "keys must be valid Unicode without NUL characters"
            stack.extend((child, f"{where}.{key}" if where else str(key)) for key, child in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend((child, f"{where}.{i}" if where else str(i)) for i, child in reversed(list(enumerate(item))))
    return None


def json_text_problem(body: bytes | str) -> tuple[str, str] | None:
    """``(path, problem)`` for the first value in a JSON text that no database can store: a non-finite number
    (``NaN``, ``Infinity``, ``1e999``), a NUL character or a lone UTF-16 surrogate; else None. Malformed JSON is
    left to the parser."""
    raw = body.encode() if isinstance(body, str) else body
    flagged = False

    def constant(_name: str) -> _NonFinite:
        nonlocal flagged
        flagged = True
        return _NON_FINITE

    def number(text: str) -> float | _NonFinite:
        nonlocal flagged
        value = _checked_float(text)
        flagged = flagged or value is _NON_FINITE
        return value

    try:
        parsed = json.loads(raw, parse_constant=constant, parse_float=number)
    except (ValueError, RecursionError):
        return None
    if not flagged and b"\\u" not in raw:
        return None
    return _find_bad(parsed, "")


def utc_datetime(value: datetime | None) -> datetime | None:
    """A request's timestamp in UTC; one that falls outside the representable range is a validation error."""
    try:
        return utc(value)
    except OverflowError:
        raise ValueError("date is out of range") from None
