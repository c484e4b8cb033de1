"""Observable values and broadcasts: a current value plus async iterators of what happens next.

``Broadcast`` fans items out to every open ``Subscription``; ``StateStream`` is a broadcast with a current value
(the Dart SDK's ``state.value`` / ``state.valueStream``), and ``partial(selector)`` emits a selected part only
when it changes. Subscriptions are held weakly: one that is dropped (or closed) stops receiving.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import weakref
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

T = TypeVar("T")
S = TypeVar("S")
log = logging.getLogger(__name__)

_CLOSED: Any = object()


class Stream(Generic[T]):
    """What every subscription offers: ``async for``, ``next(timeout)``, ``first(predicate)``, ``async with``."""

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> T:
        raise NotImplementedError

    async def next(self, timeout: float | None = None) -> T:
        """The next item, waiting at most ``timeout`` seconds (``TimeoutError`` after that)."""
        return await asyncio.wait_for(self.__anext__(), timeout)

    async def first(self, predicate: Callable[[T], bool], timeout: float | None = None) -> T:
        """The next item for which ``predicate`` holds, skipping the others."""
        async def scan() -> T:
            while True:
                item = await self.__anext__()
                if predicate(item):
                    return item

        return await asyncio.wait_for(scan(), timeout)

    def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()


class Subscription(Stream[T]):
    """What its source publishes after it was opened; ``close()`` (or leaving ``async with``) ends it."""

    def __init__(self, source: Broadcast[T], first: list[T] | None = None) -> None:
        self._queue: asyncio.Queue[T] = asyncio.Queue()
        for item in first or ():
            self._queue.put_nowait(item)
        self._source: Broadcast[T] | None = source
        source._subscribers.add(self)

    def _put(self, item: T) -> None:
        self._queue.put_nowait(item)

    async def __anext__(self) -> T:
        if self._source is None and self._queue.empty():
            raise StopAsyncIteration
        item = await self._queue.get()
        if item is _CLOSED:
            raise StopAsyncIteration
        return item

    def close(self) -> None:
        if self._source is not None:
            self._source._subscribers.discard(self)
            self._source = None
            self._queue.put_nowait(_CLOSED)


class Listener:
    """What ``on(...)`` returns: ``cancel()`` stops the callback."""

    def __init__(self, callbacks: list[Callable[[Any], None]], callback: Callable[[Any], None]) -> None:
        self._callbacks, self._callback = callbacks, callback

    def cancel(self) -> None:
        if self._callback in self._callbacks:
            self._callbacks.remove(self._callback)


class Broadcast(Generic[T]):
    """Publishes items to subscriptions (``subscribe()`` or ``async for item in broadcast``) and callbacks."""

    def __init__(self) -> None:
        self._subscribers: weakref.WeakSet[Subscription[T]] = weakref.WeakSet()
        self._callbacks: list[Callable[[T], None]] = []
        self._tasks: set[asyncio.Task[Any]] = set()

    def subscribe(self) -> Subscription[T]:
        return Subscription(self)

    def __aiter__(self) -> Subscription[T]:
        return self.subscribe()

    def listen(self, callback: Callable[[T], Awaitable[None] | None]) -> Listener:
        """Call ``callback(item)`` for every item; a coroutine callback runs as a task."""
        self._callbacks.append(callback)  # type: ignore[arg-type]
        return Listener(self._callbacks, callback)  # type: ignore[arg-type]

    def publish(self, item: T) -> None:
        for subscription in list(self._subscribers):
            subscription._put(item)
        for callback in list(self._callbacks):
            self._run(callback, item)

    def _run(self, callback: Callable[[T], Any], item: T) -> None:
        try:
            result = callback(item)
        except Exception:  # a listener's bug must not break the SDK's event loop
            log.exception("listener %r failed", callback)
            return
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)


class StateStream(Broadcast[T]):
    """A current ``value`` and the stream of its changes; a subscription first yields the current value."""

    def __init__(self, value: T) -> None:
        super().__init__()
        self._value = value

    @property
    def value(self) -> T:
        return self._value

    @property
    def value_stream(self) -> Subscription[T]:
        return self.subscribe()

    def subscribe(self) -> Subscription[T]:
        return Subscription(self, [self._value])

    def set(self, value: T) -> None:
        """Replace the value; subscribers hear of it only when it differs from the current one."""
        if value != self._value:
            self._value = value
            self.publish(value)

    def partial(self, selector: Callable[[T], S]) -> Selected[T, S]:
        """The selected part of the value, emitted first and then only when it changes (by ``==``)."""
        return Selected(self.subscribe(), selector)


class Selected(Stream[S], Generic[T, S]):
    """Distinct-until-changed view of a subscription through a selector."""

    _UNSET: Any = object()

    def __init__(self, inner: Subscription[T], selector: Callable[[T], S]) -> None:
        self._inner, self._selector = inner, selector
        self._last: Any = self._UNSET

    async def __anext__(self) -> S:
        while True:
            selected = self._selector(await self._inner.__anext__())
            if self._last is self._UNSET or selected != self._last:
                self._last = selected
                return selected

    def close(self) -> None:
        self._inner.close()
