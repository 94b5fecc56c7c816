"""Markdown structure of an answer: fenced code blocks, list items, tables, and the instruction window.

Everything here is a single linear pass over lines or a linear regex; no pattern can backtrack
catastrophically, so it is safe on huge adversarial outputs. Shared by the instruction_compliance and
conversation_quality detectors.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache, wraps
from typing import NamedTuple, TypeVar

from taxonomy.text import cached_sentences

LIST_ITEM_RE = re.compile(r"^([ \t]*)(?:([-*+•‣◦▪])|(\d{1,3})[.)])[ \t]+(?=\S)", re.MULTILINE)
FENCE_RE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})[ \t]*([\w+#.-]*)[^\n]*$", re.MULTILINE)
HTML_TABLE_RE = re.compile(r"<table\b", re.IGNORECASE)
LONG_WHITESPACE_RE = re.compile(r"\s{64,}")  # a run shorter than 64 fails after at most 63 steps: linear
NON_NEWLINE_RE = re.compile(r"[^\n]+")
MAX_CODE_BLOCKS = 2000
MAX_LIST_ITEMS = 10_000  # pathological answers with more fences are only paired this far
INSTRUCTION_HEAD_CHARS = 8000
INSTRUCTION_TAIL_CHARS = 4000


R = TypeVar("R")
CACHED_TEXT_CHARS = 50_000  # longer texts are not cached, so caches stay small in memory


def prompt_cache(maxsize: int, max_chars: int = CACHED_TEXT_CHARS) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """lru_cache for functions of text(s), skipped when a text is longer than `max_chars` (bounded memory)."""

    def decorate(fn: Callable[..., R]) -> Callable[..., R]:
        cached = lru_cache(maxsize=maxsize)(fn)

        @wraps(fn)
        def wrapper(*texts: str) -> R:
            if any(isinstance(t, str) and len(t) > max_chars for t in texts):
                return fn(*texts)
            return cached(*texts)

        return wrapper

    return decorate


class CodeBlock(NamedTuple):
    """A fenced code block: offsets of the whole block (fences included) and of its body."""

    start: int
    end: int
    body_start: int
    body_end: int
    language: str
    closed: bool


class ListItem(NamedTuple):
    start: int  # offset of the line
    indent: int
    kind: str  # "bullet" or "number"
    number: int | None


@prompt_cache(maxsize=4, max_chars=2_000_000)  # the answer under analysis, asked for by several checks
def code_blocks(text: str) -> tuple[CodeBlock, ...]:
    """The fenced code blocks of `text`, in order; a last block whose fence never closes has closed=False.

    Cached: several checks of the same answer ask for its blocks (str hashes are cached by Python).
    """
    blocks: list[CodeBlock] = []
    opening: re.Match[str] | None = None
    for fence in FENCE_RE.finditer(text):
        marker = fence.group(1)
        if opening is None:
            if len(blocks) >= MAX_CODE_BLOCKS:
                break
            opening = fence
        elif marker[0] == opening.group(1)[0] and len(marker) >= len(opening.group(1)) and not fence.group(2):
            body_start = min(opening.end() + 1, fence.start())
            block = CodeBlock(opening.start(), fence.end(), body_start, fence.start(), opening.group(2).lower(), True)
            blocks.append(block)
            opening = None
    if opening is not None:
        body_start = min(opening.end() + 1, len(text))
        blocks.append(CodeBlock(opening.start(), len(text), body_start, len(text), opening.group(2).lower(), False))
    return tuple(blocks)


@prompt_cache(maxsize=4, max_chars=2_000_000)
def mask_code(text: str) -> str:
    """`text` with every fenced block blanked to spaces (newlines kept), so offsets still line up."""
    blocks = code_blocks(text)
    if not blocks:
        return text
    parts: list[str] = []
    cursor = 0
    for block in blocks:
        parts.append(text[cursor : block.start])
        parts.append(NON_NEWLINE_RE.sub(lambda m: " " * len(m.group(0)), text[block.start : block.end]))
        cursor = block.end
    parts.append(text[cursor:])
    return "".join(parts)


def list_items(text: str) -> list[ListItem]:
    """Bullet and numbered list lines of `text`, at most MAX_LIST_ITEMS (mask code first if needed)."""
    items = []
    for match in LIST_ITEM_RE.finditer(text):
        if len(items) >= MAX_LIST_ITEMS:
            break
        indent = len(match.group(1).expandtabs(4))
        number = int(match.group(3)) if match.group(3) else None
        items.append(ListItem(match.start(), indent, "bullet" if match.group(2) else "number", number))
    return items


def top_level_items(items: list[ListItem]) -> list[ListItem]:
    """The outermost list items (least indented, within one column)."""
    if not items:
        return []
    least = min(item.indent for item in items)
    return [item for item in items if item.indent <= least + 1]


def _is_separator(line: str) -> bool:
    """A Markdown table rule (`|---|:--:|`) or an ASCII grid rule (`+----+----+`)."""
    stripped = line.strip()
    if len(stripped) < 3:
        return False
    if "|" in stripped and stripped.count("-") >= 3 and not stripped.strip("|-: \t"):
        return True
    return stripped.startswith("+-") and not stripped.strip("+-=")


def has_table(text: str) -> bool:
    """Whether `text` holds a Markdown pipe table, an ASCII grid table or an HTML table."""
    if HTML_TABLE_RE.search(text):
        return True
    previous_row = False
    pipe_run = 0
    for line in text.splitlines():
        if _is_separator(line):
            if previous_row or line.strip().startswith("+"):
                return True
            continue
        pipes = line.count("|")
        previous_row = pipes >= 2 or (pipes == 1 and not line.strip().startswith("|"))
        pipe_run = pipe_run + 1 if pipes >= 2 else 0
        if pipe_run >= 3:
            return True
    return False


def instruction_window(text: str) -> list[tuple[int, str]]:
    """Where instructions live in a long prompt: its head and its tail, as (offset, chunk) pairs.

    Long inputs usually carry a document between the instruction and the question; scanning only the
    head and tail keeps quoted documents from being read as instructions and keeps parsing cheap.
    """
    if len(text) <= INSTRUCTION_HEAD_CHARS + INSTRUCTION_TAIL_CHARS:
        return [(0, text)]
    tail_start = len(text) - INSTRUCTION_TAIL_CHARS
    return [(0, text[:INSTRUCTION_HEAD_CHARS]), (tail_start, text[tail_start:])]


def safe_sentences(text: str) -> list[tuple[int, str]]:
    """`taxonomy.text.sentences`, run piecewise between long whitespace runs.

    text.sentences looks ahead over whitespace after every newline, which is quadratic on text that is
    mostly blank lines (e.g. masked code); long whitespace runs are sentence breaks anyway, so splitting
    there first keeps every lookahead short and the whole call linear.
    """
    found: list[tuple[int, str]] = []
    cursor = 0
    for gap in LONG_WHITESPACE_RE.finditer(text):
        found.extend((cursor + start, piece) for start, piece in cached_sentences(text[cursor : gap.start()]))
        cursor = gap.end()
    found.extend((cursor + start, piece) for start, piece in cached_sentences(text[cursor:]))
    return found
