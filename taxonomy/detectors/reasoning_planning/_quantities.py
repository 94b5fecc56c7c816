"""Checkable quantity statements in prose: percentages, worded arithmetic, unit conversions, listed totals.

* "15% of 200 is 30", "20 percent of $80 = $16"
* "12 plus 7 is 19", "6 times 7 equals 42", "100 divided by 8 is 12.5"
* "3 hours = 180 minutes", "5 km is 5,000 m", "1 mile is about 1.6 km" (length, mass, time, volume;
  imperial factors get 1.5 % slack since people round them)
* a bulleted list of currency amounts followed by a "Total: $X" line ("- Rent: $1,200 / - Food: $300 /
  Total: $1,500"); skipped when a line holds several amounts or a subtotal.
All patterns are linear (bounded repeats, no nested quantifiers); values are exact Fractions. To stay fast
on huge outputs, the full patterns run only in small windows around literal anchors found with str.find
("%", "percent", " plus ", " is ", "=", ...) that have a digit right after them, looking at no more than
MAX_EXAMINED occurrences per anchor and MAX_CANDIDATES windows per kind of statement.
"""

from __future__ import annotations

import re
from fractions import Fraction

from taxonomy.detectors.reasoning_planning._arithmetic import Checked, agrees

NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
APPROX = r"(?P<approx>about|approximately|roughly|around|nearly|~|≈)?\s*"
VERB = r"(?:is|are|=|equals|would be|comes to|gives(?: you)?|makes|yields|is equal to)"
MAX_TOTAL_LINES = 4_000
MAX_CANDIDATES = 300  # windows searched per kind of statement
MAX_EXAMINED = 5_000  # anchor occurrences looked at per anchor
WINDOW_BEFORE, WINDOW_AFTER = 60, 100
PERCENT_ANCHORS = ("%", "percent", "per cent", "Percent")
WORD_OP_ANCHORS = (" plus ", " minus ", " times ", " multiplied by ", " divided by ")
CONVERSION_ANCHORS = ("=", "→", " is ", " are ", " equals ", " makes ", " converts to ")
IMPERIAL_SLACK = Fraction(15, 1000)

PERCENT_OF_RE = re.compile(
    rf"\b(?P<p>{NUM})\s*(?:%|percent|per cent)\s+of\s+[$€£]?(?P<base>{NUM})\s*(?:[A-Za-z]+\s+){{0,2}}?"
    rf"{VERB}\s+{APPROX}[$€£]?(?P<r>{NUM})\b",
    re.IGNORECASE,
)
WORD_OP_RE = re.compile(
    rf"\b(?P<a>{NUM})\s+(?P<op>plus|minus|times|multiplied by|divided by)\s+(?P<b>{NUM})\s+{VERB}\s+"
    rf"{APPROX}(?P<r>{NUM})\b",
    re.IGNORECASE,
)
UNITS: dict[str, tuple[str, Fraction, bool]] = {}
for _names, _dim, _factor, _imperial in (
    ("mm millimeter millimeters millimetre millimetres", "length", Fraction(1, 1000), False),
    ("cm centimeter centimeters centimetre centimetres", "length", Fraction(1, 100), False),
    ("m meter meters metre metres", "length", Fraction(1), False),
    ("km kilometer kilometers kilometre kilometres", "length", Fraction(1000), False),
    ("in inch inches", "length", Fraction("0.0254"), True),
    ("ft foot feet", "length", Fraction("0.3048"), True),
    ("yd yard yards", "length", Fraction("0.9144"), True),
    ("mi mile miles", "length", Fraction("1609.344"), True),
    ("mg milligram milligrams", "mass", Fraction(1, 1_000_000), False),
    ("g gram grams", "mass", Fraction(1, 1000), False),
    ("kg kilogram kilograms", "mass", Fraction(1), False),
    ("lb lbs pound pounds", "mass", Fraction("0.45359237"), True),
    ("oz ounce ounces", "mass", Fraction("0.028349523125"), True),
    ("ms millisecond milliseconds", "time", Fraction(1, 1000), False),
    ("s sec secs second seconds", "time", Fraction(1), False),
    ("min mins minute minutes", "time", Fraction(60), False),
    ("h hr hrs hour hours", "time", Fraction(3600), False),
    ("day days", "time", Fraction(86400), False),
    ("week weeks", "time", Fraction(604800), False),
    ("ml milliliter milliliters millilitre millilitres", "volume", Fraction(1, 1000), False),
    ("l liter liters litre litres", "volume", Fraction(1), False),
):
    for _name in _names.split():
        UNITS[_name] = (_dim, _factor, _imperial)
_UNIT_ALT = "|".join(sorted((re.escape(u) for u in UNITS), key=len, reverse=True))
CONVERSION_RE = re.compile(
    rf"\b(?P<a>{NUM})\s*(?P<ua>{_UNIT_ALT})\s*(?:=|is|are|equals|is equal to|makes|converts to|→)\s*"
    rf"{APPROX}(?P<b>{NUM})\s*(?P<ub>{_UNIT_ALT})\b",
    re.IGNORECASE,
)
AMOUNT_LINE_RE = re.compile(
    rf"^\s*(?:[-*•]|\d{{1,2}}[.)])\s+(?P<label>[^\n$€£]{{0,120}}?)(?P<sign>[-−])?\s*(?P<cur>[$€£])\s?"
    rf"(?P<n>{NUM})\s*[.,;]?\s*$"
)
TOTAL_LINE_RE = re.compile(
    rf"^\s*(?:[-*•]\s*)?(?:\*\*)?(?:grand\s+)?total(?:\s+(?:cost|price|amount|due|spend|spent))?(?:\*\*)?"
    rf"\s*[:=]?\s*(?:\*\*)?\s*(?:is\s+)?(?P<cur>[$€£])\s?(?P<n>{NUM})",
    re.IGNORECASE,
)
CURRENCY_RE = re.compile(r"[$€£]\s?\d")
TOTAL_WORD_RE = re.compile(r"[Tt]otal|TOTAL")
DIGIT_SOON_RE = re.compile(r"[^\d\n]{0,24}\d")


def _num(text: str) -> Fraction:
    return Fraction(text.replace(",", ""))


def _decimals(text: str) -> int:
    return len(text.split(".", 1)[1]) if "." in text else 0


def _checked(match: re.Match[str], computed: Fraction, stated_text: str, slack: Fraction = Fraction(0)) -> Checked:
    stated = _num(stated_text)
    approximate = bool(match.groupdict().get("approx"))
    correct = agrees(computed, stated, _decimals(stated_text), approximate) or (
        slack > 0 and abs(computed - stated) <= abs(computed) * slack
    )
    return Checked(match.start(), match.end(), match.group(0), correct, computed, stated)


def _windows(text: str, anchors: tuple[str, ...], pattern: re.Pattern[str]) -> list[re.Match[str]]:
    """Matches of `pattern` in small windows around the anchors' occurrences (each match once)."""
    positions: list[int] = []
    for anchor in anchors:
        at, examined = text.find(anchor), 0
        while at != -1 and len(positions) < 4 * MAX_CANDIDATES and examined < MAX_EXAMINED:
            examined += 1
            if DIGIT_SOON_RE.match(text, at + len(anchor)):
                positions.append(at)
            at = text.find(anchor, at + 1)
    found: dict[tuple[int, int], re.Match[str]] = {}
    for at in sorted(positions)[:MAX_CANDIDATES]:
        match = pattern.search(text, max(0, at - WINDOW_BEFORE), min(len(text), at + WINDOW_AFTER))
        if match is not None:
            found.setdefault(match.span(), match)
    return [found[span] for span in sorted(found)]


def _percentages(text: str) -> list[Checked]:
    return [
        _checked(m, _num(m.group("p")) * _num(m.group("base")) / 100, m.group("r"))
        for m in _windows(text, PERCENT_ANCHORS, PERCENT_OF_RE)
    ]


def _word_ops(text: str) -> list[Checked]:
    found = []
    for m in _windows(text, WORD_OP_ANCHORS, WORD_OP_RE):
        a, b, op = _num(m.group("a")), _num(m.group("b")), m.group("op").casefold()
        if op.startswith("divided") and b == 0:
            continue
        value = {"plus": a + b, "minus": a - b, "times": a * b, "multiplied by": a * b}.get(op)
        found.append(_checked(m, value if value is not None else a / b, m.group("r")))
    return found


def _conversions(text: str) -> list[Checked]:
    found = []
    for m in _windows(text, CONVERSION_ANCHORS, CONVERSION_RE):
        ua, ub = UNITS[m.group("ua").casefold()], UNITS[m.group("ub").casefold()]
        if ua[0] != ub[0] or ua == ub:
            continue
        computed = _num(m.group("a")) * ua[1] / ub[1]
        slack = IMPERIAL_SLACK if ua[2] or ub[2] else Fraction(0)
        found.append(_checked(m, computed, m.group("b"), slack))
    return found


def _totals(text: str) -> list[Checked]:
    found: list[Checked] = []
    if not TOTAL_WORD_RE.search(text):
        return found
    amounts: list[Fraction] = []
    currency: set[str] = set()
    offset = 0
    for line_number, line in enumerate(text.splitlines(keepends=True)):
        if line_number > MAX_TOTAL_LINES:
            break
        total = TOTAL_LINE_RE.match(line)
        item = None if total else AMOUNT_LINE_RE.match(line)
        if total and len(amounts) >= 2 and currency == {total.group("cur")}:
            stated = total.group("n")
            computed = sum(amounts, Fraction(0))
            correct = agrees(computed, _num(stated), _decimals(stated), False)
            end = offset + total.end()
            found.append(Checked(offset, end, text[offset:end].strip(), correct, computed, _num(stated)))
        if item and len(CURRENCY_RE.findall(line)) == 1 and "subtotal" not in item.group("label").casefold():
            value = _num(item.group("n"))
            amounts.append(-value if item.group("sign") else value)
            currency.add(item.group("cur"))
        elif line.strip() or total:
            amounts, currency = [], set()
        offset += len(line)
    return found


def check_quantities(text: str) -> list[Checked]:
    """Every checkable percentage, worded operation, unit conversion and listed total of `text`."""
    return _percentages(text) + _word_ops(text) + _conversions(text) + _totals(text)
