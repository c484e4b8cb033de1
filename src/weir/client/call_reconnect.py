"""Reconnecting a call's media (docs/python-sdk.md, "Reconnection"): what went wrong decides the strategy.

- the SFU socket was lost: **fast**, while the SFU still holds the session (``fast_reconnect_deadline_seconds``
  since the loss): a new socket, ``join`` with ``reconnect_details.strategy = fast``, then an ICE restart of
  both connections; if the SFU no longer has the session (``session_not_found``), rejoin;
- ICE failed (aiortc cannot restart a connection whose DTLS died), or an error asks for it: **rejoin**: a new
  participant session through the coordinator, a new SFU session replacing the old one, everything
  published and subscribed again;
- ``go_away``, or an error asking for it: **migrate**: as rejoin with ``migrating_from``, the old session
  carrying media until the new one is up;
- an error with strategy ``disconnect`` (kicked, replaced, bad token): ``DisconnectReasonSfuError``.

A fast reconnect that finds nobody listening (the SFU's process died and its sessions with it), or the
coordinator's word that the SFU lost this client's session (``call.session_participant_left`` with reason
``sfu_worker_lost`` or ``disconnected``), turns into a rejoin at once: the call goes on, only the session ended.
Attempts are spaced by ``default_backoff`` (at most 1 s), cut short when the coordinator's socket comes back.
After a rejoin or migration the previous session is left at the coordinator and never shown again as a
participant, whatever a call snapshot still lists.

Statuses: ``CallStatusReconnecting(attempt)`` (or ``CallStatusMigrating()``) → ``CallStatusConnected()``; past
the preferences' ``reconnect_timeout`` (0: never), ``CallStatusReconnectionFailed()`` then
``CallStatusDisconnected(DisconnectReasonReconnectionFailed())``.

The call owns its ``Reconnection`` next to its ``CallMedia`` (which this drives through its public methods) and
hears from it through the ``ReconnectListener`` it gave it: this module never imports ``call.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine
from dataclasses import replace
from typing import Any, Protocol

from weir.client._observable import StateStream
from weir.client.call_media import CallMedia
from weir.client.options import default_backoff
from weir.client.sfu.socket import SfuError
from weir.client.state import CallState
from weir.client.status import (
    CallStatus,
    CallStatusConnected,
    CallStatusDisconnected,
    CallStatusMigrating,
    CallStatusReconnecting,
    CallStatusReconnectionFailed,
    DisconnectReasonReconnectionFailed,
    DisconnectReasonSfuError,
)
from weir.protocol.calls import JoinCallResponse
from weir.protocol.sfu import events as sfu
from weir.protocol.sfu.models import ReconnectDetails

log = logging.getLogger(__name__)


class ReconnectListener(Protocol):
    """What a ``Reconnection`` reports to the call that owns it."""

    def update(self, state: CallState) -> None:
        """Set the call's state (statuses: reconnecting, migrating, connected, failed, disconnected)."""
        ...

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` in the background, until it ends or the client disconnects."""
        ...

    async def rejoin(self, migrating_from: str | None) -> JoinCallResponse:
        """A new participant session from the coordinator (``POST …/join``), for a rejoin or a migration."""
        ...

    def hide_session(self, session_id: str) -> None:
        """Never show ``session_id`` (one of this client's former sessions) as a participant again."""
        ...

    def forget_session(self, session_id: str) -> None:
        """``hide_session``, and leave ``session_id`` at the coordinator."""
        ...


class Reconnection:
    """Reconnects one call's media when the SFU link breaks; idle until then."""

    def __init__(self, cid: str, state: StateStream[CallState], media: CallMedia,
                 listener: ReconnectListener) -> None:
        self._cid = cid
        self._state = state
        self._media = media
        self._listener = listener
        self._reconnecting: asyncio.Task[None] | None = None
        self._session_gone = False  # the coordinator said the SFU lost the session the running attempt resumes
        self._retry_now: asyncio.Event | None = None  # set to cut the backoff short

    def _set_status(self, status: CallStatus) -> None:
        self._listener.update(replace(self._state.value, status=status))

    def session_lost(self, reason: str | None) -> None:
        """The SFU lost this client's session: rejoin, whatever the running reconnection was trying."""
        if self._reconnecting is None:
            self._start("rejoin", f"session lost ({reason})")
        else:
            self._session_gone = True
            self.retry_soon()

    def retry_soon(self) -> None:
        """Something changed (the coordinator answers again, the session is gone): the next attempt now."""
        if self._retry_now is not None:
            self._retry_now.set()

    def sfu_trouble(self, what: str) -> None:
        """The session's socket was lost ("socket") or a peer connection failed ("ice")."""
        self._start("fast" if what == "socket" else "rejoin", what)

    def sfu_problem(self, event: sfu.ErrorEvent | sfu.GoAwayEvent) -> None:
        """``go_away``: migrate; an error: what its ``reconnect_strategy`` says."""
        if isinstance(event, sfu.GoAwayEvent):
            self._start("migrate", f"go_away ({event.reason})")
        elif event.reconnect_strategy == "disconnect":
            if self._state.value.status.is_active and not self._reconnecting:
                self._listener.spawn(self._media.end(CallStatusDisconnected(DisconnectReasonSfuError(event.error))))
        elif event.reconnect_strategy in ("fast", "rejoin", "migrate"):
            self._start(event.reconnect_strategy, event.error.code)
        else:
            log.warning("SFU error %s: %s", event.error.code, event.error.message)

    def _start(self, strategy: str, why: str) -> None:
        status = self._state.value.status
        if self._media.session is None or self._reconnecting is not None or not status.is_active:
            return
        log.info("reconnecting %s (%s): %s", self._cid, why, strategy)
        self._reconnecting = asyncio.ensure_future(self._reconnect(strategy))
        self._reconnecting.add_done_callback(lambda _: setattr(self, "_reconnecting", None))

    async def _reconnect(self, strategy: str) -> None:
        lost_at = started = time.monotonic()
        session = self._media.session
        deadline = session.join_response.fast_reconnect_deadline_seconds if session and session.join_response else 0
        timeout = self._state.value.preferences.reconnect_timeout.total_seconds()
        attempt = 0
        self._session_gone = False
        self._retry_now = asyncio.Event()
        while self._state.value.status.is_active:
            attempt += 1
            if strategy == "fast" and (self._session_gone or time.monotonic() - lost_at >= deadline):
                strategy = "rejoin"  # the SFU has dropped the session by now
            self._set_status(CallStatusMigrating() if strategy == "migrate" else CallStatusReconnecting(attempt))
            tried = strategy
            try:
                await self._reconnect_once(strategy, attempt)
            except SfuError as error:
                log.info("reconnection attempt %d (%s) refused: %s", attempt, strategy, error)
                if error.reconnect_strategy == "disconnect":
                    await self._media.close(leave=False)
                    self._set_status(CallStatusDisconnected(DisconnectReasonSfuError(error.code)))
                    return
                strategy = "rejoin"
            except ConnectionRefusedError as error:  # nobody listens: a restarted SFU holds no session of ours
                log.info("reconnection attempt %d (%s) failed: %r", attempt, strategy, error)
                strategy = "rejoin"
            except Exception as error:  # unreachable SFU or coordinator, negotiation trouble: try again
                log.info("reconnection attempt %d (%s) failed: %r", attempt, strategy, error)
            else:
                if self._state.value.status.is_active:
                    self._set_status(CallStatusConnected())
                    await self._media.sync_subscriptions(force=True)
                return
            if timeout and time.monotonic() - started > timeout:
                self._set_status(CallStatusReconnectionFailed())
                await self._media.close(leave=False)
                self._set_status(CallStatusDisconnected(DisconnectReasonReconnectionFailed()))
                return
            if strategy == tried:  # a new strategy is tried at once; the same one after the backoff
                await self._backoff(attempt)

    async def _backoff(self, attempt: int) -> None:
        assert self._retry_now is not None
        self._retry_now.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._retry_now.wait(), default_backoff(attempt))

    async def _reconnect_once(self, strategy: str, attempt: int) -> None:
        session = self._media.session
        if session is None:
            raise ConnectionError("the call's media was closed")
        if strategy == "fast":
            await session.resume(attempt)
            return
        previous = session.session_id
        self._listener.hide_session(previous)  # a snapshot of the new join may still list it: never shown again
        migrating = strategy == "migrate"
        if not migrating:
            await session.close()
        joined = await self._listener.rejoin(session.edge if migrating else None)
        details = ReconnectDetails(strategy="migrate" if migrating else "rejoin", previous_session_id=previous,
                                   attempt=attempt, from_edge=session.edge if migrating else "")
        try:
            await self._media.open_sfu(joined, details)
        except BaseException:
            self._media.restore(session)  # the next attempt starts from the old session again
            self._listener.forget_session(joined.user_session_id)  # and gets a new one from the coordinator
            raise
        if migrating:
            await session.close()
        # the previous session is over for this client; left at the coordinator (a session the SFU lost with a
        # whole coordinator restart would otherwise stay until the user disconnects)
        self._listener.forget_session(previous)
        await self._media.republish()


__all__ = ["ReconnectListener", "Reconnection"]
