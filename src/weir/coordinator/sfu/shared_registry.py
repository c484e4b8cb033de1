"""``SharedWorkers``: the SFU registry and the call placements in Redis, shared by every coordinator process.

Each process publishes the workers whose channel it holds (``weir:sfu:worker:<url>``, a JSON record that expires
``WORKER_TTL_MS`` after its last refresh: it goes when the process or the worker dies). A call's placement is
``weir:sfu:call:<cid>`` = the worker's URL, set by a compare-and-set script (a join places a call only if it is
unplaced or still where the joining process saw it), renewed while the worker reports hosting it, and expiring
``GRACE_SECONDS`` after: every participant meets on one worker whichever process answers its join.

Each process has a random name (``process``) and says it lives (``holder:<process>``, expiring
``HOLDER_TTL_MS`` after its last refresh). The sessions its workers admitted are in ``sessions:<process>``, so
that when it dies another process ends them (``orphans``): the first to take the dead process's lease
(``reap:<process>``). Commands for the workers a process holds (``weir sfu drain``) reach it on its control
channel (``control:<process>``, pub/sub), and its answer comes back on a list of the asker's (``command``).
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from weir.sfu.workers.load import Load
from weir.sfu.workers.spec import NodeSpec

__all__ = ["WORKER_TTL_MS", "Published", "SharedWorkers"]

WORKER_TTL_MS = 5000  # a worker record's life without refresh (the holder refreshes every second)
HOLDER_TTL_MS = 8000  # a process's sign of life: longer than a worker record's, since its end ends sessions
REAP_LEASE_MS = 60_000  # a process ending a dead one's sessions has this long before another may take over
REPLY_TTL_MS = 30_000  # an answer nobody picked up goes after this

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
    holder: str = ""  # the process holding its channel (``SharedWorkers.process``)

    def to_json(self) -> str:
        return json.dumps({"url": self.url, "index": self.index, "host": self.host, "port": self.port,
                           "pid": self.pid, "node": self.node.model_dump() if self.node else None,
                           "load": self.load.model_dump(), "draining": self.draining,
                           "participants": self.participants, "calls": self.calls, "holder": self.holder})

    @classmethod
    def from_json(cls, raw: str | bytes) -> Published:
        data: dict[str, Any] = json.loads(raw)
        node = NodeSpec.model_validate(data["node"]) if data.get("node") else None
        return cls(str(data["url"]), int(data["index"]), str(data["host"]), int(data["port"]), int(data["pid"]),
                   node, Load.model_validate(data.get("load") or {}), bool(data["draining"]),
                   int(data["participants"]), int(data["calls"]), str(data.get("holder") or ""))


class SharedWorkers:
    def __init__(self, redis: Redis, prefix: str, grace_seconds: float) -> None:
        self.redis = redis
        self.prefix = f"{prefix}:sfu:"
        self.grace_ms = int(grace_seconds * 1000)
        self.process = secrets.token_hex(8)
        self._claim = redis.register_script(_CLAIM)
        self._renew = redis.register_script(_RENEW)

    def _call(self, call_cid: str) -> str:
        return f"{self.prefix}call:{call_cid}"

    def _worker(self, url: str) -> str:
        return f"{self.prefix}worker:{url}"

    async def publish(self, workers: list[Published]) -> None:
        """This process's workers, for ``WORKER_TTL_MS``, and that it lives."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(f"{self.prefix}holder:{self.process}", "1", px=HOLDER_TTL_MS)
            for worker in workers:
                pipe.set(self._worker(worker.url), worker.to_json(), px=WORKER_TTL_MS)
                pipe.sadd(f"{self.prefix}workers", worker.url)
            await pipe.execute()

    async def held(self, call_cid: str, session_id: str) -> None:
        """A worker whose channel this process holds admitted the session."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.sadd(f"{self.prefix}sessions:{self.process}", _member(call_cid, session_id))
            pipe.sadd(f"{self.prefix}holders", self.process)
            await pipe.execute()

    async def let_go(self, sessions: list[tuple[str, str]]) -> None:
        """The sessions left (or were ended here)."""
        if sessions:
            await self.redis.srem(f"{self.prefix}sessions:{self.process}", *(_member(*s) for s in sessions))

    async def orphans(self) -> AsyncIterator[tuple[str, str]]:
        """The sessions recorded by processes that no longer live, each to be ended by this process: a dead
        process's are this one's if it takes that process's lease first. Each is forgotten once the loop
        body for it returned, so one this process dies while ending is ended by the next lease holder."""
        others = [_text(p) for p in await self.redis.smembers(f"{self.prefix}holders")]
        others = [p for p in others if p != self.process]
        if not others:
            return
        alive = await self.redis.mget([f"{self.prefix}holder:{p}" for p in others])
        for dead in (p for p, sign in zip(others, alive, strict=True) if sign is None):
            if not await self.redis.set(f"{self.prefix}reap:{dead}", self.process, nx=True, px=REAP_LEASE_MS):
                continue  # another process is at it
            sessions = f"{self.prefix}sessions:{dead}"
            for member in sorted(_text(m) for m in await self.redis.smembers(sessions)):
                call_cid, session_id = json.loads(member)
                yield str(call_cid), str(session_id)
                await self.redis.srem(sessions, member)
            await self.redis.srem(f"{self.prefix}holders", dead)

    async def command(self, holder: str, message: dict[str, Any], timeout_seconds: float) -> dict[str, Any] | None:
        """Have process ``holder`` carry out ``message`` (``commands`` there); its answer, or None if it is not
        listening or does not answer in time."""
        reply = f"{self.prefix}reply:{uuid.uuid4().hex}"
        listening = await self.redis.publish(f"{self.prefix}control:{holder}", json.dumps({**message, "reply": reply}))
        if not listening:
            return None
        answered = await self.redis.blpop([reply], timeout=timeout_seconds)
        return None if answered is None else dict(json.loads(answered[1]))

    async def commands(self) -> AsyncIterator[dict[str, Any]]:
        """The commands other processes send this one, until cancelled."""
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(f"{self.prefix}control:{self.process}")
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    yield dict(json.loads(message["data"]))
        finally:
            await pubsub.aclose()

    async def answer(self, command: dict[str, Any], body: dict[str, Any]) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.rpush(str(command["reply"]), json.dumps(body))
            pipe.pexpire(str(command["reply"]), REPLY_TTL_MS)
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


def _member(call_cid: str, session_id: str) -> str:
    return json.dumps([call_cid, session_id])


def _text(raw: str | bytes) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)
