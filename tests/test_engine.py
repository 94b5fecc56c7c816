"""Engine, scoring and summary: applicability, detector failure isolation, thresholds, stable ids."""

from __future__ import annotations

import msgspec

from taxonomy.catalogue import load_catalogue
from taxonomy.model import Evidence, Finding, Item
from taxonomy.registry import Detector
from workers import engine
from workers.contract import ChunkResult, RunOptions
from workers.engine import analyze_items, build_plan
from workers.settings import Settings
from workers.summary import merge_parts, summarize_part, to_summary

CATALOGUE = load_catalogue()


def fixed(sub_id: str, finding: Finding, needs=("output",)) -> Detector:
    return Detector(subcategory_id=sub_id, needs=needs, detect=lambda item: finding, module="tests")


def boom(item: Item) -> Finding:
    raise ZeroDivisionError("bad maths")


def options(**kw) -> RunOptions:
    return RunOptions(feature_kind=kw.pop("feature_kind", "rag"), feature_kind_detected=False, tier="rule_based", **kw)


def test_a_raising_detector_gives_unsure_with_the_reason_and_others_still_run() -> None:
    detectors = {
        "degenerate_output": Detector(subcategory_id="degenerate_output", needs=("output",), detect=boom, module="t"),
        "harmful_content": fixed("harmful_content", Finding.passed("clean")),
    }
    plan = build_plan(CATALOGUE, detectors, options())
    chunk = analyze_items([Item(index=0, input="q", output="answer")], plan, run_id="r1")
    by_sub = {t.subcategory_id: t for t in chunk.tags}
    assert by_sub["degenerate_output"].decision == "unsure"
    assert "ZeroDivisionError: bad maths" in by_sub["degenerate_output"].judge_rationale
    assert by_sub["harmful_content"].decision == "pass"


def test_detectors_run_only_where_kind_and_inputs_apply() -> None:
    detectors = {"unsupported_claim": fixed("unsupported_claim", Finding.passed("ok"), needs=("output", "context"))}
    plan = build_plan(CATALOGUE, detectors, options())
    chunk = analyze_items([Item(index=0, output="a"), Item(index=1, output="a", context=("doc",))], plan, run_id="r")
    assert [t.item_index for t in chunk.tags] == [1]
    generic = build_plan(CATALOGUE, detectors, options(feature_kind="generic_llm"))
    assert analyze_items([Item(index=0, output="a", context=("d",))], generic, run_id="r").tags == []


def test_judge_only_subcategories_are_skipped_with_the_reason_and_filters_restrict() -> None:
    plan = build_plan(CATALOGUE, {}, options(selected=("fabricated_fact", "over_refusal")))
    assert set(plan.skipped) == {"fabricated_fact", "over_refusal"}
    assert "needs an LLM judge" in plan.skipped["fabricated_fact"]


def test_scoring_fills_breakdown_and_tag_ids_are_stable() -> None:
    finding = Finding(
        decision="fail",
        severity=4.5,
        confidence=0.9,
        rationale="leak",
        evidence=(Evidence(evidence_type="api_key", description="key", source="output", content_snippet="sk_live"),),
    )
    detectors = {"sensitive_data_exposure": fixed("sensitive_data_exposure", finding)}
    plan = build_plan(CATALOGUE, detectors, options())
    first = analyze_items([Item(index=3, output="x")], plan, run_id="run").tags[0]
    again = analyze_items([Item(index=3, output="x")], plan, run_id="run").tags[0]
    assert first.tag_id == again.tag_id
    breakdown = first.scoring_breakdown
    assert (breakdown.impact, breakdown.risk, breakdown.final_severity) == (5, 4, 4.5)
    assert breakdown.deterministic_weight == 1.0 and breakdown.security_override == "critical"
    assert first.evidence_items[0].item_id == "3" and first.bucket_name == "Safety & security"


def test_summary_thresholds_are_settings() -> None:
    detectors = {
        "degenerate_output": fixed("degenerate_output", Finding(decision="fail", severity=3.0, confidence=0.65))
    }
    plan = build_plan(CATALOGUE, detectors, options())
    chunk = analyze_items([Item(index=0, output="x"), Item(index=1, output="y")], plan, run_id="r")

    def summarize(settings: Settings):
        return to_summary(summarize_part(chunk, settings, CATALOGUE), 2)

    default = summarize(Settings())
    assert default.should_gate_ci is True and default.should_alert is False and default.items_with_failures == 2
    strict = summarize(Settings(gate_severity=3.5))
    assert strict.should_gate_ci is False
    assert summarize(Settings(review_confidence=0.7)).needs_human_review is True
    assert default.primary_failure == "degenerate_output" and default.buckets_affected == ["conversation_quality"]


def test_security_flags_mark_failed_categories_and_requested_ones() -> None:
    finding = Finding(
        decision="fail",
        severity=5,
        confidence=1,
        evidence=(
            Evidence(
                evidence_type="pii",
                description="email",
                source="output",
                metadata={"security_category": "S19"},
            ),
        ),
    )
    detectors = {"sensitive_data_exposure": fixed("sensitive_data_exposure", finding)}
    chunk = analyze_items([Item(index=0, output="x")], build_plan(CATALOGUE, detectors, options()), run_id="r")
    flags = summarize_part(chunk, Settings(), CATALOGUE).security
    assert flags["S19"] == "unsafe" and flags["S17"] == "safe"


def test_merged_chunk_parts_give_the_same_summary_as_one_chunk() -> None:
    fail = Finding(decision="fail", severity=4.0, confidence=0.9)
    detectors = {
        "degenerate_output": fixed("degenerate_output", fail),
        "harmful_content": fixed("harmful_content", Finding.passed("ok")),
    }
    plan = build_plan(CATALOGUE, detectors, options())
    items = [Item(index=i, output="x") for i in range(6)]
    whole = analyze_items(items, plan, run_id="r")
    halves = [analyze_items(items[:3], plan, run_id="r"), analyze_items(items[3:], plan, run_id="r", chunk_index=1)]
    merged = merge_parts([summarize_part(c, Settings(), CATALOGUE) for c in halves])
    single = summarize_part(whole, Settings(), CATALOGUE)
    assert merged == msgspec.structs.replace(single, detectors_run=sorted(single.detectors_run))
    assert isinstance(whole, ChunkResult) and merged.fails == 6 and merged.passes == 6


def test_tags_do_not_depend_on_how_many_items_are_checked_detector_by_detector(monkeypatch) -> None:
    def grade(item: Item) -> Finding:
        if "bad" in item.output:
            return Finding(decision="fail", severity=3, confidence=0.73, rationale="bad", metrics={"m": 1.0})
        return Finding.passed("ok", score=float(item.index))

    detectors = {
        "degenerate_output": Detector(subcategory_id="degenerate_output", needs=("output",), detect=grade, module="t"),
        "unsupported_claim": fixed("unsupported_claim", Finding.passed("ok"), needs=("output", "context")),
        "harmful_content": Detector(subcategory_id="harmful_content", needs=("output",), detect=boom, module="t"),
    }
    plan = build_plan(CATALOGUE, detectors, options())
    items = [
        Item(index=i, output="bad answer" if i % 3 == 0 else "answer", context=("doc",) if i % 2 else ())
        for i in range(11)
    ]
    chunks = []
    for block in (1, 4, 64):
        monkeypatch.setattr(engine, "DETECTOR_BLOCK", block)
        chunks.append(msgspec.json.encode(analyze_items(iter(items), plan, run_id="r")))
    assert chunks[0] == chunks[1] == chunks[2]
    one_by_one = [analyze_items([item], plan, run_id="r") for item in items]
    assert msgspec.json.decode(chunks[0])["tags"] == [
        msgspec.to_builtins(tag) for chunk in one_by_one for tag in chunk.tags
    ]


def test_items_sharing_a_context_are_checked_one_after_another_and_reported_in_item_order() -> None:
    seen: list[int] = []

    def record_order(item: Item) -> Finding:
        seen.append(item.index)
        return Finding.passed("ok")

    detectors = {
        "unsupported_claim": Detector(
            subcategory_id="unsupported_claim", needs=("output", "context"), detect=record_order, module="t"
        )
    }
    plan = build_plan(CATALOGUE, detectors, options())
    contexts = [("a",), ("b",), ("a",), ("c",), ("b",), ("a",)]
    items = [Item(index=i, output="answer", context=docs) for i, docs in enumerate(contexts)]
    assert engine.context_order(items) == [0, 2, 5, 1, 4, 3]
    result = analyze_items(items, plan, run_id="r")
    assert seen == [0, 2, 5, 1, 4, 3]
    assert [tag.item_index for tag in result.tags] == [record.item_index for record in result.inputs] == list(range(6))
    distinct = [Item(index=i, output="answer", context=(str(i),)) for i in range(4)]
    assert engine.context_order(distinct) == [0, 1, 2, 3]


def test_merging_one_part_gives_that_part() -> None:
    detectors = {"degenerate_output": fixed("degenerate_output", Finding(decision="fail", severity=4, confidence=0.9))}
    plan = build_plan(CATALOGUE, detectors, options())
    chunk = analyze_items([Item(index=i, output=f"answer {i}") for i in range(3)], plan, run_id="r")
    part = summarize_part(chunk, Settings(), CATALOGUE)
    twice = merge_parts(
        [part, summarize_part(ChunkResult(chunk_index=1, inputs=[], tags=[], detectors_run=[]), Settings(), CATALOGUE)]
    )
    assert merge_parts([part]) == twice == part  # an empty second chunk adds nothing either
