"""Queries on devices and push providers."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from weir.domain.clock import utc
from weir.protocol.push import DeviceResponse
from weir.store.tables import DeviceRow, PushProviderRow

MAX_DEVICES_PER_USER = 25


def device_response(row: DeviceRow) -> DeviceResponse:
    return DeviceResponse(
        id=row.id, user_id=row.user_id, push_provider=row.push_provider, push_provider_name=row.push_provider_name,
        voip=row.voip, disabled=row.disabled, disabled_reason=row.disabled_reason,
        created_at=utc(row.created_at),
    )


async def user_devices(session: AsyncSession, user_id: str) -> list[DeviceRow]:
    rows = await session.scalars(select(DeviceRow).where(DeviceRow.user_id == user_id)
                                 .order_by(DeviceRow.created_at, DeviceRow.id))
    return list(rows.all())


async def list_providers(session: AsyncSession) -> list[PushProviderRow]:
    rows = await session.scalars(select(PushProviderRow).order_by(PushProviderRow.created_at, PushProviderRow.name))
    return list(rows.all())


def provider_of(device: DeviceRow, providers: list[PushProviderRow]) -> PushProviderRow | None:
    """The enabled provider a device's pushes go through: the one it names, else the oldest of its type."""
    for provider in providers:
        if provider.type != device.push_provider or not provider.enabled:
            continue
        if device.push_provider_name in (None, provider.name):
            return provider
    return None


async def deliverable_devices(
    session: AsyncSession, user_ids: Iterable[str]
) -> list[tuple[DeviceRow, PushProviderRow]]:
    """The users' enabled devices that have an enabled provider, with that provider."""
    wanted = sorted(set(user_ids))
    if not wanted:
        return []
    devices = (await session.scalars(select(DeviceRow).where(DeviceRow.user_id.in_(wanted),
                                                             DeviceRow.disabled.is_(False))
                                     .order_by(DeviceRow.user_id, DeviceRow.id))).all()
    providers = await list_providers(session)
    pairs = [(device, provider_of(device, providers)) for device in devices]
    return [(device, provider) for device, provider in pairs if provider is not None]
