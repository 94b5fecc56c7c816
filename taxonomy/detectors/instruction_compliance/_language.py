"""A tiny language identifier for "answer in <language>" checks: stopword shares and Unicode scripts.

Latin-script languages (en, fr, de, es, it, pt, nl) are told apart by the share of their most frequent
function words; other languages by script (CJK, kana, hangul, Cyrillic, Arabic, Hebrew, Greek, Devanagari,
Thai). It needs a few dozen words to be reliable, so callers should treat short texts as undecidable.
Blind spots: closely related languages outside the list (Catalan, Galician, Afrikaans...) are reported as
their neighbour; mixed-language text gets the majority language.
"""

from __future__ import annotations

import re

from taxonomy.text import normalize

# Language names (English and native) -> ISO code.
# fmt: off
LANGUAGE_NAMES = {
    "english": "en", "french": "fr", "francais": "fr", "german": "de", "deutsch": "de", "spanish": "es",
    "espanol": "es", "castilian": "es", "italian": "it", "italiano": "it", "portuguese": "pt",
    "portugues": "pt", "dutch": "nl", "nederlands": "nl", "chinese": "zh", "mandarin": "zh",
    "japanese": "ja", "korean": "ko", "russian": "ru", "ukrainian": "uk", "arabic": "ar", "hebrew": "he",
    "greek": "el", "hindi": "hi", "thai": "th",
}
# fmt: on

# fmt: off
LANGUAGE_LABELS = {
    "en": "English", "fr": "French", "de": "German", "es": "Spanish", "it": "Italian", "pt": "Portuguese",
    "nl": "Dutch", "zh": "Chinese", "ja": "Japanese", "ko": "Korean", "ru": "Russian", "uk": "Ukrainian",
    "ar": "Arabic", "he": "Hebrew", "el": "Greek", "hi": "Hindi", "th": "Thai",
}
# fmt: on

# Distinctive, frequent function words (accents stripped, as normalize() does).
_STOPWORDS: dict[str, frozenset[str]] = {
    lang: frozenset(words.split())
    for lang, words in {
        "en": "the and of to is in that it for with as was on are be this by not you have from or at which "
        "but they we can an were their has been will would there what about if more when who so",
        "fr": "le la les et des est un une du que qui dans pour pas sur au avec ce il elle sont ne se plus "
        "par nous vous leur mais ou aux cette ces son sa ses etre fait comme tres tout je",
        "de": "der die das und ist nicht ein eine zu den von mit sich des auf fur im dem auch es an als "
        "wird werden sie ich wir aber oder bei noch nach wie einen einer sind hat kann uber",
        "es": "el la los las y de que en un una es por con para no se del al lo como mas pero sus su "
        "le ya este esta son tambien muy hay ser fue entre cuando sobre todo",
        "it": "il lo la gli le e di che un una per non con del della dei delle sono nel nella si al alla "
        "come piu ma anche questo questa ha essere gli cui tra sul molto",
        "pt": "o a os as e de que em um uma para com nao do da dos das no na se por mais como mas ao "
        "sao foi tambem ele ela muito seu sua pelo pela isso esta",
        "nl": "de het een en van is dat niet te in op voor met zijn die er aan ook als bij door maar "
        "om dan naar wordt worden nog wel deze kan hij zij ze",
    }.items()
}

# Script ranges: (code, compiled character class).
_SCRIPTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ja", re.compile(r"[\u3040-\u30ff]")),  # kana only occurs in Japanese
    ("ko", re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")),
    ("zh", re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")),
    ("ru", re.compile(r"[\u0400-\u04ff]")),
    ("ar", re.compile(r"[\u0600-\u06ff\u0750-\u077f]")),
    ("he", re.compile(r"[\u0590-\u05ff]")),
    ("el", re.compile(r"[\u0370-\u03ff]")),
    ("hi", re.compile(r"[\u0900-\u097f]")),
    ("th", re.compile(r"[\u0e00-\u0e7f]")),
)
_LETTER_RE = re.compile(r"[^\W\d_]")
_LATIN_WORD_RE = re.compile(r"[a-z]{2,}(?:'[a-z]+)?")  # single letters ("a", "e", "o") say little
_SAMPLE_CHARS = 20_000  # language is decided on a bounded sample: enough, and keeps huge outputs cheap


class LanguageGuess:
    """The detected language of a text and how much evidence backs it."""

    __slots__ = ("code", "margin", "share", "word_count")

    def __init__(self, code: str | None, margin: float, word_count: int, share: float = 0.0) -> None:
        self.code = code  # ISO code, or None when undecidable
        self.margin = margin  # 0-1: how clearly the winner beats the runner-up
        self.word_count = word_count
        self.share = share  # stopword share (Latin scripts) or script share of the winner

    @property
    def label(self) -> str:
        return LANGUAGE_LABELS.get(self.code or "", self.code or "unknown")


def language_label(code: str) -> str:
    """English display name of an ISO code."""
    return LANGUAGE_LABELS.get(code, code)


def detect_language(text: str) -> LanguageGuess:
    """Guess the language of `text` (a bounded sample of it)."""
    sample = text[:_SAMPLE_CHARS]
    letters = len(_LETTER_RE.findall(sample))
    if letters == 0:
        return LanguageGuess(None, 0.0, 0)
    for code, script_re in _SCRIPTS:
        share = len(script_re.findall(sample)) / letters
        threshold = 0.05 if code == "ja" else 0.3
        if share >= threshold:
            if code == "ru" and re.search(r"[іїєґ]", sample.lower()):
                code = "uk"
            return LanguageGuess(code, min(1.0, share), max(1, letters // 4), share)
    tokens = _LATIN_WORD_RE.findall(normalize(sample))
    if not tokens:
        return LanguageGuess(None, 0.0, 0)
    shares = {lang: sum(1 for t in tokens if t in vocab) / len(tokens) for lang, vocab in _STOPWORDS.items()}
    ranked = sorted(shares.items(), key=lambda kv: kv[1], reverse=True)
    (best, best_share), (_, second_share) = ranked[0], ranked[1]
    if best_share < 0.12 or best_share * len(tokens) < 6:
        return LanguageGuess(None, 0.0, len(tokens))
    margin = (best_share - second_share) / best_share
    return LanguageGuess(best, margin, len(tokens), best_share)


def target_share(text: str, code: str) -> float:
    """How much of `text` (a bounded sample) is in language `code`: its stopword or script share."""
    sample = text[:_SAMPLE_CHARS]
    for script_code, script_re in _SCRIPTS:
        if script_code == code or (code == "uk" and script_code == "ru"):
            letters = len(_LETTER_RE.findall(sample))
            return len(script_re.findall(sample)) / letters if letters else 0.0
    vocab = _STOPWORDS.get(code)
    tokens = _LATIN_WORD_RE.findall(normalize(sample))
    if vocab is None or not tokens:
        return 0.0
    return sum(1 for t in tokens if t in vocab) / len(tokens)
