"""Signaling handlers turn what the media plane refuses into the protocol's errors, never an internal error."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from weir.protocol.sfu.errors import SfuErrorCode, SignalError
from weir.protocol.sfu.requests import UpdateSubscriptionsRequest
from weir.sfu.rtc.model import MediaClosed, Subscription
from weir.sfu.signaling.handlers import update_subscriptions


@dataclass
class RefusingMedia:
    error: ValueError

    async def update_subscriptions(self, wanted: list[Subscription]) -> None:
        raise self.error


@dataclass
class Room:
    sessions: dict[str, Any] = field(default_factory=dict)
    remote: dict[str, Any] = field(default_factory=dict)


@dataclass
class Session:
    media: RefusingMedia
    id: str = "me"
    room: Room = field(default_factory=Room)


@pytest.mark.parametrize(("error", "code"), [
    (MediaClosed("the subscriber connection has failed: join again"), SfuErrorCode.MEDIA_CONNECTION_FAILED),
    (ValueError("unknown track type 'x'"), SfuErrorCode.INVALID_MESSAGE),
])
async def test_subscriptions_refused_by_the_media_plane_are_protocol_errors(error: ValueError,
                                                                             code: SfuErrorCode) -> None:
    request = UpdateSubscriptionsRequest(tracks=[], request_id="r1")
    with pytest.raises(SignalError) as raised:
        await update_subscriptions(None, Session(RefusingMedia(error)), request)  # type: ignore[arg-type]
    assert (raised.value.code, raised.value.request_id) == (code, "r1")
