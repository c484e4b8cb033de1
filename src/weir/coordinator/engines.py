"""Which engines carry events, rate limits and presence: this process's memory (the embedded default), or Redis
(``WEIR_REDIS_URL``) when several coordinator processes share the work."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from weir.bus import EventBus, InMemoryBus
from weir.bus.redis import RedisBus
from weir.config import Settings
from weir.coordinator.ratelimit import InMemoryRateLimiter, RateLimiter
from weir.coordinator.ratelimit_redis import RedisRateLimiter
from weir.coordinator.realtime.hub import Hub
from weir.coordinator.realtime.presence import LocalPresence, Presence, RedisPresence


@dataclass
class Engines:
    bus: EventBus
    limiter: RateLimiter
    presence: Presence
    redis: Redis | None = None

    async def close(self) -> None:
        if isinstance(self.bus, RedisBus):
            await self.bus.close()
        if self.redis is not None:
            await self.redis.aclose()


def engines(settings: Settings, hub: Hub) -> Engines:
    if not settings.redis_url:
        return Engines(InMemoryBus(), InMemoryRateLimiter(), LocalPresence(hub))
    redis = Redis.from_url(settings.redis_url, health_check_interval=30)
    prefix = settings.redis_prefix
    return Engines(RedisBus(redis, prefix), RedisRateLimiter(redis, prefix), RedisPresence(redis, prefix, hub), redis)
