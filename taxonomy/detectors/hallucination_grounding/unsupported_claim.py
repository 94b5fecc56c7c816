"""Unsupported claims: answer content that the provided context (or the question) does not back.

How: the checkable facts of the output are extracted and looked up in an index of the context, the
input, the system prompt and earlier turns:
- numbers (digits or words, "1,000" = "1000", "ten" = "10", scales, percentages, money, years, clock
  times compared on a 12-hour dial, a day next to a month);
- named entities (capitalised spans: people, places, organisations, titles) token by token, with titles
  ("Manager", "Dr") stripped, acronyms ("UN"), aliases ("CA" = "California", "Spanish" = "Spain") and a
  shared 4-letter prefix ("British"/"Britain", half support) counted as support;
- quoted strings, by word bigrams and content-word coverage.
Structured (JSON) context adds attribute checks: a clause asserting a feature the record sets to false
("OutdoorSeating": false) or leaves null, without a negation, is a flip. Secondary signals: a sentence
negating a closely matching plain context sentence, and sentences whose content words are mostly absent.

Decision: fail when a strong fact is unsupported: a number other than a small count or ordinal, a
mid-sentence name none of whose tokens occurs (or whose surname does not), a multi-word quote, a
record attribute flip. unsure when only weak signals fire: small counts, weekdays, partly supported
names, single-word quotes, negation flips, low-overlap sentences. pass otherwise or when the answer
abstains. The first 100k characters of an answer are analysed.

Metrics: context_coverage (share of the output's content words found in the context alone) and
unsupported_fact_ratio (unsupported numbers, names and quotes / those checked; omitted when none).

Blind spots: rules see words, not meaning. Paraphrased or computed values ("21-year-old" from a birth
year), wrong relations between supported entities ("Paris is in Germany" when both appear), swapped
attributes, antonyms and subtle inferences pass; a correct fact from world knowledge that the context
does not mention fails (reference summaries and chit-chat with outside knowledge are the main false
positives). Sentence-initial single words are not checked as names in answers longer than six words.
Treat pass as "no lexical evidence of a hallucination", not as verified.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from taxonomy.detectors.hallucination_grounding._abstain import abstention
from taxonomy.detectors.hallucination_grounding._entities import entities
from taxonomy.detectors.hallucination_grounding._facts import (
    WEEKDAYS,
    as_text,
    content_stem_sets,
    content_stems,
    quotes,
)
from taxonomy.detectors.hallucination_grounding._negation import negation_flips
from taxonomy.detectors.hallucination_grounding._numbers import numbers
from taxonomy.detectors.hallucination_grounding._structured import attribute_flips
from taxonomy.detectors.hallucination_grounding._support import SupportIndex, context_index
from taxonomy.model import Evidence, Finding, Item
from taxonomy.registry import detector
from taxonomy.text import cached_sentences, snippet, truncate

MAX_EVIDENCE = 8
MAX_OUTPUT_CHARS = 100_000  # facts are read from the first 100k characters of a (pathologically) long answer
LOW_SENTENCE_SUPPORT = 0.35
MIN_SENTENCE_CONTENT = 5
STRONG, WEAK = 0.8, 0.4


@dataclass
class _Audit:
    """The answer's checkable facts as they are looked up, and what was found unsupported."""

    output: str
    index: SupportIndex
    sentences: Sequence[tuple[int, str]]  # sentences(output)
    strong: list[Evidence] = field(default_factory=list)
    weak: list[Evidence] = field(default_factory=list)
    checked: int = 0
    unsupported: int = 0
    seen: set[str] = field(default_factory=set)
    quote_spans: list[tuple[int, int]] = field(default_factory=list)
    _sentence_stems: dict[str, set[str]] = field(default_factory=dict)

    def stems_of(self, sentence: str) -> set[str]:
        """content_stems(sentence) of a sentence of the output, computed once (all at once)."""
        if not self._sentence_stems:
            texts = [text for _, text in self.sentences]
            self._sentence_stems = dict(zip(texts, content_stem_sets(texts), strict=True))
        return self._sentence_stems[sentence]

    def output_stems(self) -> set[str]:
        """content_stems(output): for ASCII, the union of its sentences' (no word spans a sentence break)."""
        if not self.output.isascii():
            return content_stems(self.output)
        return set().union(*(self.stems_of(sentence) for _, sentence in self.sentences))

    def first_time(self, key: str, start: int, end: int) -> bool:
        """Count a fact once; skip repeats and facts inside an already unsupported quote."""
        if key in self.seen or any(qs <= start and end <= qe for qs, qe in self.quote_spans):
            return False
        self.seen.add(key)
        self.checked += 1
        return True

    def flag(
        self,
        kind: str,
        description: str,
        start: int,
        end: int,
        *,
        strong: bool,
        value: str | None,
        confidence: float | None = None,
        fact: bool = True,
    ) -> None:
        metadata: dict[str, object] = {"start": start, "end": end}
        if value is not None:
            metadata["value"] = value
        evidence = Evidence(
            evidence_type=kind,
            description=description,
            source="output",
            content_snippet=snippet(self.output, start, end),
            metadata=metadata,
            confidence=confidence if confidence is not None else (STRONG if strong else WEAK),
        )
        (self.strong if strong else self.weak).append(evidence)
        self.unsupported += fact


def _check_quotes(audit: _Audit) -> None:
    output, index = audit.output, audit.index
    for quote in quotes(output):
        if quote.text.rstrip().endswith("?") or len(quote.text) > 0.5 * len(output):
            continue  # a restated question, or the whole answer wrapped in quotes
        if not audit.first_time("q:" + quote.text.casefold(), quote.start, quote.end):
            continue
        if index.phrase_support(quote.text) >= 0.5 or index.stem_coverage(content_stems(quote.text)) >= 0.75:
            continue
        audit.quote_spans.append((quote.start, quote.end))
        audit.flag(
            "unsupported_quote",
            "Quoted text not found in the context or input",
            quote.start,
            quote.end,
            strong=len(quote.text.split()) >= 2,
            value=quote.text,
        )


def _check_numbers(audit: _Audit) -> None:
    for number in numbers(audit.output):
        key = "n:" + ",".join(str(v) for v in number.values)
        if not audit.first_time(key, number.start, number.end) or audit.index.has_value(number):
            continue
        is_strong = not number.weak or (number.is_time and bool(audit.index.times))
        audit.flag(
            "unsupported_number",
            f"Number {number.text!r} does not appear in the context or input",
            number.start,
            number.end,
            strong=is_strong,
            value=number.text,
        )


def _check_entities(audit: _Audit) -> None:
    for entity in entities(audit.output):
        if not audit.first_time("e:" + " ".join(entity.tokens), entity.start, entity.end):
            continue
        support, last_missing = audit.index.entity_support(entity)
        if support >= 1.0:
            continue
        if support == 0.0 and entity.tokens[-1] in WEEKDAYS:
            description, strong = f"Day {entity.text!r} is not in the context or input", False
        elif support == 0.0 or (last_missing and len(entity.tokens) > 1):
            description, strong = f"Name {entity.text!r} is not in the context or input", True
        else:
            description, strong = f"Name {entity.text!r} is only partly in the context or input", False
        audit.flag("unsupported_entity", description, entity.start, entity.end, strong=strong, value=entity.text)


def _check_relations(audit: _Audit, context_docs: list[str]) -> None:
    """Record attributes asserted against false/null values, negations of the context, unsupported sentences."""
    output = audit.output
    for flip in attribute_flips(output, context_docs):
        if flip.value is False:
            kind, description = "contradicted_attribute", f"The record sets {flip.attribute} to false"
        else:
            kind, description = "unverifiable_attribute", f"The record leaves {flip.attribute} unknown (null)"
        audit.flag(
            kind,
            description + "; the answer asserts it",
            flip.start,
            flip.end,
            strong=True,
            value=flip.attribute,
            confidence=0.85 if flip.value is False else 0.7,
            fact=False,
        )
    flips = negation_flips(audit.sentences, context_docs, audit.stems_of, audit.index.word_stems)
    for start, end, source_sentence in flips:
        audit.flag(
            "negation_flip",
            f"Negates the context: {truncate(source_sentence, 160)!r}",
            start,
            end,
            strong=False,
            value=None,
            confidence=0.6,
            fact=False,
        )
    for start, sentence in audit.sentences:
        sentence_stems = audit.stems_of(sentence)
        if len(sentence_stems) < MIN_SENTENCE_CONTENT or abstention(sentence):
            continue
        if audit.index.stem_coverage(sentence_stems) < LOW_SENTENCE_SUPPORT:
            audit.flag(
                "low_support_sentence",
                "Most content words of this sentence are absent from the context",
                start,
                start + len(sentence),
                strong=False,
                value=None,
                fact=False,
            )


@detector("unsupported_claim", needs=("output", "context"))
def detect(item: Item) -> Finding:
    output = as_text(item.output)
    output = output[:MAX_OUTPUT_CHARS]
    context_docs = [doc for doc in (item.context or ()) if isinstance(doc, str)]
    index = SupportIndex.extending(context_index(context_docs))
    audit = _Audit(output, index, cached_sentences(output))
    output_stems = audit.output_stems()
    in_context = sum(1 for s in output_stems if s in index.stems or s in index.tokens)
    coverage = in_context / len(output_stems) if output_stems else 1.0
    for value in (item.input, item.system_prompt, *(getattr(m, "content", None) for m in (item.messages or ()))):
        if text := as_text(value):
            index.add(text)  # the question and the conversation may legitimately supply names and numbers

    _check_quotes(audit)
    _check_numbers(audit)
    _check_entities(audit)
    _check_relations(audit, context_docs)

    metrics = {"context_coverage": round(coverage, 4)}
    if audit.checked:
        metrics["unsupported_fact_ratio"] = round(audit.unsupported / audit.checked, 4)
    strong, weak = audit.strong, audit.weak
    if strong:
        values = ", ".join(repr(e.metadata["value"]) for e in strong[:4] if e.metadata.get("value"))
        return Finding(
            decision="fail",
            severity=min(5.0, 3.0 + 0.5 * len(strong)),
            confidence=min(0.95, 0.55 + 0.1 * len(strong)),
            evidence=tuple((strong + weak)[:MAX_EVIDENCE]),
            metrics=metrics,
            rationale=f"{len(strong)} statement(s) of the answer are not backed by the "
            f"context or input ({values}); {audit.checked} checkable fact(s) in total.",
        )
    if abstention(output):
        return Finding.passed("The answer abstains or says the context lacks the information.", **metrics)
    if weak:
        return Finding(
            decision="unsure",
            severity=2.0,
            confidence=0.4,
            evidence=tuple(weak[:MAX_EVIDENCE]),
            metrics=metrics,
            rationale=f"Only weak signals ({len(weak)}): partly supported names, small "
            "counts, negations or low-overlap sentences; a judge should confirm.",
        )
    return Finding.passed(
        f"All {audit.checked} checkable fact(s) of the answer appear in the context or input.",
        confidence=0.6,
        **metrics,
    )
