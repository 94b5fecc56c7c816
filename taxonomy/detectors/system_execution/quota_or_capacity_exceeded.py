"""Tool calls that were throttled or hit a resource limit: 429, quota, memory, disk, context or token limits.

Reads each call's status_code, error and output through the shared classifier (_tool_errors.py): HTTP 429
(and 413/507), "Too Many Requests", "rate limit", "insufficient_quota", MemoryError / "out of memory" /
"Killed", "No space left on device", "maximum context length", "context_length_exceeded", "token limit",
interpreter operation caps ("Reached the max number of operations"). A 400/403 whose message names a rate
limit or context length counts here. Blind spots: limits reported only in response headers, and silent
truncation of a too-long input.
"""

from __future__ import annotations

from taxonomy.detectors.system_execution._tool_errors import kind_finding
from taxonomy.model import Finding, Item
from taxonomy.registry import detector

DEFAULT_IMPACT = 3


@detector("quota_or_capacity_exceeded", needs=("tool_calls",))
def detect(item: Item) -> Finding:
    return kind_finding(
        item.tool_calls, "quota", default_impact=DEFAULT_IMPACT, what="a rate-limit, quota or capacity error"
    )
