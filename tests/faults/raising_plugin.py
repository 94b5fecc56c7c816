"""A detector plugin for fault injection: raises on items whose output contains FAULT-INJECT.

Loaded by worker processes through DETECTOR_PLUGINS=tests.faults.raising_plugin; it registers for
`fabricated_fact`, a judge-only subcategory, so it does not collide with a built-in detector.
"""

from __future__ import annotations

from taxonomy.model import Finding, Item
from taxonomy.registry import detector

MARKER = "FAULT-INJECT"


@detector("fabricated_fact", needs=("output",))
def detect(item: Item) -> Finding:
    if MARKER in item.output:
        raise RuntimeError(f"injected failure on item {item.index}")
    return Finding.passed("no injected fault here")
