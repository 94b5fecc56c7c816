"""Credential finder built on detect-secrets' provider plugins, kept linear-time on adversarial text.

detect-secrets' regex plugins (AWS, GitHub, GitLab, Slack, Stripe, OpenAI, private keys, ...) are reused as they
are, but never run over a whole text: a few of its patterns backtrack badly on long runs (its JWT pattern takes
minutes on 1 MB of "eyJ"). Each plugin gets literal needles; only windows around (at most MAX_WINDOWS) needle
occurrences are handed to the plugin. JWTs are cut out by hand and validated with the plugin's own check.
Generic secrets ("password: ...", "api_key = ...") are only reported with a keyword before them and a value that
looks random (mixed character classes, enough entropy), never as bare high-entropy strings; the keyword pattern
runs only where the text's words allow a match (see _prefilter).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import NamedTuple

from detect_secrets.plugins.artifactory import ArtifactoryDetector
from detect_secrets.plugins.aws import AWSKeyDetector
from detect_secrets.plugins.azure_storage_key import AzureStorageKeyDetector
from detect_secrets.plugins.base import RegexBasedDetector
from detect_secrets.plugins.github_token import GitHubTokenDetector
from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
from detect_secrets.plugins.jwt import JwtTokenDetector
from detect_secrets.plugins.mailchimp import MailchimpDetector
from detect_secrets.plugins.openai import OpenAIDetector
from detect_secrets.plugins.private_key import PrivateKeyDetector
from detect_secrets.plugins.pypi_token import PypiTokenDetector
from detect_secrets.plugins.sendgrid import SendGridDetector
from detect_secrets.plugins.slack import SlackDetector
from detect_secrets.plugins.square_oauth import SquareOAuthDetector
from detect_secrets.plugins.stripe import StripeDetector
from detect_secrets.plugins.twilio import TwilioKeyDetector

from taxonomy.detectors.safety_security._prefilter import Facts, Prefilter, is_safe

MAX_WINDOWS = 64  # per needle
WINDOW = 160  # characters each side of a needle handed to a plugin
MAX_CHARS = 1_000_000
MAX_HITS = 100

# plugin -> literal needles (case-sensitive) one of which every match of the plugin contains
PLUGIN_NEEDLES: tuple[tuple[RegexBasedDetector, tuple[str, ...]], ...] = (
    (AWSKeyDetector(), ("AKIA", "ASIA", "ABIA", "ACCA", "A3T")),
    (AzureStorageKeyDetector(), ("AccountKey=",)),
    (GitHubTokenDetector(), ("ghp_", "gho_", "ghu_", "ghs_", "ghr_")),
    (GitLabTokenDetector(), ("glpat-", "gldt-", "glft-", "glsoat-", "glrt-", "GR1348941", "glcbt-", "glimt-")),
    (MailchimpDetector(), ("-us",)),
    (OpenAIDetector(), ("T3BlbkFJ",)),
    (PrivateKeyDetector(), ("PRIVATE KEY", "PuTTY-User-Key-File")),
    (PypiTokenDetector(), ("pypi-Ag",)),
    (SendGridDetector(), ("SG.",)),
    (SlackDetector(), ("xox", "hooks.slack.com")),
    (SquareOAuthDetector(), ("sq0csp-",)),
    (StripeDetector(), ("sk_live_", "rk_live_")),
    (TwilioKeyDetector(), ("AC", "SK")),
    (ArtifactoryDetector(), ("AKC",)),
)
EXTRA_KEY_RE = re.compile(r"\b(?:sk-(?:proj|ant|live)-[A-Za-z0-9_-]{20,200}|AIza[0-9A-Za-z_-]{35}|hf_[A-Za-z]{34})")
NON_JWT_RE = re.compile(r"[^A-Za-z0-9_=-]")
JWT_TAIL_RE = re.compile(r"[A-Za-z0-9_=.-]{0,8192}")
KEYWORD_SECRET_RE = re.compile(
    r"\b(?P<key>password|passwd|pwd|passphrase|secret|client[_-]?secret|api[_-]?key|apikey|access[_-]?key|"
    r"secret[_-]?key|auth[_-]?token|access[_-]?token|bearer|token)\b[\"']?\s{0,3}(?::|=|=>|\bis\b)?\s{0,3}"
    r"[\"'`]?(?P<value>[^\s\"'`,;<>()\[\]{}]{6,200})",
    re.IGNORECASE,
)
CHAR_CLASS_RES = tuple(re.compile(rx) for rx in (r"[a-z]", r"[A-Z]", r"\d", r"[^A-Za-z0-9]"))
KEYWORD_ANCHORS = ("pass", "pwd", "secret", "key", "token", "bearer")
KEYWORD_PREFILTER = Prefilter([KEYWORD_SECRET_RE])
PLUGIN_NEEDLE_PAIRS = tuple((plugin, needle) for plugin, needles in PLUGIN_NEEDLES for needle in needles)
PLACEHOLDER_RE = re.compile(
    r"^(?:x+|\*+|\.+|<.*>|\$\{?\w+\}?|your[_-]?\w*|example\w*|changeme|password\d?|secret|redacted|null|none|"
    r"true|false|undefined|required|optional|string|env\w*)$|^(?:os\.|process\.env|getenv)",
    re.IGNORECASE,
)


class SecretHit(NamedTuple):
    kind: str  # detect-secrets' secret_type, "JSON Web Token" or "Keyword secret"
    start: int
    end: int
    value: str
    severity: float


def shannon_entropy(value: str) -> float:
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def _windows(text: str, needle: str) -> list[tuple[int, int]]:
    """Merged windows around the first MAX_WINDOWS occurrences of `needle`."""
    spans: list[tuple[int, int]] = []
    pos = text.find(needle)
    seen = 0
    while pos >= 0 and seen < MAX_WINDOWS:
        seen += 1
        lo, hi = max(0, pos - WINDOW), pos + len(needle) + WINDOW
        if spans and lo <= spans[-1][1]:
            spans[-1] = (spans[-1][0], hi)
        else:
            spans.append((lo, hi))
        pos = text.find(needle, pos + len(needle))
    return spans


def _plugin_hits(text: str) -> list[SecretHit]:
    hits: list[SecretHit] = []
    for plugin, needle in PLUGIN_NEEDLE_PAIRS:
        if needle in text:
            for lo, hi in _windows(text, needle):
                window = text[lo:hi]
                for regex in plugin.denylist:
                    for m in regex.finditer(window):
                        value = m.group(0).strip()
                        start = lo + m.start() + m.group(0).find(value)
                        hits.append(SecretHit(plugin.secret_type, start, start + len(value), value, 5.0))
    if any(needle in text for needle in ("sk-", "AIza", "hf_")):
        for m in EXTRA_KEY_RE.finditer(text):
            hits.append(SecretHit("API key", m.start(), m.end(), m.group(0), 5.0))
    return hits


def _jwt_hits(text: str) -> list[SecretHit]:
    """A JWT is header.payload.signature with both first parts base64 JSON ("eyJ"): cut it out around '.eyJ'."""
    hits: list[SecretHit] = []
    pos, seen = text.find(".eyJ"), 0
    while pos >= 0 and seen < MAX_WINDOWS:
        seen += 1
        dot, pos = pos, text.find(".eyJ", pos + 4)
        before = text[max(0, dot - 4096) : dot][::-1]
        stop = NON_JWT_RE.search(before)
        start = dot - (stop.start() if stop else len(before))
        tail = JWT_TAIL_RE.match(text, dot + 1)
        end = tail.end() if tail else dot + 1
        token = text[start:end].rstrip(".")
        if token.startswith("eyJ") and token.count(".") == 2 and JwtTokenDetector.is_formally_valid(token):
            hits.append(SecretHit("JSON Web Token", start, start + len(token), token, 4.0))
    return hits


def _keyword_matches(text: str) -> list[re.Match[str]]:
    """`KEYWORD_SECRET_RE.finditer(text)` (behind its anchor words), skipped when the text's words rule it out."""
    lower = text.lower()
    if not any(word in lower for word in KEYWORD_ANCHORS):
        return []
    if not is_safe(text):
        return list(KEYWORD_SECRET_RE.finditer(text))
    facts = Facts(lower)
    return KEYWORD_PREFILTER.finditer(0, text, facts) if KEYWORD_PREFILTER.may_match(0, facts) else []


def _keyword_hits(text: str) -> list[SecretHit]:
    hits: list[SecretHit] = []
    for m in _keyword_matches(text):
        if len(hits) >= MAX_HITS:
            break
        value = m.group("value").rstrip(".:")
        if PLACEHOLDER_RE.search(value) or len(value) < 6:
            continue
        classes = sum(bool(rx.search(value)) for rx in CHAR_CLASS_RES)
        key = m.group("key").lower()
        password_like = key in ("password", "passwd", "pwd", "passphrase")
        has_digit_or_symbol = CHAR_CLASS_RES[2].search(value) or CHAR_CLASS_RES[3].search(value)
        if password_like and classes >= 2 and has_digit_or_symbol:
            hits.append(SecretHit("Password", m.start("value"), m.start("value") + len(value), value, 4.0))
        elif len(value) >= 16 and classes >= 2 and shannon_entropy(value) >= 3.5:
            hits.append(SecretHit("Keyword secret", m.start("value"), m.start("value") + len(value), value, 5.0))
    return hits


def find_secrets(text: str) -> list[SecretHit]:
    """Credentials in `text`, one hit per distinct span, provider-specific kinds first."""
    text = text[:MAX_CHARS]
    candidates = _plugin_hits(text) + _jwt_hits(text) + _keyword_hits(text)
    candidates.sort(key=lambda h: (h.start, -h.severity))
    found: list[SecretHit] = []
    for hit in candidates:
        if found and hit.start < found[-1].end:
            continue
        found.append(hit)
        if len(found) >= MAX_HITS:
            break
    return found
