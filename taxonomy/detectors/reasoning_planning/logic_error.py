"""Wrong calculations written in the output: arithmetic, percentages, unit conversions and listed totals.

The cheap, checkable part of logic errors. The output is scanned once for '=' statements
("12 + 7 = 21", "3 x 4 = 13", "(3 + 4) × 2 = 14"; _arithmetic.py, parsed and evaluated exactly without
eval) and for quantity statements in prose ("15% of 200 is 40", "6 times 7 equals 42", "3 hours = 180
minutes", a list of amounts under "Total: $X"; _quantities.py). A statement fails when the stated value is
off by more than the rounding it implies, unless the text itself marks it as false or hypothetical
("25 + 25 = 49 (not true)", "if 2 + 2 = 5, then ..."). Pass when everything checkable is right; when nothing was
checkable the pass carries low confidence and says so. Only the first MAX_SCAN_CHARS characters are read.
Blind spots: wrong reasoning in words, wrong
formulas applied correctly, code logic and edge cases (judge territory); algebra with variables; numbers
written as words.
"""

from __future__ import annotations

import re
from fractions import Fraction

from taxonomy.detectors.reasoning_planning._arithmetic import Checked, check_equations
from taxonomy.detectors.reasoning_planning._quantities import check_quantities
from taxonomy.model import Evidence, Finding, Item
from taxonomy.registry import detector
from taxonomy.text import snippet

DEFAULT_IMPACT = 4
MAX_EVIDENCE = 8
MAX_SCAN_CHARS = 200_000  # only the head of a huge output is scanned
CONTEXT_CHARS = 40
# A wrong statement the text itself marks as false ("25 + 25 = 49 (not true)", "it is wrong that 2 + 2 = 5").
MARKED_FALSE_AFTER_RE = re.compile(
    r"^[^.!?]{0,40}?(?:\(\s*)?(?:not true|false|incorrect|wrong|not equal|impossible|contradiction|isn't|≠)",
    re.IGNORECASE,
)
MARKED_FALSE_BEFORE_RE = re.compile(
    r"(?:\bnot\b|\bnever\b|\bfalse\b|\bincorrect(?:ly)?\b|\bwrong(?:ly)?\b|\bmistaken(?:ly)?\b|\bmistake\b"
    r"|\berroneous(?:ly)?\b|\bclaims?\b|\bif\b|\bsuppose\b|\bassume\b|\bwould\b|≠)[^.!?\n]{0,30}$",
    re.IGNORECASE,
)


def _show(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    return f"{float(value):.6g}"


def _evidence(output: str, wrong: Checked) -> Evidence:
    return Evidence(
        evidence_type="calculation_error",
        description=f"'{wrong.text}' is wrong: the computed value is {_show(wrong.computed)}, "
        f"not the stated {_show(wrong.stated)}",
        source="output",
        content_snippet=snippet(output, wrong.start, wrong.end),
        confidence=0.9,
        metadata={
            "start": wrong.start,
            "end": wrong.end,
            "computed": _show(wrong.computed),
            "stated": _show(wrong.stated),
        },
    )


def _marked_false(text: str, statement: Checked) -> bool:
    """Whether the text itself presents the statement as false or hypothetical."""
    after = text[statement.end : statement.end + CONTEXT_CHARS]
    before = text[max(0, statement.start - CONTEXT_CHARS) : statement.start]
    return bool(MARKED_FALSE_AFTER_RE.search(after) or MARKED_FALSE_BEFORE_RE.search(before))


@detector("logic_error", needs=("output",))
def detect(item: Item) -> Finding:
    output = item.output or ""
    head = output[:MAX_SCAN_CHARS]
    checked = check_equations(head) + check_quantities(head)
    seen: set[tuple[int, int]] = set()
    wrong: list[Checked] = []
    for statement in sorted(checked, key=lambda c: c.start):
        if (
            not statement.correct
            and (statement.start, statement.end) not in seen
            and not _marked_false(head, statement)
        ):
            seen.add((statement.start, statement.end))
            wrong.append(statement)
    if not checked:
        return Finding.passed(
            "No checkable arithmetic, percentage, unit conversion or total in the output; "
            "reasoning in words was not judged.",
            confidence=0.3,
        )
    if not wrong:
        return Finding.passed(
            f"{len(checked)} checkable calculation(s) in the output, all correct; other reasoning was not judged.",
            confidence=0.6,
        )
    return Finding(
        decision="fail",
        severity=min(5.0, DEFAULT_IMPACT + (0.5 if len(wrong) >= 2 else 0.0)),
        confidence=0.9,
        evidence=tuple(_evidence(output, w) for w in wrong[:MAX_EVIDENCE]),
        rationale=f"{len(wrong)} of {len(checked)} checkable calculations in the output are wrong, e.g. "
        f"'{wrong[0].text}' (should be {_show(wrong[0].computed)}).",
    )
