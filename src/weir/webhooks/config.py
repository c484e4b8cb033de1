"""The event destinations of the app settings (webhooks, SQS queues, SNS topics): how an update applies, and
where they are stored.

They live under ``event_hooks`` in the single ``app_settings`` row (id 1); other keys of that row are kept. AWS
secrets are stored sealed (``weir.sealing``) and shown masked.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import object_session

from weir.destinations import check_destination
from weir.domain.clock import now
from weir.protocol.app_settings import (
    LEGACY_HOOK_ID,
    MAX_EVENT_HOOKS,
    SECRET_MASK,
    SQS_HOST,
    AppSettings,
    EventHook,
    EventHookRequest,
    UpdateAppRequest,
)
from weir.protocol.errors import input_error
from weir.sealing import Sealer
from weir.store.tables import AppSettingsRow

APP_SETTINGS_ID = 1
HOOKS_KEY = "event_hooks"
READ = "weir.event_hooks"  # session.info: the hooks as read in this transaction (every event emitted asks)


def hooks_of(row: AppSettingsRow | None) -> list[EventHook]:
    if row is None:
        return []
    return [EventHook.model_validate(hook) for hook in row.settings.get(HOOKS_KEY, [])]


def app_settings(hooks: list[EventHook]) -> AppSettings:
    legacy = next((hook for hook in hooks if hook.id == LEGACY_HOOK_ID), None)
    return AppSettings(
        event_hooks=[hook.masked() for hook in hooks],
        webhook_url=legacy.webhook_url if legacy else None,
        webhook_events=legacy.event_types if legacy else [],
    )


def _stored(request: EventHookRequest, previous: EventHook | None, stamp: datetime, sealer: Sealer,
            index: int) -> EventHook:
    fields = request.model_dump(exclude={"id", "webhook_url"})
    for kind in ("sqs", "sns"):
        secret = fields[f"{kind}_secret"]
        if secret in (None, SECRET_MASK):  # left out or sent back masked: the stored one stays
            kept = previous.aws(kind, "secret") if previous is not None and previous.hook_type == kind else None
            fields[f"{kind}_secret"] = kept
        else:
            fields[f"{kind}_secret"] = sealer.seal(secret)
        if request.hook_type == kind and (request.aws(kind, "auth_type") or "keys") == "keys" \
                and fields[f"{kind}_secret"] is None:
            raise input_error(f"event_hooks.{index}.{kind}_secret", f"{kind}_auth_type keys needs {kind}_secret")
    return EventHook(
        **fields, id=request.id or uuid.uuid4().hex, webhook_url=request.webhook_url or "",
        created_at=previous.created_at if previous else stamp, updated_at=stamp,
    )


def _legacy_update(current: list[EventHook], body: UpdateAppRequest, stamp: datetime,
                   sealer: Sealer) -> list[EventHook]:
    """``webhook_url`` / ``webhook_events`` edit (or, with an empty URL, remove) the endpoint ``default``."""
    others = [hook for hook in current if hook.id != LEGACY_HOOK_ID]
    legacy = next((hook for hook in current if hook.id == LEGACY_HOOK_ID), None)
    if body.webhook_url == "":
        return others
    url = body.webhook_url or (legacy.webhook_url if legacy else None)
    if url is None:
        raise input_error("webhook_events", "set webhook_url too: there is no 'default' webhook endpoint yet")
    events = body.webhook_events if body.webhook_events is not None else (legacy.event_types if legacy else [])
    if legacy is None and len(others) >= MAX_EVENT_HOOKS:
        raise input_error("webhook_url", f"an app has at most {MAX_EVENT_HOOKS} webhook endpoints")
    request = EventHookRequest(id=LEGACY_HOOK_ID, webhook_url=url, event_types=events,
                               enabled=legacy.enabled if legacy else True,
                               timeout_ms=legacy.timeout_ms if legacy else None)
    return [*others, _stored(request, legacy, stamp, sealer, len(others))]


def check_hook_destinations(
    before: list[EventHook], after: list[EventHook], body: UpdateAppRequest, allow_private: bool,
    aws_endpoint_url: str | None,
) -> None:
    """A new or changed webhook URL must point at a public address (see ``weir.destinations``); a queue URL must
    be AWS's, or the host of the operator's ``WEIR_AWS_ENDPOINT_URL`` when one is set."""
    known = {hook.destination for hook in before}
    for index, hook in enumerate(after):
        if hook.destination in known or hook.hook_type == "sns":  # (an ARN names no host)
            continue
        if hook.hook_type == "sqs":
            _check_queue_host(hook.destination, aws_endpoint_url, f"event_hooks.{index}.sqs_queue_url")
            continue
        try:
            check_destination(hook.webhook_url, allow_private)
        except ValueError as exc:
            field = "webhook_url" if body.event_hooks is None else f"event_hooks.{index}.webhook_url"
            raise input_error(field, str(exc)) from None


def _check_queue_host(url: str, aws_endpoint_url: str | None, field: str) -> None:
    host = urlsplit(url).netloc
    if aws_endpoint_url is not None:
        if host != urlsplit(aws_endpoint_url).netloc:
            raise input_error(field, f"must be a queue of this server's AWS endpoint ({aws_endpoint_url})")
    elif not SQS_HOST.match(urlsplit(url).hostname or "") or urlsplit(url).scheme != "https":
        raise input_error(field, "must be an https://sqs.<region>.amazonaws.com/<account>/<queue> URL")


def updated_hooks(current: list[EventHook], body: UpdateAppRequest, stamp: datetime,
                  sealer: Sealer) -> list[EventHook]:
    """The endpoint list after ``body``: ``event_hooks`` replaces it; ids kept keep their ``created_at``."""
    legacy_fields = body.webhook_url is not None or body.webhook_events is not None
    if body.event_hooks is not None and legacy_fields:
        field = "webhook_url" if body.webhook_url is not None else "webhook_events"
        raise input_error(field, "send either event_hooks or webhook_url/webhook_events, not both")
    if body.event_hooks is None:
        return _legacy_update(current, body, stamp, sealer) if legacy_fields else current
    previous = {hook.id: hook for hook in current}
    return [_stored(request, previous.get(request.id or ""), stamp, sealer, index)
            for index, request in enumerate(body.event_hooks)]


async def read_hooks(session: AsyncSession) -> list[EventHook]:
    """The hooks, read once per transaction (a missing settings row too; ``store_hooks`` forgets them)."""
    hooks: list[EventHook] | None = session.info.get(READ)
    if hooks is None:
        hooks = session.info[READ] = hooks_of(await session.get(AppSettingsRow, APP_SETTINGS_ID))
    return list(hooks)


async def locked_settings(session: AsyncSession) -> AppSettingsRow:
    """The settings row, created when missing and locked (PostgreSQL) until the transaction ends."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    await session.execute(
        insert(AppSettingsRow).values(id=APP_SETTINGS_ID, settings={}, updated_at=now())
        .on_conflict_do_nothing(index_elements=["id"])
    )
    row = await session.scalar(
        select(AppSettingsRow).where(AppSettingsRow.id == APP_SETTINGS_ID).with_for_update()
        .execution_options(populate_existing=True)
    )
    assert row is not None
    return row


def store_hooks(row: AppSettingsRow, hooks: list[EventHook], stamp: datetime) -> None:
    row.settings = {**row.settings, HOOKS_KEY: [hook.model_dump(mode="json") for hook in hooks]}
    session = object_session(row)
    if session is not None:
        session.info.pop(READ, None)
    row.updated_at = stamp
