"""Loops and truncation in an answer, as Signal objects (what, where, how bad, how sure).

Loops are found in one pass over word 3-grams: for every 3-gram the distance back to its previous
occurrence is noted, and a stretch where that distance stays constant is text repeating itself with that
period. Everything here is a single pass (a dict over 3-grams, compiled regexes without ambiguous nested
quantifiers, str methods), so a 1 MB adversarial answer is handled well under a second.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import NamedTuple

from taxonomy.detectors.instruction_compliance._markdown import code_blocks, safe_sentences

TOKEN_RE = re.compile(r"\S+")  # whitespace tokens: str.split() is ten times faster than a word regex
TOKEN_PUNCTUATION = "\"'’‘“”()[]{}<>.,;:!?*_`~-—–…"
MAX_TOKENS = 100_000  # loops and the repetition metric are computed on the first 100k tokens
LONG_TOKEN_RE = re.compile(r"\S{80,}")
ENCODED_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-")
FUNCTION_WORDS = frozenset(
    "the a an of to and or with for in on that which is are was were by as from at but this their your its "
    "our into about than then because if when while can could will would should may might must shall has have "
    "had do does did been being not so such very more most also both either each every my his her these those "
    "who whose where how what including like".split()
)
TRUNCATION_FINISH_REASONS = frozenset({"length", "max_tokens", "max_output_tokens", "model_length"})
JSON_START_RE = re.compile(r'\{\s*(?:"|\}|$)|\[\s*(?:[\[{"\]\d-]|true|false|null|$)')
LIST_OR_HEADING_RE = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)]|#{1,6}\s|\|)")


class Signal(NamedTuple):
    kind: str  # evidence_type
    status: str  # "fail" or "unsure"
    description: str
    span: tuple[int, int]
    severity: float
    confidence: float


def tokens_of(text: str) -> list[str]:
    """Lower-cased whitespace tokens with surrounding punctuation stripped (bounded count)."""
    return [t.strip(TOKEN_PUNCTUATION) for t in text[: MAX_TOKENS * 16].lower().split()[:MAX_TOKENS]]


def repetition_metrics(tokens: list[str]) -> tuple[float, int, int, int]:
    """(share of repeated word 3-grams, longest loop run, its period, token index where it ends)."""
    if len(tokens) < 3:
        return 0.0, 0, 0, 0
    last_seen: dict[tuple[str, str, str], int] = {}
    run = best_run = best_period = best_end = 0
    previous_distance = -1
    for i, gram in enumerate(zip(tokens, tokens[1:], tokens[2:], strict=False)):
        j = last_seen.get(gram)
        last_seen[gram] = i
        distance = i - j if j is not None else -1
        if distance > 0 and distance == previous_distance:
            run += 1
            if run > best_run:
                best_run, best_period, best_end = run, distance, i + 2
        else:
            run = 0
        previous_distance = distance
    return 1.0 - len(last_seen) / (len(tokens) - 2), best_run, best_period, best_end


def token_offset(text: str, token_index: int) -> int:
    """Character offset of the token_index-th whitespace token (linear scan, stops early)."""
    for index, match in enumerate(TOKEN_RE.finditer(text)):
        if index >= token_index:
            return match.start()
    return len(text)


def find_loops(text: str, run: int, period: int, end: int) -> list[Signal]:
    """Back-to-back repetition, a sentence recurring many times, or a run-on token repeating a unit."""
    covered = run + period + 2
    if period and (run >= max(2 * period, 12) or (period >= 8 and run >= period - 2)):
        start = token_offset(text, max(0, end - covered))
        span = (start, start + 200)
        if run >= max(2 * period, 12):
            message = f"The answer loops: a {period}-word stretch repeats back to back {covered // period} times."
            return [Signal("loop", "fail", message, span, 3.5, 0.9)]
        return [Signal("loop", "unsure", f"A {period}-word passage is repeated back to back.", span, 2.0, 0.5)]
    counts = Counter(" ".join(s.lower().split()) for _, s in safe_sentences(text[:200_000]) if len(s.split()) >= 6)
    sentence, n = max(counts.items(), key=lambda item: item[1], default=("", 0))
    if n >= 3:
        at = max(text.lower().find(sentence[:60]), 0)
        status, severity, confidence = ("fail", 3.0, 0.8) if n >= 5 else ("unsure", 2.0, 0.45)
        message = f"The same sentence appears {n} times."
        return [Signal("repeated_sentence", status, message, (at, at + len(sentence)), severity, confidence)]
    for match in LONG_TOKEN_RE.finditer(text, 0, 200_000):
        token = match.group(0)
        head = token[:200]
        if head.startswith(("http", "www.", "/", "./")) or (set(head) <= ENCODED_CHARS and len(set(head)) > 12):
            continue  # URLs, paths, base64/hex blobs: long but not degenerate
        for p in range(1, 21):
            if len(token) >= p * 6 and token[: p * 4] == token[:p] * 4:
                message = f"A run-on token repeats {token[:p]!r} over {len(token)} characters."
                return [Signal("loop", "fail", message, (match.start(), match.end()), 3.0, 0.85)]
    return []


def finish_reason(metadata: object) -> str | None:
    """The provider's stop reason, from the common metadata shapes."""
    if not isinstance(metadata, dict):
        return None
    for key in ("finish_reason", "stop_reason", "done_reason", "finishReason"):
        if isinstance(metadata.get(key), str):
            return metadata[key].lower()
    choices = metadata.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        value = choices[0].get("finish_reason")
        return value.lower() if isinstance(value, str) else None
    return None


def _unclosed_json(text: str) -> bool:
    """Whether JSON-looking text fails to parse because it ends too early (not because it is malformed)."""
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return exc.msg.startswith("Unterminated string") or exc.pos >= len(text)
    except (ValueError, RecursionError):
        return True  # nesting too deep for the parser: brackets opened and never closed
    return False


def find_truncation(text: str, metadata: object) -> list[Signal]:
    """Cut-off answers: token-limit stop, unclosed code fence or JSON, prose stopping mid-sentence."""
    tail = (max(0, len(text) - 120), len(text))
    reason = finish_reason(metadata)
    if reason in TRUNCATION_FINISH_REASONS:
        message = f"Generation stopped at the token limit (finish_reason={reason!r})."
        return [Signal("truncation", "fail", message, tail, 3.0, 0.95)]
    blocks = code_blocks(text)
    if blocks and not blocks[-1].closed:
        message = "A code block is opened and never closed: the answer is cut off."
        return [Signal("truncation", "fail", message, (blocks[-1].start, blocks[-1].start + 80), 3.0, 0.85)]
    stripped = text.strip()
    if JSON_START_RE.match(stripped) and _unclosed_json(stripped):
        return [
            Signal("truncation", "fail", "The JSON answer ends with unclosed brackets or strings.", tail, 3.0, 0.85)
        ]
    last_line = stripped.rsplit("\n", 1)[-1].strip()
    line_words = last_line.split()
    if len(stripped.split()) < 30 or len(line_words) < 6 or LIST_OR_HEADING_RE.match(last_line):
        return []
    last_word = line_words[-1]
    if last_word[-1] in ",-(" or last_word.lower() in FUNCTION_WORDS:
        message = f"The answer stops mid-sentence (last word {last_word!r})."
        return [Signal("truncation", "fail", message, tail, 3.0, 0.75)]
    if len(line_words) >= 12 and last_word.isalpha() and last_word.islower():
        message = "The answer's last sentence has no closing punctuation."
        return [Signal("truncation", "unsure", message, tail, 1.5, 0.4)]
    return []
