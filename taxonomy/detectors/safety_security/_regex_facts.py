"""What every match of a regex implies about the text: derived once from the regex's parse tree (`re._parser`).

`derive` gives a condition over atoms: ("w", word) - an a-z word that must appear whole (a literal run between
boundaries: `\\b`, whitespace, an `\\W` class, a non-letter literal, the start or end of the text);
("s", substring) - a lowercase ASCII string that must appear in the lowercased text (a literal whose edges may
touch other letters, or a run with symbols or digits such as "<|", "%%%", "988"); ("n",) - some non-ASCII
character; ("d",) - an ASCII digit or some non-ASCII character (what `\\d` needs). Atoms combine with
("&", parts) and ("|", parts); True means nothing useful can be said. Small finite parts (`ignor(?:e|ing)`,
`summari[sz]e`, `s?`) are expanded into their strings first (see _regex_shapes).

It holds for "safe" texts only: no character that IGNORECASE-matches an ASCII letter without being one, or
lowercases into ASCII (UNSAFE_CHARS). Words are the maximal a-z runs of the lowercased text, every other
character (digits, punctuation, non-ASCII letters) separating them. An unexpected tree shape yields True,
never a wrong condition.
"""

from __future__ import annotations

import re

from taxonomy.detectors.safety_security._regex_shapes import (
    EXPANSION_CAP,
    REPEATS,
    C,
    bound,
    expand,
    expand_seq,
    is_digit_class,
    parse,
    seq_shape,
)

MIN_SUBSTRING = 3
SYMBOL_RE = re.compile(r"[^a-zA-Z0-9\s']")
COMMON_PUNCTUATION = frozenset(".,:;!?-()/&+")

Formula = object  # True | ("w", bytes) | ("s", str) | ("n",) | ("d",) | ("&", tuple) | ("|", tuple)


def derive(regex: re.Pattern[str]) -> Formula:
    """A condition implied by every match of `regex` (True when nothing useful can be said)."""
    items = parse(regex)
    if items is None:
        return True
    try:
        return _seq(items, False, False)
    except (TypeError, ValueError, IndexError, AttributeError):  # an unexpected tree shape: no condition
        return True


def _and(parts: list[Formula]) -> Formula:
    out: list[Formula] = []
    for part in parts:
        if part is True:
            continue
        for sub in part[1] if part[0] == "&" else (part,):
            if sub not in out:
                out.append(sub)
    return True if not out else out[0] if len(out) == 1 else ("&", tuple(out))


def _or(parts: list[Formula]) -> Formula:
    out: list[Formula] = []
    for part in parts:
        if part is True:
            return True
        for sub in part[1] if part[0] == "|" else (part,):
            if sub not in out:
                out.append(sub)
    # "a" or "abc" is just "a": a present word or substring that contains a substring alternative implies it
    subs = [atom[1] for atom in out if atom[0] == "s"]
    out = [atom for atom in out if not (atom[0] in "ws" and any(_contains(atom, sub) for sub in subs))]
    return _factor(out)


def _factor(alternatives: list[Formula]) -> Formula:
    """(a & b) | (a & c) | d  ->  (a & (b | c)) | d, taking out the atom most alternatives share, repeatedly."""
    if not alternatives:
        return True
    if len(alternatives) == 1:
        return alternatives[0]
    conjuncts = [set(alt[1]) if alt[0] == "&" else {alt} for alt in alternatives]
    counts: dict[Formula, int] = {}
    for conj in conjuncts:
        for atom in conj:
            counts[atom] = counts.get(atom, 0) + 1
    atom, count = max(counts.items(), key=lambda kv: (kv[1], -len(str(kv[0]))))
    if count < 2:
        return ("|", tuple(alternatives))
    with_atom = [alt for alt, conj in zip(alternatives, conjuncts, strict=True) if atom in conj]
    rest = [alt for alt, conj in zip(alternatives, conjuncts, strict=True) if atom not in conj]
    inner = _or([_and([part for part in _parts(alt, "&") if part != atom]) for alt in with_atom])
    grouped = _and([atom, inner])
    return grouped if not rest else _or_plain([grouped, _factor(rest)])


def _parts(formula: Formula, kind: str) -> tuple:
    return formula[1] if formula is not True and formula[0] == kind else (formula,)


def _or_plain(parts: list[Formula]) -> Formula:
    out: list[Formula] = []
    for part in parts:
        if part is True:
            return True
        out.extend(p for p in _parts(part, "|") if p not in out)
    return out[0] if len(out) == 1 else ("|", tuple(out))


def _contains(atom: tuple, sub: str) -> bool:
    text = atom[1].decode() if atom[0] == "w" else atom[1]
    return sub in text and not (atom[0] == "s" and text == sub)


def _atoms(string: str, left: bool, right: bool) -> Formula:
    """Words (bounded on both sides) and substrings (touching unknown letters) of one literal string."""
    lowered = "".join(ch.lower() if ch.isascii() else " " for ch in string)
    parts: list[Formula] = []
    for m in re.finditer("[a-z]+", lowered):
        whole_left = m.start() > 0 or left
        whole_right = m.end() < len(lowered) or right
        if whole_left and whole_right:
            parts.append(("w", m.group(0).encode()))
        elif len(m.group(0)) >= MIN_SUBSTRING:
            parts.append(("s", m.group(0)))
    if not string.isascii():
        parts.append(("n",))
    elif SYMBOL_RE.search(string) and (len(string) >= 2 or string not in COMMON_PUNCTUATION):
        parts.append(("s", lowered))  # '"', "<|", "%%%", "[inst]": symbols are as telling as words
    elif len(string) >= 2 and any(ch.isdigit() for ch in string):
        parts.append(("s", lowered))  # "988", "c4": digits too
    elif any(ch.isdigit() for ch in string):
        parts.append(("d",))
    return _and(parts)


def _seq(items: list, left: bool, right: bool) -> Formula:
    parts: list[Formula] = []
    i = 0
    while i < len(items):
        strings = expand(items[i])
        if strings is not None:
            j = i + 1
            while j < len(items):
                more = expand(items[j])
                if more is None or len(strings) * len(more) > EXPANSION_CAP:
                    break
                strings = [a + b for a in strings for b in more]
                j += 1
            lb, rb = bound(items, i, -1, left), bound(items, j - 1, 1, right)
            parts.append(_or([_atoms(s, lb, rb) for s in strings]))
            i = j
            continue
        parts.append(_item(items, i, left, right))
        i += 1
    return _and(parts)


def _item(items: list, index: int, left: bool, right: bool) -> Formula:
    op, av = items[index]
    lb, rb = bound(items, index, -1, left), bound(items, index, 1, right)
    if op is C.SUBPATTERN:
        return _seq(list(av[-1]), lb, rb)
    if op is C.ATOMIC_GROUP:
        return _seq(list(av), lb, rb)
    if op is C.BRANCH:
        return _or([_seq(list(alt), lb, rb) for alt in av[1]])
    if op in REPEATS and av[0] >= 1:
        body = list(av[2])
        if av[1] > 1:  # a later repetition sits next to an earlier one
            shape = seq_shape(body)
            lb, rb = lb and shape.last, rb and shape.first
        inner = _seq(body, lb, rb)
        single = expand_seq(body) if av[0] >= 2 else None
        if single is not None and len(single) == 1 and single[0].isascii() and SYMBOL_RE.search(single[0]):
            inner = _and([inner, ("s", (single[0] * av[0]).lower())])  # "#{2,}": "##"
        return inner
    if op is C.IN and is_digit_class(av):
        return ("d",)
    if op is C.ASSERT and av[0] == 1:  # a lookahead's text is in the string too
        return _seq(list(av[1]), False, False)
    return True
