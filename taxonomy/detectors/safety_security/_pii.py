"""Personal-data finders: e-mail, phone, payment card, IBAN, US SSN, IP address, street address, person name.

Checksummed identifiers are validated (python-stdnum: Luhn plus issuer prefix for cards, IBAN mod-97, SSN
area/group rules), phone numbers by Google's libphonenumber port (`phonenumbers`, VALID leniency, and only when
written like a phone number or introduced by a phone word), IPs by `ipaddress` (loopback, unspecified and
documentation-free). Street addresses and names are pattern- and cue-based: house number + street type ("90
Whitchurch Road"), continental forms ("Via dei Fiorentini 17", "Hansinegata 120"), unit lines ("Suite 603"),
military addresses, and a number after an address cue ("my new address is ..."); names only after an honorific
("Mrs. Meagan Wallace"), a naming cue ("called Yulan Peres", "my name is ...") or before "lives on/in".
Blind spots: bare names without a cue, addresses without a number, non-US national identifiers.
Speed: the digit patterns are skipped on texts without the digits they need (`_Digits`), the word-bearing ones
are ruled out from the text's words (see _prefilter), and libphonenumber runs only where a valid number is
possible (a plus sign, the 011 prefix, or ten digits close together).
"""

from __future__ import annotations

import ipaddress
import re
from typing import NamedTuple

from phonenumbers import Leniency, PhoneNumberMatcher
from stdnum import iban, luhn
from stdnum.us import ssn

from taxonomy.detectors.safety_security._gate import anchor_regex
from taxonomy.detectors.safety_security._prefilter import Prefilter, PrefilteredGate
from taxonomy.text import STOPWORDS

MAX_CHARS = 300_000
PHONE_MAX_CHARS = 100_000
MAX_HITS = 200
NAME_STOPWORDS = frozenset(
    "he she it they we i you who everyone nobody someone this that there he's she's the a an my his her their our "
    "one family".split()
)


class PiiHit(NamedTuple):
    kind: str
    start: int
    end: int
    value: str
    severity: float
    confidence: float


EMAIL_RE = re.compile(r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8}")
RESERVED_DOMAIN_RE = re.compile(r"(?:^|\.)(?:example\.(?:com|org|net)|example|test|invalid|localhost|local)$", re.I)
CARD_RE = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
CARD_PREFIX_RE = re.compile(r"^(?:4|5[1-5]|2[2-7]|3[47]|6(?:011|5|4[4-9]|22)|35|30[0-5]|36|38|62)")
IBAN_RE = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
SSN_RE = re.compile(r"(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])")
SSN_KEYWORD_RE = re.compile(r"\b(?:ssn|social security(?: number)?)\W{1,5}(\d{9})\b", re.I)
SSN_ANCHORS = anchor_regex("ssn social_security")
IPV4_RE = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
IPV6_RE = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
SEVEN_DIGITS_RE = re.compile(r"\d(?:\D{0,3}\d){6}")
NON_DIGIT_RE = re.compile(r"\D")
DOTTED_PHONE_RE = re.compile(r"\+?(?:\d{1,3}\.)?\(?\d{3}\)?\.\d{3}\.\d{4}")
VERSION_BEFORE_RE = re.compile(r"(?:version|v|ver\.?|release)\s*$", re.I)
PHONE_WORD_RE = re.compile(r"(?:phone|tel|call|mobile|cell|fax|whatsapp|sms|text me|number|contact)\W{0,25}$", re.I)

_STREET_TYPE = (
    r"(?:Street|St|Road|Rd|Avenue|Ave|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|Way|Terrace|Parkway|Pkwy|"
    r"Highway|Hwy|Circle|Cir|Trail|Square|Sq|Greens?|Radial|Crescent|Close|Row|Walk|Alley|Plaza|Loop|Pike)"
)
_CAP_WORD = r"[A-ZÀ-ÖØ-Þ][\w'’.-]*"
ADDRESS_RES = (
    re.compile(rf"\b\d{{1,6}}[A-Za-z]?(?:\s+\d{{1,5}})?\s+(?:{_CAP_WORD}\s+){{0,4}}{_STREET_TYPE}\b\.?"),
    re.compile(
        r"\b(?:Rue|rue|Via|Viale|Calle|Carrer|Avenida|Av\.?|Rua|Rúa|ul\.|Ulica|Strada|Piazza|Praça|Largo|Chemin|"
        r"Allée|Calea|Avenue|Boulevard)\s+(?:[\w'’-]+\s+){0,4}\d{1,5}[a-z]?\b"
    ),
    re.compile(
        r"\b[A-ZÀ-ÖØ-Þ][\w'’-]*(?:gata|gatan|gasse|straße|strasse|str\.|weg|vej|vegen|vägen|veien|laan|straat|plein|"
        r"platz|allee|torget|väg|utca|katu|tie)\s+\d{1,5}[a-z]?\b"
    ),
    re.compile(r"\b(?:PSC|Unit|CMR)\s+\d{3,5},?\s+Box\s+\d{3,5}\b|\b(?:APO|FPO|DPO)\s+(?:AA|AE|AP)\s+\d{5}\b"),
    re.compile(
        r"(?:^|[,\n])[^\w\n]{0,4}(?:Suite|Apt\.?|Apartment|Flat)\s*#?\s*\d{1,5}[A-Za-z]?(?=\s*(?:[,\n]|$))", re.M
    ),
)
ADDRESS_CUE_RE = re.compile(
    r"\b(?:(?:my|his|her|their|your|home|new|mailing|postal|billing|shipping|street)\s+address(?:\s+is)?|"
    r"address:|(?-i:lives? (?:on|at)|resides? at|corner of)|(?:send|sent|deliver|delivered|ship|shipped|mail|"
    r"mailed) (?:it |this |them |the \w+ )?to)\s*:?\s+(?=[^\n\d]{0,40}\d)(?!\d{1,3}\.\d)(?-i:(?=[A-Z0-9]))"
    r"[^\n?!]{3,80}",
    re.I,
)
ADDRESS_CUE_ANCHORS = anchor_regex("address live reside corner send sent deliver ship mail")
# "Domino's Pizza, located at 1039 Casitas Pass Rd": a business location, not a person's address
BUSINESS_LOCATION_RE = re.compile(
    r"(?:located|situated|based|headquartered|found|open|opened|offices?|store|shop|restaurant|branch)\s+(?:at|on|in)"
    r"\s*$|\bat\s*$",
    re.I,
)
HONORIFIC_NAME_RE = re.compile(
    r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Herr|Frau|Sra?|Mme|Mlle)\.?\s+[A-ZÀ-ÖØ-Þ][\w'’-]+(?:\s+[A-ZÀ-ÖØ-Þ][\w'’-]+){0,2}"
)
CUED_NAME_RE = re.compile(
    r"\b(?:my name is|his name is|her name is|named|called|name:|signed,?|regards,?|sincerely,?)\s+"
    r"([A-ZÀ-ÖØ-Þ][\w'’-]+(?:\s+[A-ZÀ-ÖØ-Þ][\w'’-]+){1,2})"
)
PRIVATE_CUE_RE = re.compile(
    r"\bmy\s+(?:\w+\s+){0,3}?(?:name|father|mother|grandfather|grandmother|parents?|brother|sister|son|daughter|"
    r"wife|husband|partner|friend|neighbou?r|boss|colleague|cousin|aunt|uncle|child|kid|landlord|tenant|doctor|"
    r"patient|client|customer)s?\b",
    re.I,
)
LIVES_AFTER_RE = re.compile(r"\s+(?:lives|resides)\s+(?:on|at)\b")
LIVES_NAME_RE = re.compile(
    r"\b([A-ZÀ-ÖØ-Þ][a-zß-ÿ'’-]+(?:\s+[A-ZÀ-ÖØ-Þ][a-zß-ÿ'’-]+){0,2})\s+(?:lives|resides)\s+(?:on|in|at)\b"
)


# the word-bearing patterns run over the whole text: its words rule most of them out at once (see _prefilter)
ADDRESS_PREFILTER = Prefilter([*ADDRESS_RES, ADDRESS_CUE_RE], frozenset(STOPWORDS))
NAME_PREFILTER = Prefilter([HONORIFIC_NAME_RE, CUED_NAME_RE, LIVES_NAME_RE, SSN_KEYWORD_RE], frozenset(STOPWORDS))
IBAN_START_RE = re.compile(r"[A-Z]{2}\d{2}")  # every IBAN_RE match contains this; cheap to look for
IPV4_SHAPE_RE = re.compile(rb"d\.d{1,3}\.d{1,3}\.d")  # every IPV4_RE match, in `_Digits.shape`
# phonenumbers' candidates are digit blocks with at most 4 punctuation characters between them
TEN_DIGITS_RE = re.compile(r"\d(?:\D{0,4}\d){9}")
NON_DIGITS_RE = re.compile(r"\D+")
OTHER_DIGIT_RE = re.compile(r"\d(?<![0-9])")  # a decimal digit that is not ASCII
# one byte per character (UTF-8 continuation bytes deleted): ASCII digits "d", "-", ".", ":" kept, all else "x"
_DIGIT_SHAPE = bytes(100 if 48 <= b <= 57 else b if b in b"-.:" else 120 for b in range(256))
_CONTINUATION = bytes(range(0x80, 0xC0))


class _Digits:
    """Where a text's digits are, to rule out the digit patterns cheaply (exact for ASCII digits; a text with
    other decimal digits rules nothing out)."""

    def __init__(self, text: str) -> None:
        self.unknown = not text.isascii() and bool(OTHER_DIGIT_RE.search(text))
        self.shape = text.encode("utf-8", "surrogatepass").translate(_DIGIT_SHAPE, _CONTINUATION)
        self.count = self.shape.count(b"d")

    def at_least(self, n: int) -> bool:
        return self.unknown or self.count >= n

    def has(self, piece: bytes) -> bool:
        return self.unknown or piece in self.shape


def _emails(text: str) -> list[PiiHit]:
    if "@" not in text:  # EMAIL_RE needs one
        return []
    out = []
    for m in EMAIL_RE.finditer(text):
        domain = m.group(0).rsplit("@", 1)[1].rstrip(".-")
        tld = domain.rsplit(".", 1)[-1]
        if tld.isalpha() and 2 <= len(tld) <= 24 and not RESERVED_DOMAIN_RE.search(domain):
            value = m.group(0)[: m.group(0).index("@") + 1 + len(domain)]
            out.append(PiiHit("email_address", m.start(), m.start() + len(value), value, 3.0, 0.95))
    return out


def _may_hold_valid_phone(text: str, digits: _Digits) -> bool:
    """False only if libphonenumber can find no valid number: without a plus sign or the US international
    prefix (011) a valid number is a North American one, whose 10 digits one match holds."""
    if digits.unknown or "+" in text or "\uff0b" in text or TEN_DIGITS_RE.search(text):
        return True
    return "011" in NON_DIGITS_RE.sub("", text)


def _phones(text: str, digits: _Digits) -> list[PiiHit]:
    text = text[:PHONE_MAX_CHARS]
    if not digits.at_least(7) or not SEVEN_DIGITS_RE.search(text) or not _may_hold_valid_phone(text, digits):
        return []
    out = []
    for match in PhoneNumberMatcher(text, "US", leniency=Leniency.VALID, max_tries=500):
        raw = match.raw_string
        if "." in raw and not DOTTED_PHONE_RE.fullmatch(raw):
            continue  # "Chrome 92.0.4515.107" is a version, not a phone
        formatted = raw.startswith("+") or "(" in raw or re.search(r"\d[\s.-]\d", raw)
        if formatted or PHONE_WORD_RE.search(text[max(0, match.start - 40) : match.start]):
            out.append(PiiHit("phone_number", match.start, match.end, raw, 3.0, 0.85 if formatted else 0.75))
    return out


def _cards_and_ids(gate: PrefilteredGate, found: _Digits) -> list[PiiHit]:
    text = gate.text
    out = []
    for m in CARD_RE.finditer(text) if found.at_least(13) else ():
        digits = NON_DIGIT_RE.sub("", m.group(0))
        if 13 <= len(digits) <= 19 and CARD_PREFIX_RE.match(digits) and luhn.is_valid(digits):
            out.append(PiiHit("credit_card_number", m.start(), m.end(), m.group(0), 5.0, 0.9))
    for m in IBAN_RE.finditer(text) if IBAN_START_RE.search(text) else ():
        if iban.is_valid(m.group(0)):
            out.append(PiiHit("iban", m.start(), m.end(), m.group(0), 4.0, 0.95))
    for m in SSN_RE.finditer(gate.text) if found.has(b"ddd-dd-dddd") else ():
        if ssn.is_valid(m.group(0)):
            out.append(PiiHit("us_ssn", m.start(), m.end(), m.group(0), 5.0, 0.85))
    for m in gate.finditer(SSN_KEYWORD_RE, SSN_ANCHORS) if found.has(b"ddddddddd") else ():
        if ssn.is_valid(m.group(1)):
            out.append(PiiHit("us_ssn", m.start(1), m.end(1), m.group(1), 5.0, 0.85))
    return out


def _ips(text: str, digits: _Digits) -> list[PiiHit]:
    out = []
    v4 = list(IPV4_RE.finditer(text)) if digits.unknown or IPV4_SHAPE_RE.search(digits.shape) else []
    for m in v4 + (list(IPV6_RE.finditer(text)) if text.count(":") >= 2 else []):
        try:
            address = ipaddress.ip_address(m.group(0))
        except ValueError:
            continue
        if address.is_loopback or address.is_unspecified or address.is_multicast or address.is_reserved:
            continue
        if VERSION_BEFORE_RE.search(text[max(0, m.start() - 10) : m.start()]):
            continue
        out.append(PiiHit("ip_address", m.start(), m.end(), m.group(0), 2.0, 0.9))
    return out


def _addresses(gate: PrefilteredGate, digits: _Digits) -> list[PiiHit]:
    text = gate.text
    out: list[PiiHit] = []
    if not digits.at_least(1):  # every address pattern, the cued one too, needs a digit
        return out
    matches = [m for found in gate.all_matches(ADDRESS_PREFILTER)[: len(ADDRESS_RES)] for m in found]
    for m in matches + list(gate.finditer(ADDRESS_CUE_RE, ADDRESS_CUE_ANCHORS)):
        value = m.group(0).strip(" ,\n")
        if IPV4_RE.search(value) or BUSINESS_LOCATION_RE.search(text[max(0, m.start() - 30) : m.start()]):
            continue
        start = m.start() + m.group(0).find(value)
        out.append(PiiHit("street_address", start, start + len(value), value, 3.0, 0.75))
    return out


def _names(gate: PrefilteredGate) -> list[PiiHit]:
    """Names after an honorific or a naming cue; "private_person_name" when the sentence ties the name to the
    writer ("my name", "my grandmother was called ...") or to an address, otherwise "person_name" (weak)."""
    text = gate.text
    honorific, cued, lives, _ = gate.all_matches(NAME_PREFILTER)
    spans = [(m.start(), m.end(), m.group(0)) for m in honorific]
    spans += [(m.start(1), m.end(1), m.group(1)) for m in cued + lives]
    out = []
    for start, end, value in spans:
        if value.split()[0].lower() in NAME_STOPWORDS:
            continue
        before = text[max(0, start - 120) : start]
        private = PRIVATE_CUE_RE.search(before.rsplit(".", 1)[-1]) or LIVES_AFTER_RE.match(text, end)
        kind = "private_person_name" if private else "person_name"
        out.append(PiiHit(kind, start, end, value, 2.0, 0.75 if private else 0.6))
    return out


def find_pii(text: str) -> list[PiiHit]:
    """Personal data in `text`, overlapping hits resolved in favour of the more severe kind."""
    text = text[:MAX_CHARS]
    gate = PrefilteredGate(text, NAME_PREFILTER, ADDRESS_PREFILTER)
    digits = _Digits(text)
    hits = _emails(text) + _phones(text, digits) + _cards_and_ids(gate, digits) + _ips(text, digits)
    hits += _addresses(gate, digits) + _names(gate)
    hits.sort(key=lambda h: (h.start, -h.severity))
    kept: list[PiiHit] = []
    for hit in hits:
        if kept and hit.start < kept[-1].end:
            if hit.severity > kept[-1].severity:
                kept[-1] = hit
            continue
        kept.append(hit)
        if len(kept) >= MAX_HITS:
            break
    return kept
