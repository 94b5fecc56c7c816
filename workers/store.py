"""RunStore: runs, their items and results in Redis. The only code that knows misstep's key layout.

Layout (every key is tenant-scoped and expires after RESULT_TTL_S):
    ms:{tenant}:run:{id}                run record (msgpack RunRecord): the source of truth for status
    ms:{tenant}:run:{id}:items:{n}      items of chunk n (msgpack list[Item])
    ms:{tenant}:run:{id}:tags:{n}       tags of chunk n (a JSON array, spliced as-is into responses)
    ms:{tenant}:run:{id}:inputs:{n}     inputs of chunk n (a JSON array)
    ms:{tenant}:run:{id}:part:{n}       summary part of chunk n (msgpack SummaryPart)
    ms:{tenant}:run:{id}:done           set of finished chunk numbers
    ms:{tenant}:run:{id}:workers        hash worker id -> chunks it analysed
    ms:{tenant}:run:{id}:result         the result header (JSON RunResult without tags and inputs), once final
    ms:{tenant}:runs                    sorted set of run ids by creation time (the list index)
    ms:{tenant}:projects                sorted set of project names by last use
    ms:{tenant}:judge:{digest}          cached judge outcome of one item (LLM tiers; JUDGE_CACHE_TTL_S)
    ms:{tenant}:run:{id}:lane           heartbeat of the API process running a direct-lane run (own LLM key)
    ms:{tenant}:active                  count of queued + processing runs (backpressure), changed in
                                        the same transaction as the status that starts or ends a run
Writes that must not be seen half-done (run creation, finalisation) are single MULTI transactions.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import msgspec
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from taxonomy.model import Item
from workers.contract import TERMINAL_STATUSES, ChunkResult, InputRecord, RunRecord, RunResult, Tag
from workers.queue import QueuedJob
from workers.summary import SummaryPart

_PREFIX = "ms"
_encode = msgspec.msgpack.Encoder().encode
_decode_record = msgspec.msgpack.Decoder(RunRecord).decode
_decode_items = msgspec.msgpack.Decoder(list[Item]).decode
_encode_json = msgspec.json.Encoder().encode
_decode_part = msgspec.msgpack.Decoder(SummaryPart).decode
_decode_tags = msgspec.json.Decoder(list[Tag]).decode
_decode_inputs = msgspec.json.Decoder(list[InputRecord]).decode


def _run_key(tenant: str, run_id: str) -> str:
    return f"{_PREFIX}:{tenant}:run:{run_id}"


def _index_key(tenant: str) -> str:
    return f"{_PREFIX}:{tenant}:runs"


def _projects_key(tenant: str) -> str:
    return f"{_PREFIX}:{tenant}:projects"


def judge_cache_key(tenant: str, digest: str) -> str:
    """Where the judge cache keeps one item's outcome (scoped by tenant like everything else)."""
    return f"{_PREFIX}:{tenant}:judge:{digest}"


def _lane_key(tenant: str, run_id: str) -> str:
    return f"{_run_key(tenant, run_id)}:lane"


def _active_key(tenant: str) -> str:
    return f"{_PREFIX}:{tenant}:active"


# Increment the active-run count unless it already reached the limit; -1 means "full". A count that went
# below zero (a record written without a reservation, e.g. by an operator tool) heals to zero here.
_RESERVE_LUA = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n < 0 then redis.call('SET', KEYS[1], 0) n = 0 end
if n >= tonumber(ARGV[1]) then return -1 end
return redis.call('INCR', KEYS[1])
"""


# A completed run in one step (the inline lane): what _write_new_run and a chunk's tags, inputs and worker
# count write, plus the result header. KEYS run, index, projects, tags, inputs, workers, result;
# ARGV record, ttl, now, run id, project ("" for none), tags, inputs, worker id, header.
_CREATE_COMPLETED_LUA = """
local ttl = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
redis.call('SET', KEYS[1], ARGV[1], 'EX', ttl)
redis.call('ZADD', KEYS[2], now, ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[2], 0, now - ttl)
if ARGV[5] ~= '' then redis.call('ZADD', KEYS[3], now, ARGV[5]) end
redis.call('SET', KEYS[4], ARGV[6], 'EX', ttl)
redis.call('SET', KEYS[5], ARGV[7], 'EX', ttl)
redis.call('HINCRBY', KEYS[6], ARGV[8], 1)
redis.call('EXPIRE', KEYS[6], ttl)
redis.call('SET', KEYS[7], ARGV[9], 'EX', ttl)
return 1
"""


class TooManyActiveRunsError(RuntimeError):
    """The tenant already has the maximum number of queued and processing runs."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"{limit} runs are already queued or processing for this tenant")
        self.limit = limit


class RunStore:
    """Tenant-scoped run storage over one redis.asyncio client (the arq pool works too)."""

    def __init__(self, redis: Redis, *, ttl_s: int) -> None:
        self.redis = redis
        self.ttl_s = ttl_s
        self._reserve = redis.register_script(_RESERVE_LUA)
        self._create_completed = redis.register_script(_CREATE_COMPLETED_LUA)

    async def reserve_active(self, tenant: str, limit: int) -> None:
        """Count one more active run for `tenant`.

        Raises:
            TooManyActiveRunsError: the tenant is at `limit` already.
        """
        if int(await self._reserve(keys=[_active_key(tenant)], args=[limit])) < 0:
            raise TooManyActiveRunsError(limit)

    async def release_active(self, tenant: str) -> None:
        """Undo a reservation whose run was never stored."""
        await self.redis.decr(_active_key(tenant))

    async def active_runs(self, tenant: str) -> int:
        return int(await self.redis.get(_active_key(tenant)) or 0)

    async def create_run(self, record: RunRecord, chunks: list[list[Item]], jobs: list[QueuedJob] = ()) -> None:
        """Store a new run's record, items, index entry and its queued jobs in one transaction.

        Either all of it is written or none: a run is never stored without its jobs, nor jobs without it.
        """
        key = _run_key(record.tenant, record.run_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            self._write_new_run(pipe, record)
            for n, chunk in enumerate(chunks):
                pipe.set(f"{key}:items:{n}", _encode(chunk), ex=self.ttl_s)
            for job in jobs:
                pipe.psetex(job.job_key, job.expires_ms, job.payload)
                pipe.zadd(job.queue_name, {job.job_id: job.score_ms})
            await pipe.execute()

    async def create_completed_run(self, record: RunRecord, result: ChunkResult, header: RunResult) -> bytes:
        """Store a run analysed before it was ever stored (the inline lane) in its final state, in one atomic
        step; returns its complete result JSON, as `result_json` would read it back.

        `record` is completed and `result` is its only chunk. What the reads of a finalised run use is written
        (record, index, chunk tags and inputs, worker count, result header); the done set and summary part
        only matter while a run is processing, so they are left out. Nothing is ever half-written.
        """
        key, tenant = _run_key(record.tenant, record.run_id), record.tenant
        tags, inputs, header_json = _encode_json(result.tags), _encode_json(result.inputs), _encode_json(header)
        await self._create_completed(  # one command: a script runs atomically, and is one reply to parse
            keys=[
                key,
                _index_key(tenant),
                _projects_key(tenant),
                f"{key}:tags:0",
                f"{key}:inputs:0",
                f"{key}:workers",
                f"{key}:result",
            ],
            args=[
                _encode(record),
                self.ttl_s,
                repr(time.time()),
                record.run_id,
                record.project_name or "",
                tags,
                inputs,
                result.worker_id,
                header_json,
            ],
        )
        return _splice(_splice(header_json, b'"failure_tags":[]', [tags]), b'"inputs":[]', [inputs])

    def _write_new_run(self, pipe: Pipeline, record: RunRecord) -> None:
        """Queue the writes of a new run: its record, its index entry and its project."""
        now = time.time()
        pipe.set(_run_key(record.tenant, record.run_id), _encode(record), ex=self.ttl_s)
        pipe.zadd(_index_key(record.tenant), {record.run_id: now})
        pipe.zremrangebyscore(_index_key(record.tenant), 0, now - self.ttl_s)
        if record.project_name:
            pipe.zadd(_projects_key(record.tenant), {record.project_name: now})

    def _write_chunk(self, pipe: Pipeline, key: str, result: ChunkResult, part: SummaryPart) -> None:
        """Queue the writes of one analysed chunk: tags, inputs, summary part, done mark, worker count."""
        n = result.chunk_index
        pipe.set(f"{key}:tags:{n}", _encode_json(result.tags), ex=self.ttl_s)
        pipe.set(f"{key}:inputs:{n}", _encode_json(result.inputs), ex=self.ttl_s)
        pipe.set(f"{key}:part:{n}", _encode(part), ex=self.ttl_s)
        pipe.sadd(f"{key}:done", n)
        pipe.expire(f"{key}:done", self.ttl_s)
        if result.worker_id:
            pipe.hincrby(f"{key}:workers", result.worker_id, 1)
            pipe.expire(f"{key}:workers", self.ttl_s)

    async def get_record(self, tenant: str, run_id: str) -> RunRecord | None:
        raw = await self.redis.get(_run_key(tenant, run_id))
        return _decode_record(raw) if raw is not None else None

    async def get_status(self, tenant: str, run_id: str) -> tuple[RunRecord | None, int, dict[str, int]]:
        """What a status answer needs, in one round trip: the record, chunks done and chunks per worker."""
        key = _run_key(tenant, run_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.get(key)
            pipe.scard(f"{key}:done")
            pipe.hgetall(f"{key}:workers")
            raw, done, workers = await pipe.execute()
        record = _decode_record(raw) if raw is not None else None
        return record, int(done), {k.decode(): int(v) for k, v in workers.items()}

    async def beat(self, tenant: str, run_id: str, ttl_s: int) -> None:
        """A direct-lane run's owner is alive (the key lapses `ttl_s` after its last beat)."""
        await self.redis.set(_lane_key(tenant, run_id), b"1", ex=ttl_s)

    async def lane_alive(self, tenant: str, run_id: str) -> bool:
        return bool(await self.redis.exists(_lane_key(tenant, run_id)))

    async def update_record(
        self, tenant: str, run_id: str, change: Callable[[RunRecord], RunRecord | None]
    ) -> RunRecord | None:
        """Apply `change` to the stored record atomically (optimistic WATCH/MULTI, retried on conflict).

        `change` returns the new record, or None to leave it as it is. Returns the record now stored.
        """
        stored, _ = await self._transition(tenant, run_id, change)
        return stored

    async def _transition(
        self,
        tenant: str,
        run_id: str,
        change: Callable[[RunRecord], RunRecord | None],
        also: Callable[[Pipeline], None] | None = None,
    ) -> tuple[RunRecord | None, bool]:
        """The one read-modify-write of a run record; returns (record now stored, whether it changed).

        A change that ends a run (to completed / failed / cancelled) releases its active-run slot in the
        same transaction; `also` adds further writes to that transaction.
        """
        key = _run_key(tenant, run_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    if raw is None:
                        return None, False
                    current = _decode_record(raw)
                    updated = change(current)
                    if updated is None:
                        await pipe.unwatch()
                        return current, False
                    pipe.multi()
                    pipe.set(key, _encode(updated), keepttl=True)
                    if current.status not in TERMINAL_STATUSES and updated.status in TERMINAL_STATUSES:
                        pipe.decr(_active_key(tenant))
                    if also is not None:
                        also(pipe)
                    await pipe.execute()
                    return updated, True
                except WatchError:
                    continue

    async def open_chunk(
        self, tenant: str, run_id: str, chunk: int
    ) -> tuple[RunRecord | None, bool, list[Item] | None]:
        """What a chunk job needs, in one round trip: the record, whether the chunk is done, its items."""
        key = _run_key(tenant, run_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.get(key)
            pipe.sismember(f"{key}:done", chunk)
            pipe.get(f"{key}:items:{chunk}")
            raw_record, done, raw_items = await pipe.execute()
        record = _decode_record(raw_record) if raw_record is not None else None
        items = _decode_items(raw_items) if raw_items is not None else None
        return record, bool(done), items

    async def save_chunk(self, tenant: str, run_id: str, result: ChunkResult, part: SummaryPart) -> int:
        """Store a chunk's tags, inputs and summary part (idempotent); returns how many chunks are done."""
        key = _run_key(tenant, run_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            self._write_chunk(pipe, key, result, part)
            pipe.scard(f"{key}:done")
            replies = await pipe.execute()
        return int(replies[-1])

    async def done_chunks(self, tenant: str, run_id: str) -> int:
        return int(await self.redis.scard(f"{_run_key(tenant, run_id)}:done"))

    async def load_parts(self, tenant: str, run_id: str, n_chunks: int) -> list[SummaryPart]:
        return [_decode_part(raw) for raw in await self._arrays(tenant, run_id, "part", n_chunks)]

    async def finalize(self, record: RunRecord, header: RunResult) -> bool:
        """Write the result header and the terminal record together, and drop the submitted items.

        Only succeeds while the stored run is not terminal yet (a cancel that lands first wins);
        returns whether this call finalised the run.
        """
        key = _run_key(record.tenant, record.run_id)

        def write_result(pipe: Pipeline) -> None:
            pipe.set(f"{key}:result", _encode_json(header), ex=self.ttl_s)
            if record.n_chunks:
                pipe.delete(*(f"{key}:items:{i}" for i in range(record.n_chunks)))

        _, changed = await self._transition(
            record.tenant,
            record.run_id,
            lambda current: None if current.status in TERMINAL_STATUSES else record,
            also=write_result,
        )
        return changed

    async def _arrays(self, tenant: str, run_id: str, what: str, n_chunks: int) -> list[bytes]:
        """The stored per-chunk values `what` ("tags", "inputs", "part") of chunks 0..n-1 that exist."""
        key = _run_key(tenant, run_id)
        raws = await self.redis.mget([f"{key}:{what}:{n}" for n in range(n_chunks)]) if n_chunks else []
        return [raw for raw in raws if raw is not None]

    async def load_tags(self, tenant: str, run_id: str, n_chunks: int) -> list[Tag]:
        return [tag for raw in await self._arrays(tenant, run_id, "tags", n_chunks) for tag in _decode_tags(raw)]

    async def load_inputs(self, tenant: str, run_id: str, n_chunks: int) -> list[InputRecord]:
        arrays = await self._arrays(tenant, run_id, "inputs", n_chunks)
        return [record for raw in arrays for record in _decode_inputs(raw)]

    async def result_json(self, tenant: str, run_id: str, n_chunks: int) -> bytes | None:
        """The complete result as JSON: the stored header with every chunk's tags and inputs spliced in.

        One round trip. The chunk arrays are stored JSON-encoded, so a 10,000-item result is served without
        decoding and re-encoding its tags.
        """
        key = _run_key(tenant, run_id)
        chunks = range(n_chunks)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.get(f"{key}:result")
            if n_chunks:
                pipe.mget([f"{key}:tags:{n}" for n in chunks])
                pipe.mget([f"{key}:inputs:{n}" for n in chunks])
            header, *arrays = await pipe.execute()
        if header is None:
            return None
        tags, inputs = ([raw for raw in found if raw is not None] for found in (arrays or [[], []]))
        return _splice(_splice(header, b'"failure_tags":[]', tags), b'"inputs":[]', inputs)

    async def list_records(self, tenant: str) -> list[RunRecord]:
        """Every live run of a tenant, newest first (entries whose record expired are pruned)."""
        index = _index_key(tenant)
        await self.redis.zremrangebyscore(index, 0, time.time() - self.ttl_s)
        run_ids = [rid.decode() for rid in await self.redis.zrevrange(index, 0, -1)]
        if not run_ids:
            return []
        raws = await self.redis.mget([_run_key(tenant, rid) for rid in run_ids])
        gone = [rid for rid, raw in zip(run_ids, raws, strict=True) if raw is None]
        if gone:
            await self.redis.zrem(index, *gone)
        return [_decode_record(raw) for raw in raws if raw is not None]

    async def projects(self, tenant: str) -> list[str]:
        return [p.decode() for p in await self.redis.zrevrange(_projects_key(tenant), 0, -1)]


def _splice(document: bytes, empty_field: bytes, arrays: list[bytes]) -> bytes:
    """Replace `"field":[]` in a msgspec-encoded document with the concatenation of JSON `arrays`.

    Inside JSON strings every quote is escaped, so the unescaped `"field":[]` only matches the field.
    """
    items = b",".join(array[1:-1] for array in arrays if len(array) > 2)
    return document.replace(empty_field, empty_field[:-1] + items + b"]", 1)
