"""``SharedWorkers``: the SFU registry and the call placements in Redis, shared by every coordinator process.

Each process publishes the workers whose channel it holds (``weir:sfu:worker:<url>``, a JSON record that expires
``WORKER_TTL_MS`` after its last refresh: it goes when the process or the worker dies). A call's placement is
``weir:sfu:call:<cid>`` = the worker's URL, set by a compare-and-set script (a join places a call only if it is
unplaced or still where the joining process saw it), renewed while the worker reports hosting it, and expiring
``GRACE_SECONDS`` after: every participant meets on one worker whichever process answers its join.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from weir.sfu.workers.load import Load
from weir.sfu.workers.spec import NodeSpec

__all__ = ["WORKER_TTL_MS", "Published", "SharedWorkers"]

WORKER_TTL_MS = 5000  # a worker record's life without refresh (the holder refreshes every second)

# KEYS[1] the call; ARGV: the new worker, the worker the caller saw ('' none), the TTL in ms. Returns the owner.
_CLAIM = """
local current = redis.call('GET', KEYS[1])
if current == false or current == ARGV[2] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
  return ARGV[1]
end
return current
"""
# KEYS: calls; ARGV: the worker, the TTL in ms ('0': release). Only the worker's own placements are touched.
_RENEW = """
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then
    if ARGV[2] == '0' then redis.call('DEL', key) else redis.call('PEXPIRE', key, ARGV[2]) end
  end
end
return 0
"""


@dataclass(frozen=True)
class Published:
    """A live worker as its holding process published it."""

    url: str
    index: int
    host: str
    port: int
    pid: int
    node: NodeSpec | None
    load: Load
    draining: bool
    participants: int
    calls: int

    def to_json(self) -> str:
        return json.dumps({"url": self.url, "index": self.index, "host": self.host, "port": self.port,
                           "pid": self.pid, "node": self.node.model_dump() if self.node else None,
                           "load": self.load.model_dump(), "draining": self.draining,
                           "participants": self.participants, "calls": self.calls})

    @classmethod
    def from_json(cls, raw: str | bytes) -> Published:
        data: dict[str, Any] = json.loads(raw)
        node = NodeSpec.model_validate(data["node"]) if data.get("node") else None
        return cls(str(data["url"]), int(data["index"]), str(data["host"]), int(data["port"]), int(data["pid"]),
                   node, Load.model_validate(data.get("load") or {}), bool(data["draining"]),
                   int(data["participants"]), int(data["calls"]))


class SharedWorkers:
    def __init__(self, redis: Redis, prefix: str, grace_seconds: float) -> None:
        self.redis = redis
        self.prefix = f"{prefix}:sfu:"
        self.grace_ms = int(grace_seconds * 1000)
        self._claim = redis.register_script(_CLAIM)
        self._renew = redis.register_script(_RENEW)

    def _call(self, call_cid: str) -> str:
        return f"{self.prefix}call:{call_cid}"

    def _worker(self, url: str) -> str:
        return f"{self.prefix}worker:{url}"

    async def publish(self, workers: list[Published]) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for worker in workers:
                pipe.set(self._worker(worker.url), worker.to_json(), px=WORKER_TTL_MS)
                pipe.sadd(f"{self.prefix}workers", worker.url)
            await pipe.execute()

    async def withdraw(self, url: str) -> None:
        await self.redis.delete(self._worker(url))
        await self.redis.srem(f"{self.prefix}workers", url)

    async def workers(self) -> list[Published]:
        urls = sorted(str(url, "utf-8") if isinstance(url, bytes) else str(url)
                      for url in await self.redis.smembers(f"{self.prefix}workers"))
        if not urls:
            return []
        records = await self.redis.mget([self._worker(url) for url in urls])
        gone = [url for url, record in zip(urls, records, strict=True) if record is None]
        if gone:
            await self.redis.srem(f"{self.prefix}workers", *gone)
        return [Published.from_json(record) for record in records if record is not None]

    async def owner(self, call_cid: str) -> str | None:
        owner = await self.redis.get(self._call(call_cid))
        return None if owner is None else (owner.decode() if isinstance(owner, bytes) else str(owner))

    async def claim(self, call_cid: str, url: str, seen: str | None) -> str:
        """Place the call on ``url`` if it is unplaced or still on ``seen``; the call's worker either way."""
        owner = await self._claim(keys=[self._call(call_cid)], args=[url, seen or "", self.grace_ms])
        return owner.decode() if isinstance(owner, bytes) else str(owner)

    async def renew(self, url: str, call_cids: list[str]) -> None:
        """The worker hosts these calls: keep their placements on it for another grace."""
        if call_cids:
            await self._renew(keys=[self._call(cid) for cid in call_cids], args=[url, self.grace_ms])

    async def release(self, url: str, call_cids: list[str]) -> None:
        """The worker drains or is gone: its placements are free to be placed anew."""
        if call_cids:
            await self._renew(keys=[self._call(cid) for cid in call_cids], args=[url, 0])
