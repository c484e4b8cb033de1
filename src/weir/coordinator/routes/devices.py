"""Routes: a user's push devices (Firebase and APNs tokens)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from weir.coordinator.auth import Caller, services, user_caller
from weir.domain.clock import now
from weir.protocol.common import Empty
from weir.protocol.errors import APIError, ErrorCode, input_error, not_allowed, not_found
from weir.protocol.limits import USER_ID_PATTERN
from weir.protocol.push import DEVICE_ID_PATTERN, CreateDeviceRequest, ListDevicesResponse
from weir.push.store import MAX_DEVICES_PER_USER, device_response, user_devices
from weir.store.tables import DeviceRow, PushProviderRow
from weir.store.users import get_user

router = APIRouter(tags=["push"])
APNS_TOKEN = re.compile(r"^[0-9A-Fa-f]+$")
UserIdQuery = Annotated[str | None, Query(pattern=USER_ID_PATTERN)]


def device_owner(who: Caller, user_id: str | None) -> str:
    """Users manage their own devices; a server token names the user."""
    if who.is_server:
        if not user_id:
            raise input_error("user_id", "is required with a server token")
        return user_id
    if user_id not in (None, who.user_id):
        raise not_allowed("users can only manage their own devices")
    assert who.user_id is not None
    return who.user_id


async def _check_request(session: AsyncSession, body: CreateDeviceRequest) -> None:
    if body.push_provider == "apn" and not APNS_TOKEN.match(body.id):
        raise input_error("id", "an APNs device token is hexadecimal")
    if body.voip_token and body.push_provider != "apn":
        raise input_error("voip_token", "VoIP tokens are APNs tokens: use push_provider 'apn'")
    if body.push_provider_name is not None:
        provider = await session.get(PushProviderRow, body.push_provider_name)
        if provider is None or provider.type != body.push_provider:
            raise input_error("push_provider_name",
                              f"there is no {body.push_provider} push provider named '{body.push_provider_name}'")


async def _drop_oldest(session: AsyncSession, user_id: str) -> None:
    """A user keeps at most ``MAX_DEVICES_PER_USER`` devices; registering one more drops the oldest."""
    devices = await user_devices(session, user_id)
    for row in devices[:max(len(devices) - MAX_DEVICES_PER_USER, 0)]:
        await session.delete(row)


@router.post("/devices", response_model=Empty, status_code=201, summary="Add a push device (or re-register one)")
async def create_device(
    request: Request, body: CreateDeviceRequest, who: Caller = Depends(user_caller("CreateDevice")),
) -> Empty:
    owner = device_owner(who, body.user_id)
    async with services(request).db.transaction() as session:
        if await get_user(session, owner) is None:
            raise not_found(f"user '{owner}'")
        await _check_request(session, body)
        # A token belongs to one app install: registering it again moves it to this user and re-enables it.
        row = await session.get(DeviceRow, body.id) or DeviceRow(id=body.id)
        row.user_id, row.push_provider, row.push_provider_name = owner, body.push_provider, body.push_provider_name
        row.voip, row.disabled, row.disabled_reason, row.created_at = body.voip_token, False, None, now()
        session.add(row)
        try:
            await session.flush()
        except IntegrityError:
            raise APIError(ErrorCode.CONFLICT, f"device '{body.id}' is being registered concurrently") from None
        await _drop_oldest(session, owner)
    return Empty()


@router.delete("/devices", response_model=Empty, summary="Remove a push device")
async def delete_device(
    request: Request, id: Annotated[str, Query(pattern=DEVICE_ID_PATTERN)], user_id: UserIdQuery = None,
    who: Caller = Depends(user_caller("DeleteDevice")),
) -> Empty:
    owner = device_owner(who, user_id)
    async with services(request).db.transaction() as session:
        row = await session.get(DeviceRow, id)
        if row is None or row.user_id != owner:
            raise not_found(f"device '{id}' of user '{owner}'")
        await session.delete(row)
    return Empty()


@router.get("/devices", response_model=ListDevicesResponse, summary="List a user's push devices")
async def list_devices(
    request: Request, user_id: UserIdQuery = None, who: Caller = Depends(user_caller("ListDevices")),
) -> ListDevicesResponse:
    owner = device_owner(who, user_id)
    async with services(request).db.read() as session:
        rows = await user_devices(session, owner)
    return ListDevicesResponse(devices=[device_response(row) for row in rows])
