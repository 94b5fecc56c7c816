"""Well-formed judge answers to DeepEval's and RAGAS's faithfulness prompts, for the loopback LLM server.

The peer comparison counts the calls and tokens of the real libraries' code paths, so every answer must parse
on the first try (a rejected answer would add the library's retries to its count). The responder recognises
each prompt the two metrics send and answers in the shape their parsers expect:

- DeepEval (structured output, response_format json_schema named Truths / Claims / Verdicts /
  FaithfulnessScoreReason): truths = the context's sentences, claims = the output's sentences, one verdict per
  claim listed in the prompt (yes / borderline / no from word overlap and numbers), and a one-sentence reason.
- RAGAS (instructor JSON mode: response_format json_object, schema in the system message, input as JSON after
  "Now perform the same with the following input"): statements = the answer's sentences, and one NLI verdict
  (statement, reason, verdict 0/1) per statement listed in the input.

Anything else gets the server's default_responder. The verdicts are a crude overlap heuristic: they only need to
be plausible (so the reason call sees some contradictions), not right.
"""

from __future__ import annotations

import ast
import json
import re
import threading
from collections import Counter
from typing import Any

from tests.llm_server import RecordedCall, default_responder

RAGAS_INPUT = "Now perform the same with the following input\ninput: "
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"[a-z0-9]+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


def sentences(text: str) -> list[str]:
    """The text's sentences (and lines), stripped, without fragments shorter than three characters."""
    return [s.strip() for s in _SENTENCE_END.split(text) if len(s.strip()) >= 3]


def _between(text: str, start: str, end: str) -> str:
    """The text after the last `start` and before the next `end` after it (or the end of the text)."""
    at = text.rfind(start)
    if at < 0:
        return ""
    at += len(start)
    stop = text.find(end, at)
    return text[at:] if stop < 0 else text[at:stop]


def support(claim: str, context: str) -> str:
    """ "yes" when most content words of the claim occur in the context, "no" when it has a number the context
    lacks, else "borderline"."""
    context_lower = context.lower()
    if any(n not in context for n in _NUMBER.findall(claim)):
        return "no"
    words = [w for w in _WORD.findall(claim.lower()) if len(w) > 3]
    if not words:
        return "yes"
    found = sum(1 for w in words if w in context_lower)
    return "yes" if found / len(words) >= 0.6 else "borderline"


def _deepeval_truths(prompt: str) -> dict[str, Any]:
    return {"truths": sentences(_between(prompt, "\nText:\n", "\n\nJSON:"))}


def _deepeval_claims(prompt: str) -> dict[str, Any]:
    return {"claims": sentences(_between(prompt, "\nAI Output:\n", "\n\nJSON:"))}


def _deepeval_verdicts(prompt: str) -> dict[str, Any]:
    context = _between(prompt, "\nRetrieval Contexts:\n", "\n\nClaims:\n")
    claims = ast.literal_eval(_between(prompt, "\n\nClaims:\n", "\n\nJSON:").strip() or "[]")
    verdicts = []
    for claim in claims:
        verdict = support(str(claim), context)
        reason = None
        if verdict == "no":
            reason = f"The retrieval context gives different figures than the claim '{claim}'."
        elif verdict == "borderline":
            reason = f"The retrieval context does not back up the claim '{claim}'."
        verdicts.append({"verdict": verdict, "reason": reason})
    return {"verdicts": verdicts}


def _deepeval_reason(prompt: str) -> dict[str, Any]:
    score = _between(prompt, "\nFaithfulness Score:\n", "\n").strip()
    contradictions = ast.literal_eval(_between(prompt, "\nContradictions:\n", "\n\nJSON:").strip() or "[]")
    if not contradictions:
        return {"reason": f"The score is {score} because the actual output agrees with the retrieval context."}
    return {"reason": f"The score is {score} because {'; '.join(str(c) for c in contradictions)}"}


def _ragas(prompt: str) -> tuple[str, dict[str, Any] | None]:
    at = prompt.rfind(RAGAS_INPUT)
    data, _ = json.JSONDecoder().raw_decode(prompt, at + len(RAGAS_INPUT))
    if "answer" in data:
        return "ragas_statements", {"statements": sentences(data["answer"])}
    if "statements" in data and "context" in data:
        judged = []
        for statement in data["statements"]:
            supported = support(statement, data["context"]) == "yes"
            reason = "The context states this directly." if supported else "The context does not state this."
            judged.append({"statement": statement, "reason": reason, "verdict": int(supported)})
        return "ragas_nli", {"statements": judged}
    return "ragas_unknown", None


# (marker in the prompt, builder): DeepEval's markers hold in both its structured and its JSON mode.
_DEEPEVAL = (
    ('with the "truths" key', "truths", _deepeval_truths),
    ('with the "claims" key', "claims", _deepeval_claims),
    ("with the 'verdicts' key", "verdicts", _deepeval_verdicts),
    ("with the 'reason' key", "reason", _deepeval_reason),
)


class PeerResponder:
    """A Responder (RecordedCall -> answer text) for DeepEval's and RAGAS's faithfulness prompts.

    `recognised` counts the answers by prompt kind; `fallbacks` the calls it did not recognise.
    """

    def __init__(self) -> None:
        self.recognised: Counter[str] = Counter()
        self.fallbacks = 0
        self._lock = threading.Lock()

    def __call__(self, call: RecordedCall) -> str:
        try:
            kind, answer = self._answer(call.user)
        except (ValueError, SyntaxError):  # a prompt of a known kind that did not parse: answer by schema
            kind, answer = "unparsed", None
        with self._lock:
            if answer is None:
                self.fallbacks += 1
            else:
                self.recognised[kind] += 1
        return default_responder(call) if answer is None else json.dumps(answer)

    def _answer(self, prompt: str) -> tuple[str, dict[str, Any] | None]:
        if RAGAS_INPUT in prompt:
            return _ragas(prompt)
        for marker, kind, build in _DEEPEVAL:
            if marker in prompt:
                return f"deepeval_{kind}", build(prompt)
        return "unknown", None
