"""TraceStore: ingested traces in Redis, per tenant and agent. The only code that knows the trace key layout.

Layout (every key is tenant-scoped and expires `ttl_s` (TRACE_TTL_S) after the last write touching it):
    ms:{tenant}:trace:{id}                     the trace (msgpack Trace)
    ms:{tenant}:traces                         sorted set: trace ids by time of their last write (the list index)
    ms:{tenant}:agent:{agent_id}:traces        sorted set: the agent's trace ids, same scores
    ms:{tenant}:session:{session_id}:traces    sorted set: the session's trace ids, same scores
    ms:{tenant}:agent:{agent_id}:analyzed      set of the agent's trace ids that have an explanation
A write (record and every index it touches) is one MULTI transaction, WATCHing the trace keys so a
trace that moves to another agent or session leaves its old indexes in the same step. Index entries
whose record expired are pruned when a read meets them.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import aclosing

import msgspec
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from workers.traces import Trace

_PREFIX = "ms"
_SCAN_PAGE = 200  # index entries read per round trip when a filter needs the records
_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(Trace).decode

Combine = Callable[[Trace, Trace], Trace]


class _Head(msgspec.Struct, kw_only=True):
    """The fields list filters read, decoded without the rest of the record."""

    agent_id: str = "default"
    session_id: str | None = None
    outcome: str | None = None


_decode_head = msgspec.msgpack.Decoder(_Head).decode


def _trace_key(tenant: str, trace_id: str) -> str:
    return f"{_PREFIX}:{tenant}:trace:{trace_id}"


def _index_key(tenant: str) -> str:
    return f"{_PREFIX}:{tenant}:traces"


def _agent_key(tenant: str, agent_id: str) -> str:
    return f"{_PREFIX}:{tenant}:agent:{agent_id}:traces"


def _session_key(tenant: str, session_id: str) -> str:
    return f"{_PREFIX}:{tenant}:session:{session_id}:traces"


def _analyzed_key(tenant: str, agent_id: str) -> str:
    return f"{_PREFIX}:{tenant}:agent:{agent_id}:analyzed"


class TraceStore:
    """Tenant-scoped trace storage over one redis.asyncio client (the arq pool works too)."""

    def __init__(self, redis: Redis, *, ttl_s: int) -> None:
        self.redis = redis
        self.ttl_s = ttl_s

    async def put(self, trace: Trace, *, combine: Combine | None = None) -> Trace:
        """Store a trace with its index entries; the same id again overwrites. Returns what was stored.

        With `combine`, a trace already stored under the id becomes `combine(stored, trace)`.
        """
        return (await self.put_many([trace], combine=combine))[0]

    async def put_many(self, traces: Sequence[Trace], *, combine: Combine | None = None) -> list[Trace]:
        """Store several traces in one transaction: all of them or, if `combine` raises, none.

        Returns the stored traces in the order given (a repeated id is combined with its earlier copy).
        """
        if not traces:
            return []
        keys = list(dict.fromkeys(_trace_key(t.tenant, t.trace_id) for t in traces))
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(*keys)
                    raws = await pipe.mget(keys)
                    before = {k: _decode(raw) for k, raw in zip(keys, raws, strict=True) if raw is not None}
                    after = dict(before)
                    stored = []
                    for trace in traces:
                        key = _trace_key(trace.tenant, trace.trace_id)
                        current = after.get(key)
                        after[key] = combine(current, trace) if combine and current is not None else trace
                        stored.append(after[key])
                    pipe.multi()
                    now = time.time()
                    for key, trace in after.items():
                        self._write(pipe, before.get(key), trace, now)
                    await pipe.execute()
                    return stored
                except WatchError:
                    continue

    def _write(self, pipe: Pipeline, old: Trace | None, new: Trace, now: float) -> None:
        tenant, trace_id, ttl = new.tenant, new.trace_id, self.ttl_s
        pipe.set(_trace_key(tenant, trace_id), _encode(new), ex=ttl)
        indexes = [_index_key(tenant), _agent_key(tenant, new.agent_id)]
        if new.session_id:
            indexes.append(_session_key(tenant, new.session_id))
        for index in indexes:
            pipe.zadd(index, {trace_id: now})
            pipe.zremrangebyscore(index, 0, now - ttl)
            pipe.expire(index, ttl)
        if old is None:
            return
        if old.agent_id != new.agent_id:
            pipe.zrem(_agent_key(tenant, old.agent_id), trace_id)
            pipe.srem(_analyzed_key(tenant, old.agent_id), trace_id)
        if old.session_id and old.session_id != new.session_id:
            pipe.zrem(_session_key(tenant, old.session_id), trace_id)
        if old != new:  # new content: its explanation (if any) no longer describes it
            pipe.srem(_analyzed_key(tenant, new.agent_id), trace_id)

    async def get(self, tenant: str, trace_id: str) -> Trace | None:
        raw = await self.redis.get(_trace_key(tenant, trace_id))
        return _decode(raw) if raw is not None else None

    async def get_many(self, tenant: str, trace_ids: Sequence[str]) -> list[Trace | None]:
        """The traces of `trace_ids`, in order; None where a trace does not exist for this tenant."""
        if not trace_ids:
            return []
        raws = await self.redis.mget([_trace_key(tenant, trace_id) for trace_id in trace_ids])
        return [_decode(raw) if raw is not None else None for raw in raws]

    async def list(
        self,
        tenant: str,
        *,
        agent_id: str | None = None,
        session_id: str | None = None,
        outcome: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[Trace], int]:
        """A page of the tenant's traces, newest first, and how many match in all."""
        if session_id is not None:
            index = _session_key(tenant, session_id)
        elif agent_id is not None:
            index = _agent_key(tenant, agent_id)
        else:
            index = _index_key(tenant)
        await self.redis.zremrangebyscore(index, 0, time.time() - self.ttl_s)
        if outcome is None and (session_id is None or agent_id is None):
            total = int(await self.redis.zcard(index))
            page = offset < total and limit > 0  # Redis refuses offsets beyond 64 bits; past the end is empty anyway
            ids = [i.decode() for i in await self.redis.zrevrange(index, offset, offset + limit - 1)] if page else []
            return await self._present(tenant, index, ids), total

        def wanted(head: _Head) -> bool:
            return (agent_id is None or head.agent_id == agent_id) and (outcome is None or head.outcome == outcome)

        matching = [trace_id async for page in self._pages(tenant, index) for trace_id, head in page if wanted(head)]
        return await self._present(tenant, index, matching[offset : offset + limit]), len(matching)

    async def unanalyzed(
        self, tenant: str, agent_id: str, *, limit: int, outcome: str | None = None
    ) -> tuple[list[Trace], int]:
        """Up to `limit` of the agent's traces that have no explanation yet, newest first.

        Returns them with the number of already-explained traces (of `outcome`, when given) that were
        passed over on the way, the `skipped` of generate-all.
        """
        index = _agent_key(tenant, agent_id)
        await self.redis.zremrangebyscore(index, 0, time.time() - self.ttl_s)
        analyzed_key = _analyzed_key(tenant, agent_id)
        chosen: list[str] = []
        skipped = 0
        async with aclosing(self._pages(tenant, index)) as pages:
            async for page in pages:
                candidates = [trace_id for trace_id, head in page if outcome is None or head.outcome == outcome]
                async with self.redis.pipeline(transaction=False) as pipe:
                    for trace_id in candidates:
                        pipe.sismember(analyzed_key, trace_id)
                    flags = await pipe.execute()
                for trace_id, analyzed in zip(candidates, flags, strict=True):
                    if len(chosen) >= limit:
                        break
                    if analyzed:
                        skipped += 1
                    else:
                        chosen.append(trace_id)
                if len(chosen) >= limit:
                    break
        return await self._present(tenant, index, chosen), skipped

    async def mark_analyzed(self, tenant: str, agent_id: str, trace_ids: Sequence[str]) -> None:
        """Record that these traces of the agent have an explanation (generate-all skips them)."""
        if not trace_ids:
            return
        key = _analyzed_key(tenant, agent_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.sadd(key, *trace_ids)
            pipe.expire(key, self.ttl_s)
            await pipe.execute()

    async def _pages(self, tenant: str, index: str) -> AsyncIterator[list[tuple[str, _Head]]]:
        """The live entries of `index` as (trace id, head), newest first, one page per round trip.

        Entries whose record expired leave the index on the way.
        """
        start = 0
        seen: set[str] = set()
        while True:
            ids = [i.decode() for i in await self.redis.zrevrange(index, start, start + _SCAN_PAGE - 1)]
            if not ids:
                return
            raws = await self.redis.mget([_trace_key(tenant, trace_id) for trace_id in ids])
            gone = [trace_id for trace_id, raw in zip(ids, raws, strict=True) if raw is None]
            if gone:
                await self.redis.zrem(index, *gone)
            page = [
                (trace_id, _decode_head(raw))
                for trace_id, raw in zip(ids, raws, strict=True)
                if raw is not None and trace_id not in seen
            ]
            seen.update(trace_id for trace_id, _ in page)
            yield page
            start += _SCAN_PAGE - len(gone)

    async def _present(self, tenant: str, index: str, trace_ids: list[str]) -> list[Trace]:
        """The traces of `trace_ids` that still exist (entries of expired ones leave `index`)."""
        found = await self.get_many(tenant, trace_ids)
        gone = [trace_id for trace_id, trace in zip(trace_ids, found, strict=True) if trace is None]
        if gone:
            await self.redis.zrem(index, *gone)
        return [trace for trace in found if trace is not None]
