"""TraceStore against a real Redis: key layout and expiry, tenant isolation, indexes that follow
overwrites, filters and paging, the analyzed set, and all-or-nothing writes."""

from __future__ import annotations

import uuid

import msgspec
import pytest
from redis.asyncio import Redis

from workers.trace_store import TraceStore
from workers.traces import RetrievedDocument, Trace

pytestmark = pytest.mark.integration

TTL_S = 300


@pytest.fixture
async def store(settings):
    client = Redis.from_url(settings.redis_url)
    yield TraceStore(client, ttl_s=TTL_S)
    await client.aclose()


@pytest.fixture
def tenant() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"


def trace(tenant: str, trace_id: str, **fields: object) -> Trace:
    defaults: dict[str, object] = {"agent_id": "agent-a", "user_message": f"q {trace_id}", "agent_response": "a"}
    return Trace(trace_id=trace_id, tenant=tenant, created_at="2026-11-21T00:00:00.000Z", **{**defaults, **fields})


async def test_put_and_get_round_trip_with_every_key_expiring(store: TraceStore, tenant: str) -> None:
    stored = trace(
        tenant,
        "tr-1",
        session_id="s-1",
        retrieved_documents=[RetrievedDocument(content="doc", score=0.5, id="d1")],
        tool_calls=[{"name": "lookup", "arguments": {"id": 7}, "output": "ok"}],
    )
    assert await store.put(stored) == stored
    assert await store.get(tenant, "tr-1") == stored
    await store.mark_analyzed(tenant, "agent-a", ["tr-1"])
    keys = [
        f"ms:{tenant}:trace:tr-1",
        f"ms:{tenant}:traces",
        f"ms:{tenant}:agent:agent-a:traces",
        f"ms:{tenant}:session:s-1:traces",
        f"ms:{tenant}:agent:agent-a:analyzed",
    ]
    for key in keys:
        assert 0 < await store.redis.ttl(key) <= TTL_S, key
    assert msgspec.msgpack.decode(await store.redis.get(keys[0]), type=Trace) == stored


async def test_another_tenant_sees_nothing(store: TraceStore, tenant: str) -> None:
    await store.put(trace(tenant, "tr-private", session_id="s"))
    other = f"{tenant}-other"
    assert await store.get(other, "tr-private") is None
    assert await store.get_many(other, ["tr-private"]) == [None]
    assert await store.list(other) == ([], 0)
    assert await store.list(other, agent_id="agent-a") == ([], 0)
    assert await store.list(other, session_id="s") == ([], 0)
    assert await store.unanalyzed(other, "agent-a", limit=10) == ([], 0)
    assert (await store.list(tenant))[1] == 1


async def test_same_id_again_overwrites_and_moves_between_agent_and_session_indexes(
    store: TraceStore, tenant: str
) -> None:
    await store.put(trace(tenant, "tr-1", agent_id="agent-a", session_id="s-old"))
    await store.mark_analyzed(tenant, "agent-a", ["tr-1"])
    await store.put(trace(tenant, "tr-1", agent_id="agent-b", session_id="s-new", user_message="edited"))
    assert (await store.get(tenant, "tr-1")).user_message == "edited"  # type: ignore[union-attr]
    assert await store.list(tenant, agent_id="agent-a") == ([], 0)
    assert [t.trace_id for t in (await store.list(tenant, agent_id="agent-b"))[0]] == ["tr-1"]
    assert await store.list(tenant, session_id="s-old") == ([], 0)
    assert (await store.list(tenant, session_id="s-new"))[1] == 1
    assert not await store.redis.sismember(f"ms:{tenant}:agent:agent-a:analyzed", "tr-1")
    assert (await store.list(tenant))[1] == 1


async def test_list_is_newest_first_paged_and_filtered(store: TraceStore, tenant: str) -> None:
    for n in range(5):
        await store.put(
            trace(
                tenant,
                f"tr-{n}",
                agent_id="agent-a" if n % 2 == 0 else "agent-b",
                outcome="failure" if n in (1, 2) else "success",
                session_id="s-x" if n >= 3 else None,
            )
        )
    page, total = await store.list(tenant, limit=2, offset=1)
    assert [t.trace_id for t in page] == ["tr-3", "tr-2"] and total == 5
    agent_a, total_a = await store.list(tenant, agent_id="agent-a")
    assert [t.trace_id for t in agent_a] == ["tr-4", "tr-2", "tr-0"] and total_a == 3
    failures, total_f = await store.list(tenant, outcome="failure", limit=1)
    assert [t.trace_id for t in failures] == ["tr-2"] and total_f == 2
    assert [t.trace_id for t in (await store.list(tenant, agent_id="agent-a", outcome="failure"))[0]] == ["tr-2"]
    session, total_s = await store.list(tenant, session_id="s-x")
    assert [t.trace_id for t in session] == ["tr-4", "tr-3"] and total_s == 2
    both, total_both = await store.list(tenant, session_id="s-x", agent_id="agent-b")
    assert [t.trace_id for t in both] == ["tr-3"] and total_both == 1
    many = await store.get_many(tenant, ["tr-0", "missing", "tr-4"])
    assert [t.trace_id if t else None for t in many] == ["tr-0", None, "tr-4"]


async def test_entries_of_expired_records_are_pruned_from_the_indexes(store: TraceStore, tenant: str) -> None:
    for n in range(3):
        await store.put(trace(tenant, f"tr-{n}"))
    await store.redis.delete(f"ms:{tenant}:trace:tr-1")  # as if its TTL had run out
    traces, total = await store.list(tenant, outcome=None, agent_id="agent-a", limit=10)
    assert [t.trace_id for t in traces] == ["tr-2", "tr-0"]
    assert total == 3  # counted before the page met the expired entry ...
    assert (await store.list(tenant, agent_id="agent-a"))[1] == 2  # ... and gone from the index after


async def test_unanalyzed_skips_explained_traces_newest_first(store: TraceStore, tenant: str) -> None:
    for n in range(6):
        await store.put(trace(tenant, f"tr-{n}", outcome="failure" if n % 2 else "success"))
    await store.put(trace(tenant, "other-agent", agent_id="agent-z"))
    await store.mark_analyzed(tenant, "agent-a", ["tr-5", "tr-3", "tr-0"])
    chosen, skipped = await store.unanalyzed(tenant, "agent-a", limit=2)
    assert [t.trace_id for t in chosen] == ["tr-4", "tr-2"] and skipped == 2  # tr-5 and tr-3 passed over
    everything, skipped_all = await store.unanalyzed(tenant, "agent-a", limit=50)
    assert [t.trace_id for t in everything] == ["tr-4", "tr-2", "tr-1"] and skipped_all == 3
    failures, skipped_failures = await store.unanalyzed(tenant, "agent-a", limit=50, outcome="failure")
    assert [t.trace_id for t in failures] == ["tr-1"] and skipped_failures == 2


async def test_changed_content_is_no_longer_analyzed_but_an_identical_resend_is(store: TraceStore, tenant: str) -> None:
    original = trace(tenant, "tr-1")
    await store.put(original)
    await store.mark_analyzed(tenant, "agent-a", ["tr-1"])
    await store.put(original)
    assert await store.unanalyzed(tenant, "agent-a", limit=5) == ([], 1)
    await store.put(msgspec.structs.replace(original, agent_response="a different answer"))
    chosen, skipped = await store.unanalyzed(tenant, "agent-a", limit=5)
    assert [t.trace_id for t in chosen] == ["tr-1"] and skipped == 0


async def test_put_many_is_all_or_nothing_and_combines_with_what_is_stored(store: TraceStore, tenant: str) -> None:
    await store.put(trace(tenant, "tr-1", user_message="first"))

    def refuse(stored: Trace, new: Trace) -> Trace:
        raise ValueError("too big")

    with pytest.raises(ValueError, match="too big"):
        await store.put_many([trace(tenant, "tr-new"), trace(tenant, "tr-1")], combine=refuse)
    assert await store.get(tenant, "tr-new") is None
    assert (await store.get(tenant, "tr-1")).user_message == "first"  # type: ignore[union-attr]

    def join(stored: Trace, new: Trace) -> Trace:
        return msgspec.structs.replace(new, user_message=f"{stored.user_message}+{new.user_message}")

    stored = await store.put_many([trace(tenant, "tr-1", user_message="second"), trace(tenant, "tr-2")], combine=join)
    assert [t.user_message for t in stored] == ["first+second", "q tr-2"]
    assert (await store.get(tenant, "tr-1")).user_message == "first+second"  # type: ignore[union-attr]


async def test_an_offset_past_the_end_is_an_empty_page_even_beyond_64_bits(store: TraceStore, tenant: str) -> None:
    await store.put(trace(tenant, "t1"))
    assert await store.list(tenant, offset=5) == ([], 1)
    assert await store.list(tenant, offset=2**63 - 1) == ([], 1)
