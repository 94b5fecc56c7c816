"""The catalogue is complete and consistent, and every det/hybrid subcategory has a detector."""

from __future__ import annotations

import json
from pathlib import Path

from taxonomy.catalogue import load_catalogue
from taxonomy.registry import discover

SHARED_TAXONOMY = Path(__file__).resolve().parents[2] / "shared" / "docs" / "taxonomy.json"
BUCKETS = {
    "hallucination_grounding": 4,
    "retrieval_quality": 5,
    "instruction_compliance": 4,
    "tool_usage": 5,
    "system_execution": 5,
    "reasoning_planning": 8,
    "safety_security": 5,
    "conversation_quality": 5,
}


def test_catalogue_has_the_8_buckets_and_41_subcategories() -> None:
    catalogue = load_catalogue()
    assert {b.id: len(b.subcategories) for b in catalogue.buckets} == BUCKETS
    assert len(catalogue.subcategories) == 41  # bare ids are unique across buckets


def test_every_subcategory_carries_the_metadata_the_sdk_reads() -> None:
    catalogue = load_catalogue()
    security_ids = {c.id for c in catalogue.security_categories}
    assert security_ids == {f"S{n}" for n in range(1, 24)}
    for sub in catalogue.subcategories.values():
        assert sub.name and sub.definition and sub.applies_to and sub.required_inputs
        assert 1 <= sub.default_impact <= 5 and sub.default_risk in ("low", "medium", "high", "critical")
        assert sub.detection in ("deterministic", "llm_judge", "hybrid")
        assert set(sub.related_security_categories) <= security_ids
        assert sub.requires_retrieval == ("context" in sub.required_inputs)
        assert sub.full_id == f"{sub.bucket_id}.{sub.id}"


def test_catalogue_matches_the_reference_taxonomy_where_it_is_copied() -> None:
    if not SHARED_TAXONOMY.exists():  # the reference lives beside the checkout, not in it
        return
    reference = json.loads(SHARED_TAXONOMY.read_text())
    ours = load_catalogue().subcategories
    approach = {"det": "deterministic", "judge": "llm_judge"}
    for bucket in reference["buckets"]:
        for ref in bucket["subcategories"]:
            sub = ours[ref["id"]]
            assert sub.bucket_id == bucket["id"] and sub.default_impact == ref["default_impact"]
            assert sub.detection == approach.get(ref["detection"], ref["detection"])
            assert set(ref["applies_to"]) <= set(sub.applies_to)


def test_every_deterministic_or_hybrid_subcategory_has_a_detector_and_no_stray_ones() -> None:
    catalogue = load_catalogue()
    detectors = discover()
    needing = {s.id for s in catalogue.subcategories.values() if s.detection in ("deterministic", "hybrid")}
    assert needing - set(detectors) == set(), "det/hybrid subcategories without a detector"
    assert set(detectors) - set(catalogue.subcategories) == set(), "detectors for unknown subcategories"


def test_each_detector_lives_in_its_bucket_folder_under_its_own_name() -> None:
    catalogue = load_catalogue()
    for sub_id, found in discover().items():
        bucket_id = catalogue.subcategories[sub_id].bucket_id
        assert found.module == f"taxonomy.detectors.{bucket_id}.{sub_id}"
