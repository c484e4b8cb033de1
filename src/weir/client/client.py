"""``StreamVideo``: the client. It holds the user and the token, the coordinator connection, the calls and the
client state, and routes each coordinator event to the calls it concerns and to ``client.events``.

It is its calls' ``CallOwner`` (call.py; through ``_CallOwner``, so that none of it is public API): calls make
their requests through it and report their status to it. It talks to each call through the ``CallLink`` the
call attached, never through the call's private members.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, TypeVar
from weakref import WeakValueDictionary

from pydantic import BaseModel

from weir.client._observable import StateStream, Subscription
from weir.client.call import Call, CallLink
from weir.client.call_actions import Sorts, sort_json
from weir.client.call_type import StreamCallType
from weir.client.coordinator_socket import CoordinatorSocket, SocketHandlers
from weir.client.errors import VideoError
from weir.client.events import EventStream, parse_event
from weir.client.http import CoordinatorApi
from weir.client.options import StreamVideoOptions
from weir.client.preferences import CallPreferences
from weir.client.status import (
    ACTIVE_STATUSES,
    CallStatusIncoming,
    CallStatusOutgoing,
    ConnectionState,
    DisconnectReasonReplaced,
)
from weir.client.tokens import OnTokenUpdated, TokenLoader, TokenManager
from weir.client.user import User, UserType
from weir.protocol import events as ev
from weir.protocol.call_stats import (
    GetActiveCallsStatusResponse,
    QueryAggregateCallStatsResponse,
    QueryCallStatsResponse,
    QueryUserFeedbackResponse,
)
from weir.protocol.queries import QueryCallsResponse
from weir.protocol.users import CreateGuestResponse, UserResponse

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)


class ClientState:
    """``client.state``: each field is a ``StateStream`` (``.value``, ``async for``, ``.partial(...)``)."""

    def __init__(self, user: User) -> None:
        self.user: StateStream[User] = StateStream(user)
        self.connection: StateStream[ConnectionState] = StateStream(ConnectionState())
        self.active_calls: StateStream[tuple[Call, ...]] = StateStream(())
        self.active_call: StateStream[Call | None] = StateStream(None)
        self.incoming_call: StateStream[Call | None] = StateStream(None)
        self.outgoing_call: StateStream[Call | None] = StateStream(None)


@dataclass(frozen=True)
class QueryCallsResult:
    """``query_calls``'s answer: the calls (with their state loaded) and the page cursors."""

    calls: list[Call]
    next: str | None
    prev: str | None


class _Instance:
    def __get__(self, obj: object, owner: type[StreamVideo]) -> StreamVideo:
        if owner._instance is None:
            raise VideoError("no StreamVideo instance: create one with StreamVideo(...) first")
        return owner._instance


def _query_body(filter_conditions: Mapping[str, Any] | None, sorts: Sorts | None, limit: int | None,
                next: str | None, prev: str | None) -> dict[str, Any]:
    body = {"filter_conditions": filter_conditions, "sort": sort_json(sorts), "limit": limit, "next": next,
            "prev": prev}
    return {k: v for k, v in body.items() if v is not None}


class StreamVideo:
    """``StreamVideo(api_key, user=User.regular(...), user_token=... | token_loader=..., options=...)``.

    The first instance built this way is ``StreamVideo.instance``; building a second raises unless
    ``fail_if_singleton_exists=False`` (which replaces it). ``StreamVideo.create(...)`` builds one that is not
    the singleton. With ``options.auto_connect`` (the default) the first request connects.
    """

    _instance: ClassVar[StreamVideo | None] = None
    instance: ClassVar[StreamVideo] = _Instance()  # type: ignore[assignment]

    def __init__(self, api_key: str, *, user: User, user_token: str | None = None,
                 token_loader: TokenLoader | None = None, on_token_updated: OnTokenUpdated | None = None,
                 options: StreamVideoOptions | None = None, fail_if_singleton_exists: bool = True) -> None:
        if StreamVideo._instance is not None and fail_if_singleton_exists:
            raise VideoError("a StreamVideo instance exists already: use StreamVideo.instance, "
                             "StreamVideo.create(...), or await StreamVideo.reset() first")
        self._setup(api_key, user, user_token, token_loader, on_token_updated, options)
        StreamVideo._instance = self

    @classmethod
    def create(cls, api_key: str, *, user: User, user_token: str | None = None,
               token_loader: TokenLoader | None = None, on_token_updated: OnTokenUpdated | None = None,
               options: StreamVideoOptions | None = None) -> StreamVideo:
        """A client that is not the singleton (several users in one process, background handlers)."""
        client = cls.__new__(cls)
        client._setup(api_key, user, user_token, token_loader, on_token_updated, options)
        return client

    @classmethod
    async def reset(cls) -> None:
        """Disconnect the singleton and forget it."""
        if cls._instance is not None:
            await cls._instance.disconnect()
            cls._instance = None

    def _setup(self, api_key: str, user: User, user_token: str | None, token_loader: TokenLoader | None,
               on_token_updated: OnTokenUpdated | None, options: StreamVideoOptions | None) -> None:
        self.api_key = api_key
        self.options = options or StreamVideoOptions()
        self.state = ClientState(user)
        self.events = EventStream()
        self._tokens = TokenManager(lambda: self.current_user.id, user_token, token_loader, on_token_updated)
        self._api_client: CoordinatorApi | None = None
        self._socket: CoordinatorSocket | None = None
        self._connected = self._guest_created = False
        self._connect_lock = asyncio.Lock()
        self._include_details = self.options.include_user_details_for_auto_connect
        self._links: WeakValueDictionary[str, CallLink] = WeakValueDictionary()  # by cid; a call holds its own
        self._owner = _CallOwner(self)

    # --- the user and the connection --------------------------------------------------------------------
    @property
    def current_user(self) -> User:
        return self.state.user.value

    @property
    def connection_id(self) -> str | None:
        return self._socket.connection_id if self._socket is not None else None

    @property
    def _api(self) -> CoordinatorApi:
        if self._api_client is None:
            self._api_client = CoordinatorApi(self.options.rpc_base(), self.api_key, self._tokens,
                                              self.options.request_timeout, self.options.ssl_context)
        return self._api_client

    async def connect(self, include_user_details: bool = True) -> str:
        """Connect as the user: a guest is created first, anonymous users get no socket. Returns the token."""
        async with self._connect_lock:
            if not self._connected:
                self._include_details = include_user_details
                user = self.current_user
                if user.type is UserType.GUEST and not self._guest_created:
                    await self._create_guest(user)
                if not user.is_anonymous:
                    await self._open_socket()
                self._connected = True
            return await self._tokens.get()

    async def _create_guest(self, user: User) -> None:
        """``POST /guest``: the server picks the id (based on ours) and signs the guest's token."""
        fields = {"id": user.id, "name": user.name, "image": user.image, "custom": dict(user.custom)}
        guest = await self._api.request("POST", "/guest", CreateGuestResponse, auth=False,
                                        json={"user": {k: v for k, v in fields.items() if v is not None}})
        self._adopt(guest.user)
        await self._tokens.set(guest.access_token)
        self._guest_created = True

    def _adopt(self, me: UserResponse) -> None:
        """The user as the server knows them; calls made before a guest got its id follow the new id."""
        before = self.current_user.id
        self.state.user.set(self.current_user.adopt(me))
        if me.id != before:
            for link in list(self._links.values()):
                link.user_id_changed(me.id)

    async def _open_socket(self) -> None:
        if self._socket is not None:
            await self._socket.close()
        self._socket = CoordinatorSocket(
            self.options.ws_url() + f"?api_key={self.api_key}", self._tokens,
            lambda: self.current_user.details() if self._include_details else None,
            SocketHandlers(self._on_socket_event, self.state.connection.set, self._on_reconnected),
            self.options.retry_policy, self.options.health_check_interval, self.options.ssl_context)
        hello = await self._socket.connect()
        self._adopt(UserResponse.model_validate(hello["me"]))

    async def _ensure_connected(self) -> None:
        if not self._connected and self.options.auto_connect:
            await self.connect(self._include_details)

    async def disconnect(self) -> None:
        """Leave the active calls, close the socket and the HTTP client."""
        for call in self.active_calls:
            try:
                await call.leave()
            except Exception as error:  # the server will time the participant out anyway
                log.info("leaving %s on disconnect failed: %s", call.cid, error)
        for link in list(self._links.values()):
            link.stop()
        if self._socket is not None:
            await self._socket.close()
            self._socket = None
        if self._api_client is not None:
            await self._api_client.aclose()
            self._api_client = None
        self._connected = False

    async def _request(self, method: str, path: str, model: type[M], *, json: Any = None,
                       params: dict[str, Any] | None = None) -> M:
        await self._ensure_connected()
        return await self._api.request(method, path, model, json=json, params=params)

    # --- calls ------------------------------------------------------------------------------------------
    def make_call(self, call_type: StreamCallType | str = StreamCallType.default_type(), id: str = "",
                  preferences: CallPreferences | None = None) -> Call:
        """The ``Call`` for ``type:id`` (one object per call; an empty id gets a generated one). Sends nothing."""
        call_id = id or uuid.uuid4().hex
        cid = f"{call_type}:{call_id}"
        link = self._links.get(cid)
        if link is None:
            return Call(self._owner, str(call_type), call_id, preferences or self.options.default_call_preferences)
        if preferences is not None:
            link.call.update_call_preferences(preferences)
        return link.call

    async def query_calls(self, filter_conditions: Mapping[str, Any] | None = None, sorts: Sorts | None = None,
                          limit: int | None = None, next: str | None = None, prev: str | None = None,
                          watch: bool = False) -> QueryCallsResult:
        """Calls matching a filter (e.g. ``{"type": "livestream"}``); ``watch`` subscribes to their events."""
        await self._ensure_connected()
        connection_id = self.connection_id if watch else None
        body = {"filter_conditions": filter_conditions, "sort": sort_json(sorts), "limit": limit, "next": next,
                "prev": prev, "watch": True if connection_id else None}
        response = await self._request("POST", "/video/calls", QueryCallsResponse,
                                       json={k: v for k, v in body.items() if v is not None},
                                       params={"connection_id": connection_id})
        calls = []
        for found in response.calls:
            call = self.make_call(found.call.type, found.call.id)
            self._links[call.cid].loaded(found, connection_id)
            calls.append(call)
        return QueryCallsResult(calls, response.next, response.prev)

    # --- call stats and health (an admin user; the server SDK has the same) ---------------------------------
    async def get_active_calls_status(self) -> GetActiveCallsStatusResponse:
        return await self._request("GET", "/video/active_calls_status", GetActiveCallsStatusResponse)

    async def query_call_stats(self, filter_conditions: Mapping[str, Any] | None = None, sorts: Sorts | None = None,
                               limit: int | None = None, next: str | None = None,
                               prev: str | None = None) -> QueryCallStatsResponse:
        return await self._request("POST", "/video/call/stats", QueryCallStatsResponse,
                                   json=_query_body(filter_conditions, sorts, limit, next, prev))

    async def query_aggregate_call_stats(self, from_: datetime, to: datetime, interval: str = "day",
                                         call_type: str | None = None) -> QueryAggregateCallStatsResponse:
        body = {"from": from_.isoformat(), "to": to.isoformat(), "interval": interval, "call_type": call_type}
        return await self._request("POST", "/video/stats", QueryAggregateCallStatsResponse,
                                   json={k: v for k, v in body.items() if v is not None})

    async def query_user_feedback(self, filter_conditions: Mapping[str, Any] | None = None,
                                  sorts: Sorts | None = None, limit: int | None = None, next: str | None = None,
                                  prev: str | None = None) -> QueryUserFeedbackResponse:
        return await self._request("POST", "/video/call/feedback", QueryUserFeedbackResponse,
                                   json=_query_body(filter_conditions, sorts, limit, next, prev))

    @property
    def active_calls(self) -> tuple[Call, ...]:
        return self.state.active_calls.value

    @property
    def active_call(self) -> Call | None:
        """The joined call; raises with ``allow_multiple_active_calls`` (use ``active_calls``)."""
        if self.options.allow_multiple_active_calls:
            raise VideoError("active_call is not available with allow_multiple_active_calls: use active_calls")
        return self.state.active_call.value

    def listen_active_call(self) -> Subscription[Call | None]:
        if self.options.allow_multiple_active_calls:
            raise VideoError("listen_active_call is not available with allow_multiple_active_calls")
        return self.state.active_call.subscribe()

    def listen_active_calls(self) -> Subscription[tuple[Call, ...]]:
        return self.state.active_calls.subscribe()

    async def _replace_active_calls(self, call: Call) -> None:
        """Single-call mode: leave every other active call before ``call`` becomes active."""
        if self.options.allow_multiple_active_calls:
            return
        for other in self.active_calls:
            if other is not call:
                await self._links[other.cid].replaced(DisconnectReasonReplaced(call.cid))

    def _on_status(self, call: Call) -> None:
        """Keep the client state's call slots in step with ``call``'s status."""
        status = call.state.value.status
        for slot, kind in ((self.state.incoming_call, CallStatusIncoming), (self.state.outgoing_call,
                                                                            CallStatusOutgoing)):
            if isinstance(status, kind):
                slot.set(call)
            elif slot.value is call:
                slot.set(None)
        others = tuple(c for c in self.active_calls if c is not call)
        active = (*others, call) if isinstance(status, ACTIVE_STATUSES) else others
        self.state.active_calls.set(active)
        if not self.options.allow_multiple_active_calls:
            self.state.active_call.set(active[-1] if active else None)

    # --- events -----------------------------------------------------------------------------------------
    def _on_socket_event(self, data: dict[str, Any]) -> None:
        event = parse_event(data)
        if event is None:
            return
        cid = getattr(event, "call_cid", None)
        if isinstance(event, ev.CallRingEvent):
            ringing = self.make_call(event.call.type, event.call.id)
            self._links[ringing.cid].event(event)
        elif isinstance(cid, str) and (link := self._links.get(cid)) is not None:
            link.event(event)
        if isinstance(event, ev.UserEvent) and event.user.id == self.current_user.id:
            self._adopt(event.user)
        self.events.publish(event)

    async def _on_reconnected(self, hello: dict[str, Any]) -> None:
        """A new connection id: watch again every call that was watched, catching up on its state; a call whose
        media is reconnecting tries again now (the coordinator answers)."""
        self._adopt(UserResponse.model_validate(hello["me"]))
        links = list(self._links.values())
        results = await asyncio.gather(*(link.reconnected() for link in links), return_exceptions=True)
        for link, result in zip(links, results, strict=True):
            if isinstance(result, Exception):
                log.warning("watching %s again failed: %s", link.call.cid, result)


class _CallOwner:
    """``StreamVideo`` as the ``CallOwner`` of its calls (call.py)."""

    def __init__(self, client: StreamVideo) -> None:
        self._client = client

    @property
    def user_id(self) -> str:
        return self._client.current_user.id

    @property
    def connection_id(self) -> str | None:
        return self._client.connection_id

    @property
    def ssl_context(self) -> ssl.SSLContext | None:
        return self._client.options.ssl_context

    async def connect(self) -> None:
        await self._client._ensure_connected()

    async def request(self, method: str, path: str, model: type[M], *, json: Any = None,
                      params: dict[str, Any] | None = None) -> M:
        return await self._client._request(method, path, model, json=json, params=params)

    def attach(self, link: CallLink) -> None:
        self._client._links[link.call.cid] = link

    def status_changed(self, call: Call) -> None:
        self._client._on_status(call)

    async def activating(self, call: Call) -> None:
        await self._client._replace_active_calls(call)


__all__ = ["ClientState", "QueryCallsResult", "StreamVideo"]
