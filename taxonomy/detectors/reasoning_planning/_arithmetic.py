"""Safe checking of arithmetic written in text: "12 + 7 = 21", "(3 + 4) × 2 = 14", "2^10 = 1024".

No eval: runs of arithmetic characters are found with one linear character-class regex, tokenised, parsed by
a small recursive-descent parser (+ - * / × ÷ x ^ **, parentheses, unary minus) and evaluated exactly with
Fraction. A run is checked only when it has at least two '='-separated sides, one of them with an operator;
each side that is a bare number must then agree with the side before it within the rounding the stated
number implies (half a unit of its last decimal) or, after '≈', within 2 % ("2 + 3 = 5 + 1 = 6", a running
total, is judged on "5 + 1 = 6" only). Runs glued to a word ("COVID-19 = ...", "v2 = ...") lose their
first token; runs with some but not all numbers in percent are skipped ("100 + 20% = 120" is prose), and so
are runs with a '-' glued between two numbers ("pages 10-12", "2019-2020"), which is a range, not a minus.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

MAX_RUN_CHARS = 300
MAX_TOKENS = 80
MAX_EXPONENT = 64
MAX_MAGNITUDE = Fraction(10) ** 30
APPROX_TOLERANCE = Fraction(2, 100)

RUN_RE = re.compile(r"[\d.,+\-−*/×÷^·xX()\[\]$€£%=≈ \t]{5,}")
TOKEN_RE = re.compile(
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\d,])|\d+(?:\.\d+)?|\.\d+)"
    r"|(?P<op>\*\*|[+\-−*/×÷^·])|(?P<x>[xX])|(?P<lp>[(\[])|(?P<rp>[)\]])|(?P<eq>=|≈)"
    r"|(?P<unit>[$€£])|(?P<pct>%)|(?P<ws>[ \t]+)"
)
OP_NORMAL = {"−": "-", "×": "*", "·": "*", "÷": "/", "**": "^", "x": "*", "X": "*"}


@dataclass(frozen=True, slots=True)
class Checked:
    """One checked statement: where it is, whether it holds, and the value the text should have stated."""

    start: int
    end: int
    text: str
    correct: bool
    computed: Fraction
    stated: Fraction


class _Parser:
    """Recursive-descent parser/evaluator over (kind, value) tokens; raises ValueError on anything odd."""

    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.pos = 0

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def parse(self) -> Fraction:
        value = self._expr()
        if self.pos != len(self.tokens):
            raise ValueError("trailing tokens")
        return value

    def _expr(self) -> Fraction:
        value = self._term()
        while (tok := self._peek()) and tok[0] == "op" and tok[1] in "+-":
            self.pos += 1
            value = value + self._term() if tok[1] == "+" else value - self._term()
        return value

    def _term(self) -> Fraction:
        value = self._factor()
        while (tok := self._peek()) and tok[0] == "op" and tok[1] in "*/":
            self.pos += 1
            right = self._factor()
            if tok[1] == "/" and right == 0:
                raise ValueError("division by zero")
            value = value * right if tok[1] == "*" else value / right
        return value

    def _factor(self) -> Fraction:
        tok = self._peek()
        if tok and tok[0] == "op" and tok[1] == "-":
            self.pos += 1
            return -self._factor()
        base = self._atom()
        tok = self._peek()
        if tok and tok[0] == "op" and tok[1] == "^":
            self.pos += 1
            exponent = self._factor()
            if exponent.denominator != 1 or abs(exponent) > MAX_EXPONENT or (base == 0 and exponent < 0):
                raise ValueError("unsupported exponent")
            base = base ** int(exponent)
        if abs(base) > MAX_MAGNITUDE:
            raise ValueError("too large")
        return base

    def _atom(self) -> Fraction:
        tok = self._peek()
        if tok is None:
            raise ValueError("missing operand")
        self.pos += 1
        if tok[0] == "num":
            return Fraction(tok[1].replace(",", ""))
        if tok[0] == "lp":
            value = self._expr()
            closing = self._peek()
            if closing is None or closing[0] != "rp":
                raise ValueError("unbalanced parenthesis")
            self.pos += 1
            return value
        raise ValueError("unexpected token")


def _decimals(number: str) -> int:
    return len(number.split(".", 1)[1]) if "." in number else 0


def agrees(computed: Fraction, stated: Fraction, decimals: int, approximate: bool) -> bool:
    """Whether `stated` (written with `decimals` decimals) is a fair rendering of `computed`."""
    tolerance = Fraction(1, 2 * 10**decimals) + abs(computed) * Fraction(1, 10**9)
    if approximate:
        tolerance = max(tolerance, abs(computed) * APPROX_TOLERANCE)
    return abs(computed - stated) <= tolerance


def _tokens(segment: str) -> list[list[tuple[str, str, int]]]:
    """Split `segment` into token lists at any character the tokenizer does not accept."""
    pieces: list[list[tuple[str, str, int]]] = [[]]
    pos = 0
    while pos < len(segment):
        match = TOKEN_RE.match(segment, pos)
        if match is None:
            pieces.append([])
            pos += 1
            continue
        kind = match.lastgroup or ""
        if kind != "ws":
            pieces[-1].append((kind, match.group(0), pos))
        pos = match.end()
    return [p for p in pieces if p]


def _is_range(tokens: list[tuple[str, str, int]], i: int) -> bool:
    """A '-' glued to numbers on both sides ("10-12", "2019-2020") is a range or a date, not a minus."""
    if i == 0 or i + 1 >= len(tokens) or tokens[i - 1][0] != "num" or tokens[i + 1][0] != "num":
        return False
    before, minus, after = tokens[i - 1], tokens[i], tokens[i + 1]
    return before[2] + len(before[1]) == minus[2] and minus[2] + len(minus[1]) == after[2]


def _sides(tokens: list[tuple[str, str, int]]) -> tuple[list[list[tuple[str, str]]], bool] | None:
    """Tokens split at '=' into sides of (kind, value), with 'x' resolved; None when not checkable."""
    pct = sum(1 for t in tokens if t[0] == "pct")
    nums = sum(1 for t in tokens if t[0] == "num")
    if (pct and pct != nums) or len(tokens) > MAX_TOKENS:
        return None
    sides: list[list[tuple[str, str]]] = [[]]
    approximate = False
    for i, (kind, value, _) in enumerate(tokens):
        if kind == "eq":
            approximate = approximate or value == "≈"
            sides.append([])
        elif kind == "x":
            before = tokens[i - 1][0] if i else ""
            after = tokens[i + 1][0] if i + 1 < len(tokens) else ""
            if before not in ("num", "rp", "unit", "pct") or after not in ("num", "lp", "unit"):
                return None
            sides[-1].append(("op", "*"))
        elif kind == "op":
            if value in "-−" and _is_range(tokens, i):
                return None
            sides[-1].append(("op", OP_NORMAL.get(value, value)))
        elif kind in ("num", "lp", "rp"):
            sides[-1].append((kind, value))
    return sides, approximate


def _bare_number(side: list[tuple[str, str]]) -> str | None:
    """The number text when `side` is just a (possibly negative) number, else None."""
    if len(side) == 2 and side[0] == ("op", "-"):
        side = side[1:]
    return side[0][1] if len(side) == 1 and side[0][0] == "num" else None


def _check_tokens(text: str, base: int, tokens: list[tuple[str, str, int]]) -> Checked | None:
    split = _sides(tokens)
    if split is None:
        return None
    sides, approximate = split
    if len(sides) < 2 or not any(any(k == "op" for k, _ in side) for side in sides) or not all(sides):
        return None
    try:
        values = [_Parser(side).parse() for side in sides]
    except (ValueError, ZeroDivisionError, OverflowError):
        return None
    start, end = base + tokens[0][2], base + tokens[-1][2] + len(tokens[-1][1])
    compared: tuple[Fraction, Fraction] | None = None
    for k in range(1, len(sides)):
        stated = _bare_number(sides[k])
        if stated is None:
            continue  # only "expression = number" pairs are judged; "5 + 1" after "2 + 3 =" is a running total
        compared = (values[k - 1], values[k])
        if not agrees(values[k - 1], values[k], _decimals(stated), approximate):
            return Checked(start, end, text[start:end], False, values[k - 1], values[k])
    if compared is None:
        return None
    return Checked(start, end, text[start:end], True, compared[0], compared[1])


def check_equations(text: str) -> list[Checked]:
    """Every checkable '=' statement of `text`, correct or not, in order."""
    found: list[Checked] = []
    for run in RUN_RE.finditer(text):
        segment = run.group(0)
        if len(segment) > MAX_RUN_CHARS or ("=" not in segment and "≈" not in segment):
            continue
        for tokens in _tokens(segment):
            glued = run.start() > 0 and text[run.start() - 1].isalnum() and tokens[0][2] == 0
            usable = tokens[1:] if glued else tokens
            if len(usable) >= 4 and (checked := _check_tokens(text, run.start(), usable)):
                found.append(checked)
    return found
