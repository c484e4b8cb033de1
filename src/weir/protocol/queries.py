"""JSON models of the query endpoints: QueryCalls, QueryMembers and QueryUsers."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from weir.protocol.calls import CallStateResponse, MemberResponse
from weir.protocol.limits import CALL_ID_PATTERN, CALL_TYPE_PATTERN
from weir.protocol.users import UserResponse

QUERY_LIMIT_DEFAULT = 25
QUERY_LIMIT_MAX = 100
QUERY_OFFSET_MAX = 1000
SORT_KEYS_MAX = 5
CURSOR_MAX_LENGTH = 4096


class SortParam(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str = Field(max_length=64)
    direction: Literal[1, -1] = Field(default=1, description="1 ascending, -1 descending")


class QueryRequest(BaseModel):
    """What every query takes; ``next``/``prev`` are the opaque cursors a previous page returned."""

    model_config = ConfigDict(extra="forbid")

    filter_conditions: dict[str, Any] | None = None
    sort: list[SortParam] | None = Field(default=None, max_length=SORT_KEYS_MAX)
    limit: int | None = Field(default=None, ge=1, le=QUERY_LIMIT_MAX, description="Default 25")
    next: str | None = Field(default=None, max_length=CURSOR_MAX_LENGTH)
    prev: str | None = Field(default=None, max_length=CURSOR_MAX_LENGTH)

    # Clients send "" for "no cursor".
    _cursor = field_validator("next", "prev")(lambda v: v or None)

    @property
    def page_size(self) -> int:
        return self.limit or QUERY_LIMIT_DEFAULT

    @property
    def sort_pairs(self) -> list[tuple[str, int]]:
        return [(s.field, s.direction) for s in self.sort or []]


class QueryCallsRequest(QueryRequest):
    watch: bool = Field(default=False, description="Accepted; realtime watching is not implemented yet")


class QueryMembersRequest(QueryRequest):
    type: str = Field(pattern=CALL_TYPE_PATTERN)
    id: str = Field(pattern=CALL_ID_PATTERN)


class QueryUsersRequest(QueryRequest):
    offset: int = Field(default=0, ge=0, le=QUERY_OFFSET_MAX, description="Rows to skip; not with next/prev")
    include_deactivated_users: bool = False


class QueryCallsResponse(BaseModel):
    calls: list[CallStateResponse]
    next: str | None = None
    prev: str | None = None
    duration: str = ""


class QueryMembersResponse(BaseModel):
    members: list[MemberResponse]
    next: str | None = None
    prev: str | None = None
    duration: str = ""


class QueryUsersResponse(BaseModel):
    users: list[UserResponse]
    next: str | None = None
    prev: str | None = None
    duration: str = ""
