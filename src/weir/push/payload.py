"""What a push notification says: the documented payload, and the FCM and APNs request bodies built from it.

The payload fields (``sender``, ``type``, ``call_cid``, ``call_display_name``, ``created_by_display_name``...)
are top-level ``data`` on Firebase and sit under ``stream`` on APNs. Every value is a string, as FCM requires.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from weir.push.templates import render

# Clients written against the documentation filter pushes on this exact value, so Weir keeps it.
SENDER = "stream.video"

# Event type -> its key in the call type's ``notification_settings``.
EVENT_SETTINGS = {
    "call.ring": "call_ring",
    "call.notification": "call_notification",
    "call.missed": "call_missed",
    "call.live_started": "call_live_started",
    "call.session_started": "session_started",
}
RING = "call.ring"
DEFAULT_RING_TTL = timedelta(seconds=30)
DEFAULT_TTL = timedelta(hours=24)
_RESERVED_APNS_KEYS = {"aps", "stream"}


def call_display_name(call: Mapping[str, Any]) -> str:
    """The call's custom ``display_name``, else ``name``, else ``title``; empty when none is set."""
    custom = call.get("custom") or {}
    for key in ("display_name", "name", "title"):
        value = custom.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def user_display_name(user: Mapping[str, Any]) -> str:
    return user.get("name") or user.get("id") or ""


@dataclass(frozen=True)
class Notification:
    """One event as push sees it, before it is addressed to a device."""

    type: str
    data: dict[str, str]
    title: str
    body: str
    settings: dict[str, Any]  # the event's EventNotificationSettings (apns, fcm)
    scope: dict[str, Any]  # what templates see: ``call`` and ``user``
    created_at: datetime
    ttl: timedelta

    @property
    def expires_at(self) -> datetime:
        return self.created_at + self.ttl


def _ttl(event: Mapping[str, Any]) -> timedelta:
    if event["type"] != RING:
        return DEFAULT_TTL
    ring = ((event.get("call") or {}).get("settings") or {}).get("ring") or {}
    timeout_ms = ring.get("incoming_call_timeout_ms") or 0
    # A ring delivered after the callee's phone would have stopped ringing is worse than none.
    return timedelta(milliseconds=timeout_ms) if timeout_ms > 0 else DEFAULT_RING_TTL


def build_notification(event: Mapping[str, Any], settings: Mapping[str, Any]) -> Notification:
    """The payload and rendered alert of ``event`` under the event's notification ``settings``."""
    call = event["call"]
    creator = call.get("created_by") or {}
    user = event.get("user") or creator
    display_name = call_display_name(call)
    data = {
        "sender": SENDER,
        "type": event["type"],
        "call_cid": call["cid"],
        "call_type": call.get("type", ""),
        "call_id": call.get("id", ""),
        "call_display_name": display_name,
        "created_by_id": creator.get("id", ""),
        "created_by_display_name": user_display_name(creator),
    }
    if "video" in event:
        data["video"] = "true" if event["video"] else "false"
    scope = {
        # The alert falls back to the call id so a title never starts with an empty name.
        "call": {**call, "display_name": display_name or call.get("id", "")},
        "user": {**user, "display_name": user_display_name(user)},
    }
    apns = settings.get("apns") or {}
    return Notification(
        type=event["type"], data=data,
        title=render(apns.get("title") or "", scope), body=render(apns.get("body") or "", scope),
        settings=dict(settings), scope=scope, created_at=datetime.fromisoformat(event["created_at"]),
        ttl=_ttl(event),
    )


def _custom_data(template_data: Mapping[str, Any] | None, scope: Mapping[str, Any]) -> dict[str, Any]:
    """The call type's extra ``data``; string values are templates too."""
    return {key: render(value, scope) if isinstance(value, str) else value
            for key, value in (template_data or {}).items()}


def _as_string(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def fcm_message(note: Notification, receiver_id: str) -> dict[str, Any]:
    """An FCM v1 ``message`` without its ``token``: data only, so the app decides how to show it."""
    custom = _custom_data((note.settings.get("fcm") or {}).get("data"), note.scope)
    data = {key: _as_string(value) for key, value in custom.items()}
    data.update(note.data, receiver_id=receiver_id)  # the documented fields win over custom ones
    return {"data": data, "android": {"priority": "high", "ttl": f"{int(note.ttl.total_seconds())}s"}}


def apns_request(note: Notification, receiver_id: str, voip: bool) -> dict[str, Any]:
    """The APNs JSON body and the headers that depend on the notification (topic is the provider's)."""
    apns = note.settings.get("apns") or {}
    aps: dict[str, Any] = {"alert": {"title": note.title, "body": note.body}}
    for key in ("sound", "content-available", "mutable-content"):
        if apns.get(key) is not None:
            aps[key] = apns[key]
    custom = _custom_data(apns.get("data"), note.scope)
    body = {key: value for key, value in custom.items() if key not in _RESERVED_APNS_KEYS}
    body.update(aps=aps, stream={**note.data, "receiver_id": receiver_id})
    return {
        "push_type": "voip" if voip else "alert",
        "priority": 10,
        "expiration": int(note.expires_at.timestamp()),
        "body": body,
    }
