"""Tool calls that failed because a dependency broke or did not answer in time: 5xx, 408, timeouts, crashes.

Reads each call's status_code, error and output through the shared classifier (_tool_errors.py): 5xx/408
statuses, "Internal Server Error", "Service Unavailable", "overloaded", "timed out", "Connection refused /
aborted", "RemoteDisconnected", "Max retries exceeded", DNS failures, "exitcode: 124", crashed sandboxes or
kernels, segmentation faults. Blind spots: slow calls that succeeded (no latency data is read); a tool that
swallows an upstream failure and returns an empty success.
"""

from __future__ import annotations

from taxonomy.detectors.system_execution._tool_errors import kind_finding
from taxonomy.model import Finding, Item
from taxonomy.registry import detector

DEFAULT_IMPACT = 3


@detector("upstream_service_error", needs=("tool_calls",))
def detect(item: Item) -> Finding:
    return kind_finding(
        item.tool_calls,
        "upstream",
        default_impact=DEFAULT_IMPACT,
        what="an upstream service error or timeout",
    )
