"""The webhook endpoints of the app settings: how an update applies, and where they are stored.

They live under ``event_hooks`` in the single ``app_settings`` row (id 1); other keys of that row are kept.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from weir.destinations import check_destination
from weir.domain.clock import now
from weir.protocol.app_settings import (
    LEGACY_HOOK_ID,
    MAX_EVENT_HOOKS,
    AppSettings,
    EventHook,
    EventHookRequest,
    UpdateAppRequest,
)
from weir.protocol.errors import input_error
from weir.store.tables import AppSettingsRow

APP_SETTINGS_ID = 1
HOOKS_KEY = "event_hooks"


def hooks_of(row: AppSettingsRow | None) -> list[EventHook]:
    if row is None:
        return []
    return [EventHook.model_validate(hook) for hook in row.settings.get(HOOKS_KEY, [])]


def app_settings(hooks: list[EventHook]) -> AppSettings:
    legacy = next((hook for hook in hooks if hook.id == LEGACY_HOOK_ID), None)
    return AppSettings(
        event_hooks=hooks,
        webhook_url=legacy.webhook_url if legacy else None,
        webhook_events=legacy.event_types if legacy else [],
    )


def _stored(request: EventHookRequest, previous: EventHook | None, stamp: datetime) -> EventHook:
    return EventHook(
        id=request.id or uuid.uuid4().hex, webhook_url=request.webhook_url, enabled=request.enabled,
        event_types=request.event_types, timeout_ms=request.timeout_ms,
        created_at=previous.created_at if previous else stamp, updated_at=stamp,
    )


def _legacy_update(current: list[EventHook], body: UpdateAppRequest, stamp: datetime) -> list[EventHook]:
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
    return [*others, _stored(request, legacy, stamp)]


def check_hook_destinations(
    before: list[EventHook], after: list[EventHook], body: UpdateAppRequest, allow_private: bool
) -> None:
    """A new or changed webhook URL must point at a public address (see ``weir.destinations``)."""
    known = {hook.webhook_url for hook in before}
    for index, hook in enumerate(after):
        if hook.webhook_url in known:
            continue
        try:
            check_destination(hook.webhook_url, allow_private)
        except ValueError as exc:
            field = "webhook_url" if body.event_hooks is None else f"event_hooks.{index}.webhook_url"
            raise input_error(field, str(exc)) from None


def updated_hooks(current: list[EventHook], body: UpdateAppRequest, stamp: datetime) -> list[EventHook]:
    """The endpoint list after ``body``: ``event_hooks`` replaces it; ids kept keep their ``created_at``."""
    legacy_fields = body.webhook_url is not None or body.webhook_events is not None
    if body.event_hooks is not None and legacy_fields:
        field = "webhook_url" if body.webhook_url is not None else "webhook_events"
        raise input_error(field, "send either event_hooks or webhook_url/webhook_events, not both")
    if body.event_hooks is None:
        return _legacy_update(current, body, stamp) if legacy_fields else current
    previous = {hook.id: hook for hook in current}
    return [_stored(request, previous.get(request.id or ""), stamp) for request in body.event_hooks]


async def read_hooks(session: AsyncSession) -> list[EventHook]:
    return hooks_of(await session.get(AppSettingsRow, APP_SETTINGS_ID))


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
    row.updated_at = stamp
