"""Abstention phrases: the answer says it does not know, cannot find the information, or that the
provided material does not cover the question. Shared by the grounding and retrieval detectors."""

from __future__ import annotations

import re
from functools import lru_cache

ABSTAIN_RE = re.compile(
    r"\b(?:i (?:do not|don't|cannot|can't|could not|couldn't|am unable to|was unable to) (?:know|find|locate|"
    r"say|tell|determine|answer|confirm|verify|see)|i(?:'m| am) not (?:sure|certain|aware)|i don't have "
    r"(?:any |enough )?(?:information|details|data)|(?:is|are|was|were) not (?:mentioned|provided|specified|"
    r"stated|included|given|available|discussed|covered)|no (?:information|mention|details?|data|record) "
    r"(?:about|on|of|regarding|is|was)|(?:does|do|did) not (?:contain|mention|provide|specify|say|include|"
    r"state|cover|discuss)|unable to (?:find|answer|determine|locate|confirm)|not enough (?:information|context)|"
    r"insufficient (?:information|context)|there is no (?:mention|information|indication)|"
    r"(?:context|passages?|documents?|sources?|text) (?:does|do) not)",
    re.IGNORECASE,
)


# Every abstention phrase contains one of these (lower-case) cues; ASCII text without any is skipped.
_CUES = (
    *("n't ", "do not", "does not", "did not", "cannot ", "could not ", "m not ", "not enough"),
    *("is not ", "are not ", "was not ", "were not ", "unable to ", "insufficient "),
    *("no information", "no mention", "no detail", "no data", "no record", "no indication"),
)


@lru_cache(maxsize=64)
def abstention(text: str) -> re.Match[str] | None:
    """The first abstention phrase of `text`, if any (memoised: the grounding and retrieval detectors ask
    about the same answer and sentences)."""
    if text.isascii():
        lowered = text.lower()
        if not any(map(lowered.__contains__, _CUES)):
            return None
    return ABSTAIN_RE.search(text)
