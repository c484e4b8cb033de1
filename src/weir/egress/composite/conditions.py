"""The seed's participant filter DSL and custom-action conditions, in Python: a mirror of the layout page's
``web/src/layout/conditions.ts`` (the page evaluates them while recording; this one serves previews, checks and
tests). Both pass the same cases, ``web/src/layout/conditions.cases.json``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["ConditionError", "matches"]

SCALAR_OPERATORS = {"$eq", "$neq", "$in", "$contains", "$gt", "$gte", "$lt", "$lte"}
MISSING = object()  # a property the subject lacks (JavaScript's undefined: equal to nothing, not even null)


class ConditionError(ValueError):
    """A condition the DSL does not have (an unknown operator, ``$and`` without a list...)."""


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same(a: Any, b: Any) -> bool:
    # JavaScript's ===: true is not 1, and lists compare item by item
    if a is MISSING:
        return False
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict | list) or isinstance(b, dict | list):
        return False
    return bool(a == b) and (_number(a) == _number(b))


def _compare(actual: Any, operator: str, expected: Any) -> bool:
    if operator == "$eq":
        return _same(actual, expected)
    if operator == "$neq":
        return not _same(actual, expected)
    if operator == "$in":
        if not isinstance(expected, list):
            raise ConditionError("$in takes a list")
        return any(_same(actual, item) for item in expected)
    if operator == "$contains":
        return isinstance(actual, list) and any(_same(item, expected) for item in actual)
    if not (_number(actual) and _number(expected)):
        return False
    if operator == "$gt":
        return bool(actual > expected)
    if operator == "$gte":
        return bool(actual >= expected)
    if operator == "$lt":
        return bool(actual < expected)
    return bool(actual <= expected)


def _field(actual: Any, test: Any) -> bool:
    if not isinstance(test, dict):
        return _same(actual, test)
    if not all(operator in SCALAR_OPERATORS for operator in test):
        raise ConditionError(f"unknown operator in {test}")
    return all(_compare(actual, operator, expected) for operator, expected in test.items())


def _conditions(value: Any, operator: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ConditionError(f"{operator} takes a list of conditions")
    return value


def matches(condition: Mapping[str, Any], subject: Mapping[str, Any]) -> bool:
    """Whether ``subject`` (a participant, or the call's counts) meets ``condition``; every key must hold."""
    for key, test in condition.items():
        if key == "$and":
            held = all(matches(c, subject) for c in _conditions(test, key))
        elif key == "$or":
            held = any(matches(c, subject) for c in _conditions(test, key))
        elif key == "$not":
            if not isinstance(test, dict):
                raise ConditionError("$not takes a condition")
            held = not matches(test, subject)
        elif key.startswith("$"):
            raise ConditionError(f"unknown operator {key}")
        else:
            held = _field(subject.get(key, MISSING), test)
        if not held:
            return False
    return True
