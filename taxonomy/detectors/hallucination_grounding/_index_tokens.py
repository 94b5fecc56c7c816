"""The token sets the support index is built from: a text's TOKEN_RE tokens as written (with camel-case
joins split), normalised, and the extra forms of tokens with inner joiners. Set operations and byte-level
checks only; no per-token Python work but for the few joined or camel-case tokens. Text that is ASCII but
for curly quotes, dashes and the like is tokenised through its ASCII twin (ascii_twin), lower-cased at once.
"""

from __future__ import annotations

import re
from itertools import filterfalse
from operator import methodcaller

from taxonomy.detectors.hallucination_grounding._facts import (
    JOINERS_DELETED,
    JOINERS_TO_SPACE,
    POSSESSIVE_ENDINGS,
    normalize,
)
from taxonomy.text import TOKEN_RE, WORD_RE, token_set

# "UnleashedUnleashed is", "NightWedding": knowledge-graph dumps glue sentences without a space.
CAMEL_JOIN_RE = re.compile(r"[a-z][A-Z]")
CAMEL_SPLIT_RE = re.compile(r"(?<=[a-z])(?=[A-Z])")
# Non-ASCII characters common in English text that no token can hold (TOKEN_RE treats them as it treats a
# space), and the apostrophe that joins tokens as "'" does and that normalize() turns into "'".
_SEPARATOR_CHARACTERS = ("\xa0", "\u2018", "\u201c", "\u201d", "\u2013", "\u2014", "\u2026", "\xa3")
_RIGHT_QUOTE = "\u2019"
# ASCII lower-case letters to "a", upper-case ones to "A", every other byte to a space: b"aA" marks a join.
_LETTER_CASES = bytes(0x61 if 0x61 <= b <= 0x7A else 0x41 if 0x41 <= b <= 0x5A else 0x20 for b in range(256))


def has_camel_join(text: str) -> bool:
    """CAMEL_JOIN_RE.search(text), as a byte search."""
    return b"aA" in text.encode("utf-8", "surrogatepass").translate(_LETTER_CASES)


def ascii_twin(text: str) -> str | None:
    """An ASCII text with the same normalised tokens as `text` ({normalize(t) for t in TOKEN_RE.findall(text)}
    equals set(TOKEN_RE.findall(twin.lower()))), when only curly quotes, dashes, no-break spaces, ellipses and
    pound signs keep `text` from being ASCII; else None. Those separators become spaces and the right quote
    an apostrophe: every position keeps its class (word character, joiner, other) for TOKEN_RE, every word
    character is ASCII, and normalize() of an ASCII token with "\u2019" is the token lower-cased with "'"."""
    if text.isascii():
        return text
    twin = text.replace(_RIGHT_QUOTE, "'")
    for character in _SEPARATOR_CHARACTERS:
        twin = twin.replace(character, " ")
    return twin if twin.isascii() else None


def raw_tokens(text: str) -> set[str]:
    """The distinct TOKEN_RE tokens of `text` as written, plus those of the text split at camel-case joins
    (CAMEL_SPLIT_RE): a join lies inside one token, so only the tokens holding one are split again."""
    raw = token_set(text)
    if has_camel_join(text):
        mixed = filterfalse(str.isupper, filterfalse(str.istitle, filterfalse(str.islower, raw)))
        for token in [token for token in mixed if CAMEL_JOIN_RE.search(token)]:
            raw.update(TOKEN_RE.findall(CAMEL_SPLIT_RE.sub(" ", token)))
    return raw


def normalized_tokens(text: str, raw: set[str]) -> set[str]:
    """`{normalize(t) for t in raw}` (the tokens of `text`); an ASCII token just lower-cases (tokens hold
    no whitespace, so lower-casing them joined is lower-casing each)."""
    if text.isascii():
        return set(" ".join(raw).lower().split())
    ascii_tokens = set(filter(str.isascii, raw))
    tokens = set(" ".join(ascii_tokens).lower().split())
    tokens.update(map(normalize, raw - ascii_tokens))
    return tokens


def apostrophe_words(tokens: list[str]) -> list[str]:
    """The words (WORD_RE) with an inner apostrophe of joined tokens ("o'neil" of "o'neil-smith")."""
    return [word for token in tokens if "'" in token for word in WORD_RE.findall(token) if "'" in word]


def split_forms(tokens: list[str]) -> set[str]:
    """Forms of tokens with inner joiners (see token_parts, bare_token): their parts, the parts glued, the
    token without "'s" ("stahl-david" -> "stahl", "david", "stahldavid"; "lowry's" -> "lowry")."""
    forms = set(" ".join(tokens).translate(JOINERS_TO_SPACE).split())
    forms.update(map(methodcaller("translate", JOINERS_DELETED), tokens))
    forms.update(token[:-2] for token in tokens if token.endswith(POSSESSIVE_ENDINGS))
    return forms
