"""The query filter language: Mongo-like JSON parsed into a small typed tree, and sort specifications.

A filter is an object whose keys are field names (``"type"``, ``"custom.color"``) or the combinators
``$and``/``$or`` (lists of filters) and ``$not`` (one filter). A field maps to a value (``{"type": "default"}``
means ``$eq``) or to an object of operators, all of which must hold. Pure: no SQL, no I/O. Every problem
raises ``FilterError`` naming the path of the offending part, e.g. ``filter_conditions.created_at.$foo``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum

MAX_DEPTH = 5  # levels of $and/$or/$not nesting, counting the top-level object
MAX_LIST = 100  # values in one $in/$nin
MAX_CONDITIONS = 100  # field conditions in one filter
MAX_STRING = 1024
CUSTOM_PREFIX = "custom."
CUSTOM_KEY = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
MAX_CUSTOM_DEPTH = 5
INT64 = 2**63 - 1


class FilterError(ValueError):
    """A filter, sort or cursor the server cannot accept; ``path`` names the offending part."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


class Op(str, Enum):
    EQ = "$eq"
    NE = "$ne"
    IN = "$in"
    NIN = "$nin"
    GT = "$gt"
    GTE = "$gte"
    LT = "$lt"
    LTE = "$lte"
    EXISTS = "$exists"
    AUTOCOMPLETE = "$autocomplete"
    Q = "$q"
    CONTAINS = "$contains"


# ``$neq`` is the recording filter's spelling; the seed's member example writes operators without ``$``.
_OPERATOR_NAMES: dict[str, Op] = {
    **{op.value: op for op in Op}, **{op.value[1:]: op for op in Op}, "$neq": Op.NE, "neq": Op.NE,
}
_COMPARISONS = frozenset({Op.GT, Op.GTE, Op.LT, Op.LTE})


class Kind(Enum):
    """What a field holds, which decides its operators and value types."""

    STRING = "string"
    DATETIME = "datetime"
    BOOL = "boolean"
    NUMBER = "number"
    LIST = "list of strings"  # $eq/$contains: holds the value; $in: holds any of them
    JSON = "JSON value"  # custom data: string, number, boolean or null


_OPERATORS: dict[Kind, frozenset[Op]] = {
    Kind.STRING: frozenset(Op) - {Op.CONTAINS},
    Kind.DATETIME: frozenset({Op.EQ, Op.NE, Op.IN, Op.NIN, Op.EXISTS}) | _COMPARISONS,
    Kind.BOOL: frozenset({Op.EQ, Op.NE, Op.EXISTS}),
    Kind.NUMBER: frozenset({Op.EQ, Op.NE, Op.IN, Op.NIN, Op.EXISTS}) | _COMPARISONS,
    Kind.LIST: frozenset({Op.EQ, Op.NE, Op.IN, Op.NIN, Op.CONTAINS}),
    Kind.JSON: frozenset(Op) - {Op.CONTAINS},
}


@dataclass(frozen=True)
class Field:
    kind: Kind
    nullable: bool = False

    @property
    def operators(self) -> frozenset[Op]:
        return _OPERATORS[self.kind]


CUSTOM_FIELD = Field(Kind.JSON, nullable=True)

Scalar = str | int | float | bool | datetime | None


@dataclass(frozen=True)
class Condition:
    """One operator on one field; ``path`` is the key path inside ``custom`` (empty for other fields)."""

    field: str
    path: tuple[str, ...]
    op: Op
    value: Scalar | tuple[Scalar, ...]


@dataclass(frozen=True)
class AllOf:
    items: tuple[Filter, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Filter, ...]


@dataclass(frozen=True)
class Not:
    item: Filter


Filter = Condition | AllOf | AnyOf | Not


def parse_filter(raw: object, fields: Mapping[str, Field], *, root: str = "filter_conditions") -> Filter:
    """Parse ``raw`` (decoded JSON) against the filterable ``fields``; ``custom.<key>`` is always allowed."""
    return _Parser(fields).filter(raw, root, 1)


class _Parser:
    def __init__(self, fields: Mapping[str, Field]) -> None:
        self.fields = fields
        self.conditions = 0

    def filter(self, raw: object, path: str, depth: int) -> Filter:
        if not isinstance(raw, dict):
            raise FilterError(path, "must be an object")
        if depth > MAX_DEPTH:
            raise FilterError(path, f"filters may nest at most {MAX_DEPTH} levels deep")
        items: list[Filter] = []
        for key, value in raw.items():
            where = f"{path}.{key}"
            if key in ("$and", "$or"):
                items.append(self.group(key, value, where, depth))
            elif key == "$not":
                items.append(Not(self.filter(value, where, depth + 1)))
            elif key.startswith("$"):
                raise FilterError(where, "unknown combinator; use $and, $or or $not, or a field name")
            else:
                items.extend(self.field(key, value, where))
        return items[0] if len(items) == 1 else AllOf(tuple(items))

    def group(self, key: str, raw: object, path: str, depth: int) -> Filter:
        if not isinstance(raw, list) or not raw:
            raise FilterError(path, "must be a non-empty list of filters")
        items = tuple(self.filter(item, f"{path}.{i}", depth + 1) for i, item in enumerate(raw))
        return AllOf(items) if key == "$and" else AnyOf(items)

    def field(self, name: str, raw: object, path: str) -> list[Filter]:
        spec, field, key_path = self.resolve(name, path)
        if not isinstance(raw, dict):
            return [self.condition(spec, field, key_path, Op.EQ, raw, path)]
        if not raw:
            raise FilterError(path, "needs a value or at least one operator")
        conditions: list[Filter] = []
        for key, value in raw.items():
            op = _OPERATOR_NAMES.get(key)
            if op is None:
                raise FilterError(f"{path}.{key}", f"unknown operator; use one of {_names(spec.operators)}")
            conditions.append(self.condition(spec, field, key_path, op, value, f"{path}.{key}"))
        return conditions

    def resolve(self, name: str, path: str) -> tuple[Field, str, tuple[str, ...]]:
        if name in self.fields:
            return self.fields[name], name, ()
        if name.startswith(CUSTOM_PREFIX):
            keys = tuple(name[len(CUSTOM_PREFIX):].split("."))
            if len(keys) > MAX_CUSTOM_DEPTH or not all(CUSTOM_KEY.match(k) for k in keys):
                raise FilterError(path, f"custom keys are 1-64 letters, digits, '_' or '-', at most "
                                        f"{MAX_CUSTOM_DEPTH} levels (custom.a.b)")
            return CUSTOM_FIELD, "custom", keys
        known = ", ".join([*sorted(self.fields), "custom.<key>"])
        raise FilterError(path, f"unknown field; filterable fields are {known}")

    def condition(self, spec: Field, field: str, key_path: tuple[str, ...], op: Op, raw: object,
                  path: str) -> Condition:
        if op not in spec.operators:
            raise FilterError(path, f"{op.value} does not apply to this field; use one of {_names(spec.operators)}")
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise FilterError(path, f"a filter may hold at most {MAX_CONDITIONS} conditions")
        return Condition(field, key_path, op, _value(spec, op, raw, path))


def _names(ops: frozenset[Op]) -> str:
    return ", ".join(op.value for op in Op if op in ops)


def _value(spec: Field, op: Op, raw: object, path: str) -> Scalar | tuple[Scalar, ...]:
    if op is Op.EXISTS:
        if not isinstance(raw, bool):
            raise FilterError(path, "must be true or false")
        return raw
    if op in (Op.IN, Op.NIN):
        if not isinstance(raw, list):
            raise FilterError(path, "must be a list")
        if len(raw) > MAX_LIST:
            raise FilterError(path, f"may hold at most {MAX_LIST} values")
        return tuple(_scalar(spec, item, f"{path}.{i}", spec.nullable) for i, item in enumerate(raw))
    if op in (Op.AUTOCOMPLETE, Op.Q):
        if not isinstance(raw, str) or not raw.strip():
            raise FilterError(path, "must be a non-empty string")
        return _string(raw, path)
    if op in _COMPARISONS:
        if raw is None or isinstance(raw, bool):
            raise FilterError(path, "must be a string, number or timestamp to compare with")
        return _scalar(spec, raw, path, False)
    return _scalar(spec, raw, path, spec.nullable and spec.kind is not Kind.LIST)


def _scalar(spec: Field, raw: object, path: str, allow_null: bool) -> Scalar:
    if raw is None:
        if allow_null:
            return None
        raise FilterError(path, "may not be null")
    if spec.kind is Kind.BOOL:
        if not isinstance(raw, bool):
            raise FilterError(path, "must be true or false")
        return raw
    if spec.kind is Kind.DATETIME:
        return _timestamp(raw, path)
    if spec.kind is Kind.NUMBER:
        if not isinstance(raw, int | float) or isinstance(raw, bool) or raw != raw or abs(raw) > 2**53:
            raise FilterError(path, "must be a number")
        return raw
    if spec.kind is Kind.JSON:
        return _json_scalar(raw, path)
    if not isinstance(raw, str):
        raise FilterError(path, "must be a string")
    return _string(raw, path)


def _string(raw: str, path: str) -> str:
    if len(raw) > MAX_STRING:
        raise FilterError(path, f"must be at most {MAX_STRING} characters")
    if not is_storable(raw):
        raise FilterError(path, "must be valid UTF-8 text without NUL characters")
    return raw


def is_storable(text: str) -> bool:
    """Whether both databases accept ``text``: PostgreSQL refuses NUL, and lone surrogates are not UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def _json_scalar(raw: object, path: str) -> Scalar:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int):
        if abs(raw) > INT64:
            raise FilterError(path, "integers must fit in 64 bits")
        return raw
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise FilterError(path, "must be a finite number")
        return raw
    if isinstance(raw, str):
        return _string(raw, path)
    raise FilterError(path, "must be a string, number, boolean or null")


def parse_timestamp(raw: object) -> datetime | None:
    """An RFC 3339 timestamp as an aware UTC datetime (no offset means UTC), or None if it is not one."""
    if not isinstance(raw, str) or len(raw) > 64:
        return None
    try:
        value = datetime.fromisoformat(raw)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _timestamp(raw: object, path: str) -> datetime:
    value = parse_timestamp(raw)
    if value is None:
        raise FilterError(path, "must be an RFC 3339 timestamp such as 2021-01-15T09:30:20.45Z")
    return value


@dataclass(frozen=True)
class SortKey:
    field: str
    ascending: bool


def parse_sort(
    items: Sequence[tuple[str, int]], sortable: Sequence[str], default: SortKey, *, root: str = "sort"
) -> tuple[SortKey, ...]:
    """``[(field, 1 | -1)]`` → sort keys; an empty list gives ``default``."""
    keys: list[SortKey] = []
    for i, (field, direction) in enumerate(items):
        if field not in sortable:
            raise FilterError(f"{root}.{i}.field", f"cannot sort by {field!r}; use one of {', '.join(sortable)}")
        if any(key.field == field for key in keys):
            raise FilterError(f"{root}.{i}.field", f"sorts by {field!r} twice")
        keys.append(SortKey(field, direction >= 0))
    return tuple(keys) or (default,)
