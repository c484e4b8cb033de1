"""Sends the push outbox: claims due rows, calls the provider, records the outcome, retries with backoff.

A row is claimed by bumping its ``attempts`` (only if nobody else did) and leasing it for ``LEASE``; a process
that dies mid-send leaves the row to be retried when the lease runs out, so every push is sent at least once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from typing import Any, cast

import httpx
from sqlalchemy import CursorResult, select, update

from weir.destinations import outbound_client
from weir.domain.clock import now, utc
from weir.push.apns import ApnsClient, http2_client
from weir.push.fcm import FcmClient
from weir.push.outcome import Outcome, SendResult
from weir.push.providers import make_client, opened_config
from weir.sealing import Sealer, SealError
from weir.store.db import Database
from weir.store.tables import DeviceRow, PushDeliveryRow, PushProviderRow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
LEASE = timedelta(seconds=60)
MAX_BACKOFF = timedelta(minutes=5)


def backoff(attempts: int, retry_after: float | None) -> timedelta:
    """1 s, 2 s, 4 s... capped at 5 minutes; never sooner than the provider's Retry-After."""
    wait = min(timedelta(seconds=2 ** max(attempts - 1, 0)), MAX_BACKOFF)
    return max(wait, timedelta(seconds=retry_after or 0))


class PushWorker:
    def __init__(self, db: Database, sealer: Sealer, poll_seconds: float = 1.0, batch: int = 20,
                 allow_private: bool = False) -> None:
        self.db, self.sealer, self.poll_seconds, self.batch = db, sealer, poll_seconds, batch
        self.allow_private = allow_private
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._clients: dict[str, tuple[datetime, FcmClient | ApnsClient]] = {}
        self._fcm_http: httpx.AsyncClient | None = None
        self._apns_http: httpx.AsyncClient | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._fcm_http = outbound_client(self.allow_private, timeout=10.0)
        self._apns_http = http2_client(self.allow_private)
        self._task = asyncio.create_task(self._run(), name="weir-push-worker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for client in (self._fcm_http, self._apns_http):
            if client is not None:
                await client.aclose()

    async def _run(self) -> None:
        while True:
            try:
                while await self.run_once():
                    pass
            except Exception:  # keep sending: one bad row or a database hiccup must not stop push for good
                log.exception("push worker pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            self._wake.clear()

    async def run_once(self) -> int:
        """Send one batch of due pushes; returns how many were claimed."""
        claimed = await self._claim()
        await asyncio.gather(*(self._deliver(row) for row in claimed))
        return len(claimed)

    async def _claim(self) -> list[PushDeliveryRow]:
        stamp = now()
        async with self.db.read() as session:  # an idle poll takes no write lock
            due = (await session.scalars(
                select(PushDeliveryRow)
                .where(PushDeliveryRow.status == "pending", PushDeliveryRow.next_attempt_at <= stamp)
                .order_by(PushDeliveryRow.next_attempt_at).limit(self.batch))).all()
        if not due:
            return []
        claimed: list[PushDeliveryRow] = []
        async with self.db.transaction() as session:
            for row in due:
                taken = await session.execute(
                    update(PushDeliveryRow)
                    .where(PushDeliveryRow.id == row.id, PushDeliveryRow.attempts == row.attempts,
                           PushDeliveryRow.status == "pending")
                    .values(attempts=row.attempts + 1, next_attempt_at=stamp + LEASE)
                    .execution_options(synchronize_session=False))
                if cast(CursorResult[Any], taken).rowcount == 1:  # an UPDATE's result
                    claimed.append(row)
        return claimed

    async def _deliver(self, row: PushDeliveryRow) -> None:
        async with self.db.read() as session:
            device = await session.get(DeviceRow, row.device_id)
            provider = await session.get(PushProviderRow, row.provider_name)
        result = self._precheck(row, device, provider)
        if result is None:
            assert device is not None and provider is not None
            try:
                result = await self._client(provider).send(device.id, row.payload["request"])
            except httpx.HTTPError as exc:
                result = SendResult(Outcome.RETRY, f"{type(exc).__name__}: {exc}")
            except SealError as exc:  # the provider's keys were stored under another WEIR_SECRET_KEY
                result = SendResult(Outcome.FAILED, f"push provider '{row.provider_name}': {exc}")
            except (ValueError, KeyError, TypeError) as exc:  # an answer that isn't the JSON the provider documents
                result = SendResult(Outcome.RETRY, f"unreadable answer from the provider: {type(exc).__name__}: {exc}")
            except Exception as exc:  # a bug: logged, and the row still follows the retry policy
                log.exception("push %s to %s failed unexpectedly", row.id, row.provider_name)
                result = SendResult(Outcome.RETRY, f"internal error: {type(exc).__name__}")
        await self._record(row, result)

    @staticmethod
    def _precheck(row: PushDeliveryRow, device: DeviceRow | None,
                  provider: PushProviderRow | None) -> SendResult | None:
        """A final failure when the push can no longer be sent; ``None`` when it can."""
        if device is None or device.user_id != row.payload.get("user_id"):
            return SendResult(Outcome.FAILED, "device was removed")
        if device.disabled:
            return SendResult(Outcome.FAILED, f"device is disabled: {device.disabled_reason or ''}".strip())
        if provider is None or not provider.enabled:
            return SendResult(Outcome.FAILED, f"push provider '{row.provider_name}' is removed or disabled")
        if datetime.fromisoformat(row.payload["expires_at"]) <= now():
            return SendResult(Outcome.FAILED, "expired before it could be delivered")
        return None

    def _client(self, provider: PushProviderRow) -> FcmClient | ApnsClient:
        """One client per provider (it caches its access token), rebuilt when the provider changes."""
        version = utc(provider.updated_at)
        assert version is not None and self._fcm_http is not None and self._apns_http is not None
        cached = self._clients.get(provider.name)
        if cached is None or cached[0] != version:
            config = opened_config(provider, self.sealer)
            cached = (version, make_client(provider, config, self._fcm_http, self._apns_http))
            self._clients[provider.name] = cached
        return cached[1]

    async def _record(self, claimed: PushDeliveryRow, result: SendResult) -> None:
        async with self.db.transaction() as session:
            row = await session.get(PushDeliveryRow, claimed.id)
            if row is None:
                return
            row.last_error = result.detail or None
            if result.outcome is Outcome.DELIVERED:
                row.status, row.delivered_at = "delivered", now()
            elif result.outcome is Outcome.RETRY and row.attempts < MAX_ATTEMPTS:
                row.next_attempt_at = now() + backoff(row.attempts, result.retry_after)
            else:
                row.status = "failed"
            if result.outcome is Outcome.UNREGISTERED:
                device = await session.get(DeviceRow, row.device_id)
                if device is not None:
                    device.disabled, device.disabled_reason = True, result.detail
