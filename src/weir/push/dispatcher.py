"""The push sink: events that notify (ring, notification, missed, live started, session started) become rows
of the push outbox, written in the transaction of the change that caused the event.

Who is notified: the event's ``members`` (the call's members when the event has none), less the user who caused
the event and anyone who blocked that user. Which devices: every enabled Firebase device and standard APNs
device; a ring goes to a user's APNs VoIP tokens instead of their standard APNs tokens when they have any,
and VoIP tokens get nothing but rings (iOS expects each VoIP push to report a call).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from weir.domain.calltypes import default_notification_settings
from weir.domain.clock import now
from weir.domain.settings import merge_settings
from weir.push.payload import EVENT_SETTINGS, RING, Notification, apns_request, build_notification, fcm_message
from weir.push.store import deliverable_devices
from weir.store.db import after_commit
from weir.store.tables import CallMemberRow, CallTypeRow, DeviceRow, PushDeliveryRow, PushProviderRow, UserBlockRow


async def notification_settings(session: AsyncSession, call_type: str) -> dict[str, Any]:
    row = await session.get(CallTypeRow, call_type)
    return merge_settings(default_notification_settings(), (row.notification_settings if row else None) or {})


async def target_users(session: AsyncSession, event: Mapping[str, Any], sender_id: str | None) -> set[str]:
    if "members" in event:
        users = {m["user_id"] for m in event["members"] if isinstance(m, Mapping)}
    else:
        rows = await session.scalars(select(CallMemberRow.user_id)
                                     .where(CallMemberRow.call_cid == event["call"]["cid"]))
        users = set(rows.all())
    users.discard(sender_id)
    if sender_id and users:
        blockers = await session.scalars(select(UserBlockRow.user_id).where(
            UserBlockRow.blocked_user_id == sender_id, UserBlockRow.user_id.in_(sorted(users))))
        users -= set(blockers.all())
    return users


def wanted(device: DeviceRow, event_type: str, users_with_voip: set[str]) -> bool:
    if device.push_provider != "apn":
        return True
    if device.voip:
        return event_type == RING
    return event_type != RING or device.user_id not in users_with_voip


def delivery(note: Notification, device: DeviceRow, provider: PushProviderRow) -> PushDeliveryRow:
    if provider.type == "firebase":
        request = fcm_message(note, device.user_id)
    else:
        request = apns_request(note, device.user_id, device.voip)
    stamp = now()
    return PushDeliveryRow(
        id=uuid.uuid4().hex, device_id=device.id, provider_name=provider.name, event_type=note.type,
        payload={"user_id": device.user_id, "request": request, "expires_at": note.expires_at.isoformat()},
        status="pending", attempts=0, next_attempt_at=stamp, created_at=stamp,
    )


class PushDispatcher:
    """A durable event sink (``EventEmitter.sinks``); ``wake`` nudges the worker once the rows are committed."""

    def __init__(self, wake: Callable[[], None] | None = None) -> None:
        self.wake = wake

    async def __call__(self, session: AsyncSession, event: dict[str, Any]) -> None:
        key = EVENT_SETTINGS.get(event.get("type", ""))
        if key is None or not isinstance(event.get("call"), Mapping):
            return
        settings = await notification_settings(session, event["call"]["type"])
        if not settings.get("enabled") or not settings[key].get("enabled"):
            return
        sender_id = (event.get("user") or {}).get("id")
        pairs = await deliverable_devices(session, await target_users(session, event, sender_id))
        users_with_voip = {device.user_id for device, _ in pairs if device.push_provider == "apn" and device.voip}
        pairs = [(device, provider) for device, provider in pairs if wanted(device, event["type"], users_with_voip)]
        if not pairs:
            return
        note = build_notification(event, settings[key])
        session.add_all([delivery(note, device, provider) for device, provider in pairs])
        if self.wake is not None:
            wake = self.wake

            async def nudge() -> None:
                wake()

            after_commit(session, nudge)
