"""Queries in SQL: a parsed filter compiled over a model's field map, and keyset (cursor) pagination.

Every compiled condition is TRUE or FALSE, never NULL (missing values are tested explicitly), so ``$not``
is the exact complement of what it wraps and ``$ne``/``$nin`` match rows where the field is null or missing.
Custom data is read per JSON type: ``{"custom.n": {"$gt": 5}}`` compares numbers only and never casts a string.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Integer,
    Numeric,
    Select,
    String,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB, array
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from weir.domain.clock import utc
from weir.domain.filters import (
    AllOf,
    AnyOf,
    Condition,
    Field,
    Filter,
    FilterError,
    Kind,
    Not,
    Op,
    Scalar,
    SortKey,
    is_storable,
    parse_timestamp,
)
from weir.store.tables import CallMemberRow, CallRow, CallSessionRow, UserRow

Row = TypeVar("Row")
Column = InstrumentedAttribute[Any]


class JsonOps(Protocol):
    """The few JSON reads that differ between SQLite and PostgreSQL."""

    def is_kind(self, column: Column, path: tuple[str, ...], kind: str) -> ColumnElement[bool]: ...
    def has(self, column: Column, path: tuple[str, ...]) -> ColumnElement[bool]: ...
    def extract(self, column: Column, path: tuple[str, ...], kind: str) -> ColumnElement[Any]: ...
    def list_has_any(self, column: Column, values: Sequence[str]) -> ColumnElement[bool]: ...
    def param(self, value: Scalar) -> Any: ...


class _SqliteJson:
    _KINDS = {"string": ("text",), "number": ("integer", "real"), "boolean": ("true", "false"), "null": ("null",)}

    @staticmethod
    def _path(path: tuple[str, ...]) -> str:
        return "$" + "".join(f'."{key}"' for key in path)  # keys are restricted to [A-Za-z0-9_-]

    @staticmethod
    def _valid(column: Column) -> ColumnElement[Any]:
        """The column, or null where it holds malformed JSON: SQLite's JSON functions fail the whole query on
        one such row (PostgreSQL never stores one)."""
        return case((func.json_valid(column) == 1, column), else_=None)

    def is_kind(self, column: Column, path: tuple[str, ...], kind: str) -> ColumnElement[bool]:
        return func.coalesce(func.json_type(self._valid(column), self._path(path)), "").in_(self._KINDS[kind])

    def has(self, column: Column, path: tuple[str, ...]) -> ColumnElement[bool]:
        return func.json_type(self._valid(column), self._path(path)).is_not(None)

    def extract(self, column: Column, path: tuple[str, ...], kind: str) -> ColumnElement[Any]:
        type_ = {"string": String(), "number": Numeric(), "boolean": Boolean()}[kind]
        return func.json_extract(self._valid(column), self._path(path), type_=type_)

    def list_has_any(self, column: Column, values: Sequence[str]) -> ColumnElement[bool]:
        items = func.json_each(self._valid(column)).table_valued("value", "type")
        return exists().select_from(items).where(items.c.type == "text", items.c.value.in_(values))

    def param(self, value: Scalar) -> Any:
        return value


class _PostgresJson:
    def is_kind(self, column: Column, path: tuple[str, ...], kind: str) -> ColumnElement[bool]:
        return func.json_typeof(column[path]) == kind

    def has(self, column: Column, path: tuple[str, ...]) -> ColumnElement[bool]:
        return column[path].is_not(None)

    def extract(self, column: Column, path: tuple[str, ...], kind: str) -> ColumnElement[Any]:
        text = column[path].as_string()
        by_kind: dict[str, ColumnElement[Any]] = {
            "string": text, "number": cast(text, Numeric()), "boolean": cast(text, Boolean())}
        return by_kind[kind]

    def list_has_any(self, column: Column, values: Sequence[str]) -> ColumnElement[bool]:
        test: ColumnElement[bool] = cast(column, JSONB).has_any(array(list(values), type_=String()))
        return test

    def param(self, value: Scalar) -> Any:
        """Numbers compare as NUMERIC: a float8 parameter would make PostgreSQL cast huge JSON numbers and fail."""
        if isinstance(value, int | float) and not isinstance(value, bool):
            return literal(Decimal(repr(value)), Numeric())
        return value


def json_ops(dialect: str) -> JsonOps:
    return _PostgresJson() if dialect == "postgresql" else _SqliteJson()


@dataclass(frozen=True)
class SqlField:
    """A filterable field: a column or SQL expression, or for list fields a "holds any of" test."""

    spec: Field
    expr: ColumnElement[Any] | Column | None = None
    has_any: Callable[[JsonOps, Sequence[str]], ColumnElement[bool]] | None = None


@dataclass(frozen=True)
class Model:
    """What one query endpoint can filter and sort by; ``key`` breaks ties so every order is total."""

    name: str
    fields: Mapping[str, SqlField]
    custom: Column
    sortable: tuple[str, ...]  # names of fields whose ``expr`` is a column
    key: Column
    default_sort: SortKey

    @property
    def filter_fields(self) -> dict[str, Field]:
        return {name: field.spec for name, field in self.fields.items()}


def compile_filter(node: Filter, model: Model, dialect: str) -> ColumnElement[bool]:
    return _Compiler(model, json_ops(dialect)).where(node)


_BINARY: dict[Op, Callable[[Any, Any], ColumnElement[bool]]] = {
    Op.EQ: lambda e, v: (e if v else not_(e)) if isinstance(v, bool) else e == v,
    Op.GT: lambda e, v: e > v,
    Op.GTE: lambda e, v: e >= v,
    Op.LT: lambda e, v: e < v,
    Op.LTE: lambda e, v: e <= v,
    Op.AUTOCOMPLETE: lambda e, v: e.istartswith(v, autoescape=True),
    Op.Q: lambda e, v: and_(true(), *(e.icontains(term, autoescape=True) for term in v.split())),
}


def _json_kind(value: Scalar) -> str:
    if isinstance(value, bool):
        return "boolean"
    return "number" if isinstance(value, int | float) else "string"


class _Compiler:
    def __init__(self, model: Model, json_ops_: JsonOps) -> None:
        self.model = model
        self.json = json_ops_

    def where(self, node: Filter) -> ColumnElement[bool]:
        if isinstance(node, AllOf):
            return and_(true(), *map(self.where, node.items))
        if isinstance(node, AnyOf):
            return or_(false(), *map(self.where, node.items))
        if isinstance(node, Not):
            return not_(self.where(node.item))
        if node.op in (Op.NE, Op.NIN):
            positive = Op.EQ if node.op is Op.NE else Op.IN
            return not_(self.where(Condition(node.field, node.path, positive, node.value)))
        if node.field == "custom":
            return self.custom(node)
        field = self.model.fields[node.field]
        if field.spec.kind is Kind.LIST:
            assert field.has_any is not None
            values = node.value if isinstance(node.value, tuple) else (node.value,)
            return field.has_any(self.json, [str(v) for v in values]) if values else false()
        assert field.expr is not None
        return _scalar_condition(field.expr, field.spec.nullable, node)

    def custom(self, node: Condition) -> ColumnElement[bool]:
        column, path = self.model.custom, node.path
        has = self.json.has(column, path)
        if node.op is Op.EXISTS:
            return has if node.value else not_(has)
        if node.op is Op.IN:
            assert isinstance(node.value, tuple)
            return or_(false(), *(self.custom(Condition(node.field, path, Op.EQ, v)) for v in node.value))
        if node.value is None:
            return or_(not_(has), self.json.is_kind(column, path, "null"))
        assert not isinstance(node.value, tuple)  # only $in holds a list, handled above
        kind = _json_kind(node.value)
        test = _BINARY[node.op](self.json.extract(column, path, kind), self.json.param(node.value))
        # CASE guarantees the extraction is only evaluated (and cast) for values of the right JSON type.
        return case((self.json.is_kind(column, path, kind), test), else_=false())


def _scalar_condition(expr: ColumnElement[Any], nullable: bool, node: Condition) -> ColumnElement[bool]:
    if node.op is Op.EXISTS:
        if not nullable:
            return true() if node.value else false()
        return expr.is_not(None) if node.value else expr.is_(None)
    if node.op is Op.IN:
        assert isinstance(node.value, tuple)
        present = [v for v in node.value if v is not None]
        test = and_(expr.is_not(None), expr.in_(present)) if nullable else expr.in_(present)
        return or_(expr.is_(None), test) if None in node.value else test
    if node.value is None:
        return expr.is_(None)
    test = _BINARY[node.op](expr, node.value)
    return and_(expr.is_not(None), test) if nullable else test


@dataclass(frozen=True)
class Page(Generic[Row]):
    rows: list[Row]
    next: str | None
    prev: str | None


@dataclass(frozen=True)
class _Key:
    name: str
    column: Column
    ascending: bool
    nullable: bool  # nulls sort last in the requested order (so first when paging backwards)
    timestamp: bool


async def fetch_page(
    session: AsyncSession, model: Model, stmt: Select[Row], sort: Sequence[SortKey], limit: int, *,
    next_cursor: str | None = None, prev_cursor: str | None = None, offset: int = 0,
) -> Page[Row]:
    """One page of ``stmt`` in ``sort`` order, after ``next_cursor`` or before ``prev_cursor``."""
    if next_cursor is not None and prev_cursor is not None:
        raise FilterError("prev", "give next or prev, not both")
    if offset and (next_cursor or prev_cursor):
        raise FilterError("offset", "cannot be combined with next or prev")
    keys = _keys(model, sort)
    backwards = prev_cursor is not None
    cursor, cursor_name = (prev_cursor, "prev") if backwards else (next_cursor, "next")
    if backwards:
        keys = [_Key(k.name, k.column, not k.ascending, k.nullable, k.timestamp) for k in keys]
    if cursor is not None:
        stmt = stmt.where(_after(keys, _decode(cursor, cursor_name, model, keys, backwards), nulls_last=not backwards))
    stmt = stmt.order_by(*(_order(k, nulls_last=not backwards) for k in keys)).offset(offset).limit(limit + 1)
    rows = list((await session.scalars(stmt)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
        keys = _keys(model, sort)
    first = _encode(model, keys, rows[0]) if rows else None
    last = _encode(model, keys, rows[-1]) if rows else None
    if backwards:
        return Page(rows, last, first if more else None)
    return Page(rows, last if more else None, first if (cursor is not None or offset) else None)


def _keys(model: Model, sort: Sequence[SortKey]) -> list[_Key]:
    keys = []
    for key in sort:
        spec = model.fields[key.field].spec
        column = model.fields[key.field].expr
        assert isinstance(column, InstrumentedAttribute)
        keys.append(_Key(key.field, column, key.ascending, spec.nullable, spec.kind is Kind.DATETIME))
    return [*keys, _Key(model.key.key, model.key, True, False, False)]


def _order(key: _Key, nulls_last: bool) -> ColumnElement[Any]:
    order = key.column.asc() if key.ascending else key.column.desc()
    if not key.nullable:
        return order
    return order.nulls_last() if nulls_last else order.nulls_first()


def _after(keys: Sequence[_Key], values: Sequence[Any], nulls_last: bool) -> ColumnElement[bool]:
    """Rows strictly after ``values`` in the (lexicographic) order of ``keys``."""
    alternatives = []
    equal: list[ColumnElement[bool]] = []
    for key, value in zip(keys, values, strict=True):
        column = key.column
        beyond: ColumnElement[bool]
        if value is None:
            beyond = false() if nulls_last else column.is_not(None)
            same = column.is_(None)
        else:
            beyond = column > value if key.ascending else column < value
            if key.nullable and nulls_last:
                beyond = or_(beyond, column.is_(None))
            same = column == value
        alternatives.append(and_(true(), *equal, beyond))
        equal.append(same)
    return or_(*alternatives)


def _signature(model: Model, keys: Sequence[_Key]) -> str:
    return model.name + ":" + ",".join(f"{k.name}{'+' if k.ascending else '-'}" for k in keys)


def _encode(model: Model, keys: Sequence[_Key], row: Any) -> str:
    values = []
    for key in keys:
        value = getattr(row, key.column.key)
        values.append(utc(value).isoformat() if isinstance(value, datetime) else value)
    raw = json.dumps({"q": _signature(model, keys), "v": values}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str, name: str, model: Model, keys: Sequence[_Key], backwards: bool) -> list[Any]:
    """The key values a cursor holds; ``keys`` are in query order (reversed when paging backwards)."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise FilterError(name, "is not a cursor this server issued") from None
    forward_keys = [_Key(k.name, k.column, k.ascending != backwards, k.nullable, k.timestamp) for k in keys]
    if not isinstance(data, dict) or data.get("q") != _signature(model, forward_keys):
        raise FilterError(name, "was issued for a different query or sort")
    values = data.get("v")
    if not isinstance(values, list) or len(values) != len(keys):
        raise FilterError(name, "is not a cursor this server issued")
    return [_cursor_value(key, value, name) for key, value in zip(keys, values, strict=True)]


def _cursor_value(key: _Key, value: Any, name: str) -> Any:
    if value is None and key.nullable:
        return None
    if key.timestamp:
        parsed = parse_timestamp(value)
        if parsed is not None:
            return parsed
    elif isinstance(key.column.type, Integer):  # numeric sort keys (e.g. a report's duration_seconds)
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**63:
            return value
    elif isinstance(value, str) and is_storable(value):
        return value
    raise FilterError(name, f"holds an invalid {key.name}")


def _holds_any_member(_json: JsonOps, user_ids: Sequence[str]) -> ColumnElement[bool]:
    return exists().where(CallMemberRow.call_cid == CallRow.cid, CallMemberRow.user_id.in_(user_ids))


def _holds_any_team(json_: JsonOps, teams: Sequence[str]) -> ColumnElement[bool]:
    return json_.list_has_any(UserRow.teams, teams)


_STRING, _TIME, _BOOL = Field(Kind.STRING), Field(Kind.DATETIME), Field(Kind.BOOL)
_MAYBE_STRING, _MAYBE_TIME = Field(Kind.STRING, nullable=True), Field(Kind.DATETIME, nullable=True)

CALLS = Model(
    name="calls",
    fields={
        "id": SqlField(_STRING, CallRow.id), "cid": SqlField(_STRING, CallRow.cid),
        "type": SqlField(_STRING, CallRow.type), "created_by_user_id": SqlField(_STRING, CallRow.created_by_id),
        "created_at": SqlField(_TIME, CallRow.created_at), "updated_at": SqlField(_TIME, CallRow.updated_at),
        "starts_at": SqlField(_MAYBE_TIME, CallRow.starts_at), "ended_at": SqlField(_MAYBE_TIME, CallRow.ended_at),
        "team": SqlField(_MAYBE_STRING, CallRow.team), "backstage": SqlField(_BOOL, CallRow.backstage),
        "members": SqlField(Field(Kind.LIST), has_any=_holds_any_member),
        # A call is ongoing while its current session has started (someone joined) and not ended.
        "ongoing": SqlField(_BOOL, exists().where(
            CallSessionRow.id == CallRow.current_session_id, CallSessionRow.started_at.is_not(None),
            CallSessionRow.ended_at.is_(None),
        )),
    },
    custom=CallRow.custom,
    sortable=("created_at", "updated_at", "starts_at", "ended_at", "cid", "type", "id"),
    key=CallRow.cid,
    default_sort=SortKey("created_at", ascending=False),
)

MEMBERS = Model(
    name="members",
    fields={
        "user_id": SqlField(_STRING, CallMemberRow.user_id), "role": SqlField(_STRING, CallMemberRow.role),
        "created_at": SqlField(_TIME, CallMemberRow.created_at),
        "updated_at": SqlField(_TIME, CallMemberRow.updated_at),
    },
    custom=CallMemberRow.custom,
    sortable=("user_id", "created_at", "updated_at", "role"),
    key=CallMemberRow.user_id,
    default_sort=SortKey("created_at", ascending=True),
)

USERS = Model(
    name="users",
    fields={
        "id": SqlField(_STRING, UserRow.id), "name": SqlField(_MAYBE_STRING, UserRow.name),
        "role": SqlField(_STRING, UserRow.role), "teams": SqlField(Field(Kind.LIST), has_any=_holds_any_team),
        # As ``store.users.is_banned``: a ban holds until lifted or until its timeout passes.
        "banned": SqlField(_BOOL, and_(UserRow.banned.is_(True), or_(
            UserRow.ban_expires.is_(None), UserRow.ban_expires > func.now()))),
        "created_at": SqlField(_TIME, UserRow.created_at), "updated_at": SqlField(_TIME, UserRow.updated_at),
        "last_active": SqlField(_MAYBE_TIME, UserRow.last_active),
    },
    custom=UserRow.custom,
    sortable=("id", "name", "role", "created_at", "updated_at", "last_active"),
    key=UserRow.id,
    default_sort=SortKey("created_at", ascending=False),
)
