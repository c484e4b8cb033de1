"""The delivery worker: claims due outbox rows and sends each one (an HTTP POST, or an SQS or SNS message),
retrying per ``RetryPolicy``.

A queue destination (SQS, SNS) that can't be reached keeps its rows: after a run's attempts they are due again
later, with a growing pause, until ``QUEUE_RETRY_WINDOW`` after the event. A queue is the operator's durable
infrastructure, so an outage of it should lose nothing; webhooks keep the seed's bounded retries.

Each claimed row gets its own task that runs all its attempts, so one slow endpoint holds at most
``per_endpoint`` of the ``concurrency`` slots and never delays the others. The worker is woken right after a
commit that added rows and otherwise polls, which also picks up rows another process added or abandoned.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from dataclasses import dataclass, replace
from datetime import timedelta

import httpx

from weir import __version__
from weir.bus import DurableSink
from weir.config import Settings
from weir.destinations import loggable, outbound_client, without_credentials
from weir.domain.clock import now, utc
from weir.protocol.app_settings import EventHook
from weir.sealing import Sealer, SealError
from weir.store.db import Database
from weir.store.tables import WebhookDeliveryRow
from weir.webhooks import outbox
from weir.webhooks.aws import AwsSender, target_of
from weir.webhooks.config import read_hooks
from weir.webhooks.policy import Outcome, RetryPolicy
from weir.webhooks.signature import sign

log = logging.getLogger("weir.webhooks")
LEASE_MARGIN_SECONDS = 5.0
ENDPOINT_GONE = "endpoint removed or disabled"
QUEUE_RETRY_WINDOW = timedelta(hours=24)
QUEUE_RETRY_MAX_PAUSE = 60.0


@dataclass(frozen=True)
class WorkerOptions:
    policy: RetryPolicy = RetryPolicy()
    poll_interval: float = 1.0
    concurrency: int = 32
    per_endpoint: int = 4


@dataclass(frozen=True)
class _Job:
    row: WebhookDeliveryRow
    policy: RetryPolicy
    hook: EventHook


def queue_pause(attempts: int) -> float:
    """Seconds before a queue destination's next run, after ``attempts`` attempts in all: 1, 2, 4 … 60."""
    return float(min(QUEUE_RETRY_MAX_PAUSE, 2 ** max(0, attempts // 2 - 1)))


class WebhookWorker:
    def __init__(self, db: Database, api_key: str, api_secret: str, sealer: Sealer,
                 options: WorkerOptions = WorkerOptions(), allow_private: bool = False,
                 aws_endpoint_url: str | None = None) -> None:
        self.db, self.api_key, self.api_secret, self.options = db, api_key, api_secret, options
        self.allow_private, self.sealer = allow_private, sealer
        self._aws = AwsSender(aws_endpoint_url)
        self._wake = asyncio.Event()
        self._jobs: dict[str, asyncio.Task[None]] = {}
        self._in_flight: Counter[str] = Counter()
        self._loop: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        self.sink: DurableSink = outbox.make_sink(self.wake)

    async def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        """Resume: on SQLite this process is the only worker, so rows leased before a crash are due at once."""
        limit = self.options.concurrency
        self._client = outbound_client(
            self.allow_private, limits=httpx.Limits(max_connections=limit, max_keepalive_connections=limit),
            follow_redirects=False, headers={"User-Agent": f"weir-webhooks/{__version__}"},
        )
        if self.db.engine.dialect.name == "sqlite":
            async with self.db.transaction() as session:
                await outbox.release(session)
        self._loop = asyncio.create_task(self._run(), name="webhook-worker")

    async def stop(self) -> None:
        """Cancel the deliveries in flight and hand their rows back (due now), for this or another process."""
        tasks = [task for task in (self._loop, *self._jobs.values()) if task is not None]
        abandoned = list(self._jobs)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if abandoned:
            with contextlib.suppress(Exception):
                async with self.db.transaction() as session:
                    await outbox.release(session, abandoned)
        if self._client is not None:
            await self._client.aclose()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                while await self._start_due():
                    pass
            except Exception:
                log.exception("webhook worker: claiming deliveries failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.options.poll_interval)

    async def _start_due(self) -> bool:
        """Claim and start what fits in the free slots; True when some started and slots are left."""
        slots = self.options.concurrency - len(self._jobs)
        if slots <= 0:
            return False
        lease = self.options.policy.total_timeout + LEASE_MARGIN_SECONDS
        async with self.db.transaction() as session:
            rows = await outbox.claim_due(
                session, slots=slots, in_flight=self._in_flight, per_endpoint=self.options.per_endpoint,
                lease_until=now() + timedelta(seconds=lease),
            )
            hooks = {hook.id: hook for hook in await read_hooks(session) if hook.enabled}
            jobs = []
            for row in rows:
                hook = hooks.get(row.endpoint_id)
                if hook is None:
                    await outbox.finish(session, row.id, ENDPOINT_GONE)
                else:
                    row.url = hook.destination
                    jobs.append(_Job(row, self._policy_for(hook), hook))
        for job in jobs:
            self._in_flight[job.row.endpoint_id] += 1
            self._jobs[job.row.id] = asyncio.create_task(self._deliver(job), name=f"webhook-{job.row.id}")
        return bool(rows) and len(self._jobs) < self.options.concurrency

    def _policy_for(self, hook: EventHook) -> RetryPolicy:
        policy = self.options.policy
        if hook.timeout_ms is None:
            return policy
        return replace(policy, request_timeout=min(policy.request_timeout, hook.timeout_ms / 1000))

    async def _deliver(self, job: _Job) -> None:
        row = job.row
        try:
            await self._attempts(job)
        except Exception:
            log.exception("webhook %s: delivery interrupted; it is retried when its lease ends", row.id)
        finally:
            self._jobs.pop(row.id, None)
            self._in_flight[row.endpoint_id] -= 1
            if self._in_flight[row.endpoint_id] <= 0:
                del self._in_flight[row.endpoint_id]
            self._wake.set()

    async def _attempts(self, job: _Job) -> None:
        """One delivery run: attempt numbers continue from earlier runs; the retry budget is this run's."""
        row, policy = job.row, job.policy
        started = time.monotonic()
        attempt = 0
        error: str | None = None
        while True:
            attempt += 1
            number = row.attempts + attempt
            async with self.db.transaction() as session:
                await outbox.begin_attempt(session, row.id, number, error)
            outcome = await self._send(job, number, policy.timeout_for(time.monotonic() - started))
            error = None if outcome.delivered else outcome.describe()
            delay = policy.retry_delay(outcome, attempt, time.monotonic() - started)
            if delay is None:
                break
            log.info("webhook %s attempt %d to %s: %s; retrying", row.id, number, loggable(row.url), error)
            await asyncio.sleep(delay)
        async with self.db.transaction() as session:
            if error and self._keeps(job, outcome):
                pause = queue_pause(row.attempts + attempt)
                log.info("event %s to %s: %s; trying again in %g s", row.id, row.url, error, pause)
                await outbox.postpone(session, row.id, now() + timedelta(seconds=pause), error)
                return
            if error:
                log.warning("webhook %s to %s failed: %s", row.id, loggable(row.url), error)
            await outbox.finish(session, row.id, error)

    def _keeps(self, job: _Job, outcome: Outcome) -> bool:
        """A queue destination that was out of reach keeps the row, for a day after the event."""
        retryable = job.policy.max_attempts(outcome) > 1
        return job.hook.hook_type != "webhook" and retryable and now() - utc(job.row.created_at) < QUEUE_RETRY_WINDOW

    async def _send(self, job: _Job, attempt: int, timeout: float) -> Outcome:
        row = job.row
        headers = {"X-WEBHOOK-ID": row.id, "X-WEBHOOK-ATTEMPT": str(attempt), "X-API-KEY": self.api_key,
                   "X-SIGNATURE": sign(row.body.encode(), self.api_secret)}
        if job.hook.hook_type == "webhook":
            return await self._post(row, headers, timeout)
        try:
            target = target_of(job.hook, self.sealer)
        except SealError as exc:
            return Outcome(status=401, detail=str(exc))
        return await self._aws.send(target, row.body, headers, timeout)

    async def _post(self, row: WebhookDeliveryRow, headers: dict[str, str], timeout: float) -> Outcome:
        assert self._client is not None
        try:
            async with asyncio.timeout(timeout):
                url, auth = without_credentials(row.url)
                # (httpx's annotations leave out None, which it takes as "no authentication")
                response = await self._client.post(url, content=row.body.encode(), timeout=timeout, auth=auth,  # type: ignore[arg-type]
                                                   headers={"Content-Type": "application/json", **headers})
        except (TimeoutError, httpx.TimeoutException) as exc:
            return Outcome(error="timeout", detail=f"no answer within {timeout:g} s ({type(exc).__name__})")
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return Outcome(error="network", detail=str(exc) or type(exc).__name__)
        return Outcome(status=response.status_code)


def webhook_worker(settings: Settings, db: Database, sealer: Sealer) -> WebhookWorker:
    """The worker as ``weir serve`` configures it (``WEIR_WEBHOOK_*``)."""
    policy = RetryPolicy(
        request_timeout=settings.webhook_request_timeout_seconds, total_timeout=settings.webhook_total_timeout_seconds,
        delays=settings.webhook_retry_delays_seconds,
    )
    options = WorkerOptions(policy, settings.webhook_poll_interval_seconds, settings.webhook_concurrency,
                            settings.webhook_endpoint_concurrency)
    assert settings.api_key is not None and settings.api_secret is not None
    return WebhookWorker(db, settings.api_key, settings.api_secret, sealer, options,
                         settings.private_destinations_allowed, settings.aws_endpoint_url)
