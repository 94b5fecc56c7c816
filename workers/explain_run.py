"""After a ThinkHive-family run completes: explain each analysed trace and store the explanations.

Runs in the worker that finalised the run (or the API process for a direct-lane run), before the
webhook is scheduled, so a callback's receiver can read the explanations at once. Idempotent: a repeat
overwrites the same explanations.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from workers.contract import InputRecord, RunRecord, Tag
from workers.explanation_store import ExplanationStore
from workers.explanations import Explanation, explain
from workers.store import RunStore
from workers.submission import parse_iso
from workers.trace_store import TraceStore


async def store_explanations(
    record: RunRecord,
    store: RunStore,
    explanations: ExplanationStore,
    traces: TraceStore,
    *,
    tags: list[Tag] | None = None,
    inputs: list[InputRecord] | None = None,
) -> list[Explanation]:
    """Explain every item of `record` (a completed ThinkHive run); returns the explanations stored.

    The run's tags and inputs are read from its stored chunks unless the caller passes all of them.
    """
    options = record.explain
    if options is None:
        return []
    if tags is None:
        tags = await store.load_tags(record.tenant, record.run_id, record.n_chunks)
    if inputs is None:
        inputs = await store.load_inputs(record.tenant, record.run_id, record.n_chunks)
    by_item: dict[int, list[Tag]] = defaultdict(list)
    for tag in tags:
        by_item[tag.item_index].append(tag)
    generated = record.finished_at or record.created_at
    expires = (parse_iso(generated) + timedelta(seconds=explanations.ttl_s)).isoformat().replace("+00:00", "Z")
    built = [
        explain(
            item,
            by_item.get(item.item_index, []),
            run_id=record.run_id,
            agent_id=options.agent_id,
            tier=record.options.tier,
            outcome=options.outcomes.get(item.trace_id or ""),
            generated_at=generated,
            expires_at=expires,
        )
        for item in inputs
    ]
    await explanations.save(record.tenant, built)
    trace_ids = [e.trace_id for e in built]
    await traces.mark_analyzed(record.tenant, options.agent_id, trace_ids)
    return built
