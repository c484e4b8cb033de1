"""Free-form JSON (custom data, notification data, client stats): one check wherever it enters.

Every such value must nest at most ``JSON_MAX_DEPTH`` levels and hold only finite numbers, so that it can be
stored, read back, filtered on and sent in events; custom data is also capped at 5 KB. ``Custom`` and
``FreeForm`` are the pydantic types request models use; ``readable_custom`` applies the same rules to what is
read back from the database.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Annotated, Any

from pydantic import AfterValidator

JSON_MAX_DEPTH = 32
CUSTOM_MAX_BYTES = 5 * 1024

log = logging.getLogger("weir.protocol")


def json_problem(value: Any, max_depth: int = JSON_MAX_DEPTH) -> str | None:
    """What makes ``value`` unfit to store as JSON (too deep, a non-finite number), or None.

    Iterative, so no input can exhaust the stack. A scalar is depth 0; each object or array adds a level.
    """
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= max_depth:
                return f"must nest at most {max_depth} levels deep"
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
        elif isinstance(item, float) and not math.isfinite(item):
            return "numbers must be finite (NaN and Infinity are not JSON)"
    return None


def check_json(value: Any) -> Any:
    problem = json_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def check_custom(value: dict[str, Any]) -> dict[str, Any]:
    """Free-form rules, plus the documented cap of 5 KB of JSON."""
    check_json(value)
    if len(json.dumps(value, separators=(",", ":"), default=str).encode()) > CUSTOM_MAX_BYTES:
        raise ValueError(f"custom data must be at most {CUSTOM_MAX_BYTES} bytes of JSON")
    return value


Custom = Annotated[dict[str, Any], AfterValidator(check_custom)]
FreeForm = Annotated[dict[str, Any], AfterValidator(check_json)]


def readable_custom(value: Any, where: str) -> dict[str, Any]:
    """Stored custom data as a response may show it: data that breaks the rules (written before they held, or
    by hand) is dropped and logged, so one bad row never fails a listing for everyone."""
    if value is None:
        return {}
    if isinstance(value, dict) and json_problem(value) is None:
        return value
    log.warning("dropping unreadable custom data of %s", where)
    return {}
