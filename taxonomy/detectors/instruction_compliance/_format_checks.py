"""The checks behind output_format_violation: one function per requested format kind.

Each check takes the request and a lazily parsed view of the answer and returns a Violation (what is wrong,
where in the answer, how bad, how sure) or None. All of them are linear in the answer's length.
"""

from __future__ import annotations

from typing import NamedTuple

from taxonomy.detectors.instruction_compliance._format_requests import FormatRequest
from taxonomy.detectors.instruction_compliance._json_output import JsonParse, find_json, validate
from taxonomy.detectors.instruction_compliance._markdown import code_blocks, has_table, list_items, mask_code
from taxonomy.text import STOPWORDS, WORD_RE, words

CODE_ONLY_PROSE_WORDS = 15  # a short "Here is the code:" is tolerated, an explanation is not
YES_NO_ONLY_MAX_WORDS = 3


class Violation(NamedTuple):
    request: FormatRequest
    kind: str  # evidence_type of the output evidence
    description: str
    span: tuple[int, int]
    severity: float
    confidence: float
    hard: bool = True  # False: the answer is close to the format (numbered list for bullets...)


class Context:
    """Lazily computed structure of the answer, shared by the checks."""

    def __init__(self, output: str) -> None:
        self.output = output
        self._json: JsonParse | None = None
        self._masked: str | None = None

    @property
    def json(self) -> JsonParse:
        if self._json is None:
            self._json = find_json(self.output)
        return self._json

    @property
    def masked(self) -> str:
        if self._masked is None:
            self._masked = mask_code(self.output)
        return self._masked

    @property
    def json_checked(self) -> bool:
        return self._json is not None

    def head(self) -> tuple[int, int]:
        return (0, min(len(self.output), 120))


def _check_json(request: FormatRequest, ctx: Context) -> Violation | None:
    parsed = ctx.json
    base = 4.0 if request.source == "metadata" else 3.5 if request.strict else 3.0
    if not parsed.ok:
        at = parsed.error_offset if parsed.error_offset is not None else 0
        return Violation(
            request,
            "invalid_json",
            f"Answer is not valid JSON: {parsed.error}.",
            (at, min(len(ctx.output), at + 1)),
            base,
            0.95,
        )
    if not request.strict or parsed.how == "raw":
        return None
    if parsed.how == "fenced" and not request.markdown_forbidden:
        return None
    reason = (
        "JSON is wrapped in a Markdown code fence although fences/markdown were ruled out"
        if parsed.how == "fenced"
        else "JSON is surrounded by prose, so the answer as a whole does not parse as JSON"
    )
    return Violation(request, "json_not_bare", reason + ".", parsed.span or ctx.head(), base - 0.5, 0.85)


def _check_schema(request: FormatRequest, ctx: Context) -> Violation | None:
    parsed = ctx.json
    if not parsed.ok:
        return None  # reported by the JSON check
    if request.kind == "json_schema":
        errors = validate(parsed.value, request.detail)
    else:
        errors = _missing_keys(parsed.value, request.detail)
    if not errors:
        return None
    path = errors[0][0]
    key = path.rsplit(".", 1)[-1].split("[", 1)[0]
    found = ctx.output.find(f'"{key}"') if key and key != "$" else -1
    span = (found, found + len(key) + 2) if found != -1 else parsed.span or ctx.head()
    listed = "; ".join(f"{p}: {m}" for p, m in errors[:4])
    more = f" (+{len(errors) - 4} more)" if len(errors) > 4 else ""
    severity = 3.5 if request.source == "metadata" else 3.0
    return Violation(
        request,
        "schema_violation",
        f"JSON does not match the requested schema: {listed}{more}.",
        span,
        severity,
        0.9,
    )


def _missing_keys(value: object, keys: tuple[str, ...]) -> list[tuple[str, str]]:
    objects = (
        [value]
        if isinstance(value, dict)
        else [v for v in value if isinstance(v, dict)]
        if isinstance(value, list)
        else []
    )
    if not objects:
        return [("$", "expected an object with the requested keys")]
    errors = []
    for index, obj in enumerate(objects):
        prefix = "$" if isinstance(value, dict) else f"$[{index}]"
        errors.extend((f"{prefix}.{key}", "requested key is missing") for key in keys if key not in obj)
    return errors


def _check_lists(request: FormatRequest, ctx: Context) -> Violation | None:
    items = list_items(ctx.masked)
    bullets = [i for i in items if i.kind == "bullet"]
    numbered = [i for i in items if i.kind == "number"]
    if request.kind == "no_list":
        if len(bullets) >= 2:
            start = bullets[0].start
            return Violation(
                request,
                "unwanted_list",
                f"Answer uses {len(bullets)} bullet points although bullets were ruled out.",
                (start, start + 40),
                2.0,
                0.8,
            )
        return None
    wanted, other = (bullets, numbered) if request.kind == "bullet_list" else (numbered, bullets)
    if len(wanted) >= 2:
        return None
    label = "bullet" if request.kind == "bullet_list" else "numbered"
    if len(other) >= 2:
        start = other[0].start
        return Violation(
            request,
            "wrong_list_style",
            f"A {label} list was requested; the answer uses a different list style.",
            (start, start + 40),
            1.0,
            0.6,
            hard=False,
        )
    return Violation(
        request,
        "missing_list",
        f"A {label} list was requested; the answer has no {label} list.",
        ctx.head(),
        2.0,
        0.8,
    )


def _check_table(request: FormatRequest, ctx: Context) -> Violation | None:
    if has_table(ctx.output):
        return None
    return Violation(
        request, "missing_table", "A table was requested; the answer contains no table.", ctx.head(), 2.0, 0.8
    )


def _check_yes_no(request: FormatRequest, ctx: Context) -> Violation | None:
    match = WORD_RE.search(ctx.output)
    first = match.group(0).lower() if match else ""
    if first not in ("yes", "no"):
        return Violation(
            request,
            "missing_yes_no",
            "A yes/no answer was requested; the answer does not start with yes or no.",
            ctx.head(),
            2.5,
            0.85,
        )
    count = len(WORD_RE.findall(ctx.output, 0, 4000))
    if request.detail and count > YES_NO_ONLY_MAX_WORDS:
        return Violation(
            request,
            "extra_text",
            f"Only yes or no was requested; the answer has {count}+ words.",
            ctx.head(),
            2.0,
            0.8,
        )
    return None


def _prose_words(text: str) -> tuple[int, int]:
    """Words in prose-looking lines of `text` and the offset of the first such line."""
    total, first, cursor = 0, -1, 0
    for line in text.splitlines(keepends=True):
        tokens = words(line)
        stripped = line.strip()
        looks_prose = (
            len(tokens) >= 4
            and not stripped.startswith(("#", "//", "--", "/*", "*", "<!--"))
            and sum(ch in "=;{}()<>[]" for ch in stripped) <= 1
            and sum(t in STOPWORDS for t in tokens) >= 2
        )
        if looks_prose:
            total += len(tokens)
            first = cursor if first == -1 else first
        cursor += len(line)
    return total, max(first, 0)


def _check_code_only(request: FormatRequest, ctx: Context) -> Violation | None:
    blocks = code_blocks(ctx.output)
    prose_text = ctx.masked if blocks else ctx.output
    count, first = _prose_words(prose_text)
    if count <= CODE_ONLY_PROSE_WORDS:
        return None
    where = "outside the code block" if blocks else "of prose"
    return Violation(
        request,
        "extra_prose",
        f"Only code was requested; the answer has {count} words {where}.",
        (first, first + 60),
        2.0,
        0.75,
    )


def _check_tags(request: FormatRequest, ctx: Context) -> Violation | None:
    lower = ctx.output.lower()
    missing = []
    for name, needs_closing in request.detail:
        if f"<{name}>" not in lower and f"<{name} " not in lower:
            missing.append(f"<{name}>")
        if needs_closing and f"</{name}>" not in lower:
            missing.append(f"</{name}>")
    if not missing:
        return None
    tail = max(0, len(ctx.output) - 120)
    return Violation(
        request,
        "missing_tag",
        f"Required tag(s) {', '.join(missing)} missing from the answer.",
        (tail, len(ctx.output)),
        3.0,
        0.85,
    )


# fmt: off
CHECKS = {
    "json": _check_json, "json_schema": _check_schema, "json_keys": _check_schema,
    "bullet_list": _check_lists, "numbered_list": _check_lists, "no_list": _check_lists,
    "table": _check_table, "yes_no": _check_yes_no, "code_only": _check_code_only, "tags": _check_tags,
}
# fmt: on
