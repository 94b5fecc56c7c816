"""Tool calls whose target does not exist: HTTP 404/410, missing files, unknown records, empty look-ups.

Reads each call's status_code, error and output through the shared classifier (_tool_errors.py): 404/410 in
the field or text ("404 Client Error: Not Found for url", "## Error 404"), FileNotFoundError / "No such file
or directory", "does not exist", "not archived on Wayback". "No results found" for a search is reported with
lower confidence and severity (the query, not the resource, may be at fault). Blind spots: tools that return
an empty success payload for a missing record; an unknown *tool* name is left to wrong_tool_selection.
"""

from __future__ import annotations

from taxonomy.detectors.system_execution._tool_errors import kind_finding
from taxonomy.model import Finding, Item
from taxonomy.registry import detector

DEFAULT_IMPACT = 3


@detector("resource_not_found", needs=("tool_calls",))
def detect(item: Item) -> Finding:
    return kind_finding(item.tool_calls, "not_found", default_impact=DEFAULT_IMPACT, what="a resource-not-found error")
