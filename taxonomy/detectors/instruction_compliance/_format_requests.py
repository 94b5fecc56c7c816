"""What output format a request asks for: parsed from item.metadata, the system prompt and the user input.

Kinds: json (strict: the whole answer must be JSON; embedded: the answer must contain JSON), json_schema,
json_keys (keys named in the prose request), bullet_list, numbered_list, no_list, table, yes_no, code_only
and tags (required XML-ish tags). Only directive phrasings count ("respond in JSON", "return a JSON object",
"use bullet points", "wrap the answer in <answer> tags"); mentions such as "the data is in JSON format" or
"what is a bullet point?" do not. Every pattern is linear-time (bounded gaps, no nested quantifiers).
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from taxonomy.detectors.instruction_compliance._json_output import unwrap_schema
from taxonomy.detectors.instruction_compliance._markdown import instruction_window, prompt_cache
from taxonomy.model import Item

_Q = r"(?:(?:a|an|the|only|valid|strict|raw|pure|plain|proper|well-formed|single|one)\s+){0,3}"
_NOT_JSON_TOOLING = (
    r"(?![- ]?(?:parser|parsing|library|decoder|encoder|serializ|deserializ|reader|writer|"
    r"api|endpoint|validator|module|package|web token|path|support|handling|file reader|lines))"
)
_STRICT_JSON_PREFIXES = (
    r"\b(?:respond|reply|answer)s?\b[^.\n?!]{0,40}?\b(?:in|with|using|as)\s+" + _Q,
    r"\b(?:return|output|produce|emit|print|send|deliver)s?\b[^.\n?!]{0,40}?\b(?:as|in|into|using)\s+" + _Q,
    r"\b(?:format|structure)(?:ted|d)?\s+(?:your|the|it|them|this|each|all|every)\b[^.\n?!]{0,40}?"
    r"\b(?:as|in|into|using)\s+" + _Q,
    r"\b(?:formatted|structured)\s+(?:as|in)\s+" + _Q,
    r"\b(?:give|provide)s?\b[^.\n?!]{0,40}?\b(?:(?:as|in|into|using)\s+" + _Q + r"|only\s+)",
    r"\b(?:response|output|answer|reply|result)s?\b[^.\n?!]{0,25}?\b(?:must|should|shall|needs? to|"
    r"has to|will)\s+(?:only\s+)?be\s+"
    r"(?:(?:formatted|written|returned|given|provided|encoded|structured)\s+)?(?:(?:as|in)\s+)?" + _Q,
    r"\b(?:return|output|respond with|reply with|answer with|emit)\s+" + _Q,
    r"\b(?:only|just)\s+(?:(?:output|return|respond with|reply with|answer with|print)\s+)?" + _Q,
)
STRICT_JSON_RES = (
    *(re.compile(prefix + r"json\b" + _NOT_JSON_TOOLING, re.IGNORECASE) for prefix in _STRICT_JSON_PREFIXES),
    re.compile(r"\bjson\s+only\b|\bjson[- ]formatted\s+(?:response|output|answer|reply)\b", re.IGNORECASE),
)
EMBEDDED_JSON_RES = (
    re.compile(
        r"\b(?:give|provide|create|generate|write|build|make|produce|show)\s+(?:me\s+|us\s+)?"
        r"(?:(?:a|an|the|some|valid|sample|example|simple|small)\s+){0,3}json\b" + _NOT_JSON_TOOLING,
        re.IGNORECASE,
    ),
    re.compile(
        r"\b(?:convert|transform|turn|serialize|rewrite|export)\b[^.\n?!]{0,60}?\b(?:to|into|as)\s+"
        r"(?:(?:a|an|valid)\s+){0,2}json\b" + _NOT_JSON_TOOLING,
        re.IGNORECASE,
    ),
)
NO_MARKDOWN_RE = re.compile(
    r"\b(?:no|without|don'?t use|do not use|avoid|never use|never wrap|do not wrap|don'?t wrap)\s+"
    r"(?:it\s+in\s+|any\s+|the\s+)?(?:markdown|code\s*(?:fences?|blocks?)|backticks|triple backticks)\b|"
    r"\b(?:raw|plain|bare)\s+json\b",
    re.IGNORECASE,
)
JSON_KEYS_RE = re.compile(
    r"\b(?:keys|fields|properties|attributes)\b(?:\s+(?:named|called))?\s*:?\s*([^.\n]{1,200})", re.IGNORECASE
)
KEY_SPLIT_RE = re.compile(r"\s*(?:,|;|\band\b|\bor\b)\s*", re.IGNORECASE)
IDENTIFIER_RE = re.compile(r"[\"'`“]?([A-Za-z_][\w-]{0,40})[\"'`”]?")
BULLET_RE = re.compile(
    r"(?P<neg>\b(?:no|not|don'?t|do not|without|avoid|never)\s+(?:use\s+|using\s+|include\s+)?(?:any\s+)?)?"
    r"\b(?:bullet(?:ed)?[- ]?(?:points?|list|lists|form|format|style)|bullets)\b",
    re.IGNORECASE,
)
BULLET_QUESTION_RE = re.compile(r"\b(?:what|how)\s+(?:is|are|do|does|to|can)\b[^.\n?!]{0,30}\bbullet", re.I)
NUMBERED_RE = re.compile(
    r"\bnumbered\s+(?:list|steps|points|items|format)\b|\bnumber\s+(?:each|the|your)\s+(?:steps?|items?|points?)\b",
    re.IGNORECASE,
)
TABLE_RE = re.compile(
    r"\b(?:in|as|into|using|use)\s+(?:a\s+)?(?:markdown\s+|html\s+|simple\s+|comparison\s+)?table\b"
    r"(?!\s+(?:above|below))|"
    r"\btable\s+(?:format|form)\b|\btabular\b|\bmarkdown\s+table\b|"
    r"\b(?:create|make|draw|build|produce|generate|give|provide|show|present|organi[sz]e|format|put)\s+"
    r"(?:me\s+)?(?:a|the)\s+(?:markdown\s+|html\s+|comparison\s+|simple\s+|short\s+)?table\s+"
    r"(?:of|with|showing|comparing|that|listing|summari[sz]ing|for|to)\b",
    re.IGNORECASE,
)
YES_NO_RE = re.compile(
    r"\b(?:answer|respond|reply|say)\s+(?P<only>only\s+|just\s+|simply\s+)?(?:with\s+)?"
    r"(?:(?:a|either|just|only|simply|single)\s+){0,2}[\"'“]?yes[\"'”]?\s*(?:or|/)\s*[\"'“]?no\b|"
    r"\b(?:a|with|in)\s+(?:single\s+)?[\"'“]?yes[\"'”]?\s*(?:/|or)\s*[\"'“]?no[\"'”]?\s+(?:answer|response)\b",
    re.IGNORECASE,
)
YES_NO_ONLY_RE = re.compile(r"\b(?:only|just|nothing else|single word|one word)\b", re.IGNORECASE)
CODE_ONLY_RE = re.compile(
    r"\b(?:respond|reply|answer|return|output|give\s+me|provide|write)\s+(?:with\s+)?(?:only|just)\s+"
    r"(?:the\s+)?(?:[\w+#.-]+\s+){0,2}(?:code|query|script|snippet)\b|"
    r"\bonly\s+(?:output|return|include|provide|give|write|respond with)\s+(?:the\s+)?(?:[\w+#.-]+\s+){0,2}"
    r"(?:code|query|script)\b|\b(?:code|sql|query|script)\s+only\b",
    re.IGNORECASE,
)
NO_EXPLANATION_RE = re.compile(
    r"\b(?:no|without(?:\s+any)?|do not (?:add|include|give)(?:\s+any)?)\s+"
    r"(?:explanations?|commentary|prose)\b",
    re.IGNORECASE,
)
CODE_TASK_RE = re.compile(
    r"\b(?:write|fix|implement|refactor|complete|generate|rewrite|correct|convert|translate|debug)\b[^.\n]{0,60}?"
    r"\b(?:code|function|script|program|query|class|method|regex|sql)\b",
    re.IGNORECASE,
)
TAG_RE = re.compile(r"<(/?)([A-Za-z][\w-]{0,30})>")
TAG_DIRECTIVE_RE = re.compile(
    r"\b(?:wrap|enclose|surround|put|place|write|output|return|include|end|finish|format|provide|give|"
    r"inside|within|between|start|begin|use|mark|close)\b",
    re.IGNORECASE,
)
TAG_PAIR_WORDS_RE = re.compile(r"\b(?:wrap|enclose|surround|inside|within|between)\b", re.IGNORECASE)
CONDITIONAL_RE = re.compile(r"\b(?:if|when|whenever|unless|in case|to call|example)\b", re.IGNORECASE)
SENTENCE_RE = re.compile(r"[^.!?\n]+[.!?]*")
HTML_TAGS = frozenset(
    {"b", "i", "u", "p", "a", "br", "hr", "div", "span", "em", "strong", "code", "pre", "ul", "ol", "li"}
    | {"table", "tr", "td", "th", "img", "h1", "h2", "h3"}
)


class FormatRequest(NamedTuple):
    """One requested output format and where it was asked for."""

    kind: str
    source: str  # "metadata", "system_prompt", "input", "messages[i]"
    quote: str  # the request, as written
    strict: bool = True
    detail: Any = None  # schema, key list, tag names, "only" flag...
    markdown_forbidden: bool = False


def request_sources(item: Item) -> list[tuple[str, str]]:
    """(source name, text) of every place a format can be requested, system prompt first."""
    sources: list[tuple[str, str]] = []
    if isinstance(item.system_prompt, str) and item.system_prompt.strip():
        sources.append(("system_prompt", item.system_prompt))
    elif item.messages:
        for index, message in enumerate(item.messages):
            if message.role in ("system", "developer") and isinstance(message.content, str):
                sources.append((f"messages[{index}]", message.content))
    if isinstance(item.input, str) and item.input.strip():
        sources.append(("input", item.input))
    return sources


def metadata_requests(metadata: dict[str, Any]) -> list[FormatRequest]:
    """JSON / JSON-schema requests carried by the API call (OpenAI `response_format`, `json_schema`)."""
    if not isinstance(metadata, dict):
        return []
    requests: list[FormatRequest] = []
    response_format = metadata.get("response_format")
    kind = response_format.get("type") if isinstance(response_format, dict) else response_format
    kind = kind.lower() if isinstance(kind, str) else None
    schema = unwrap_schema(response_format) if kind == "json_schema" else None
    if schema is None and metadata.get("json_schema") is not None:
        schema = unwrap_schema(metadata["json_schema"])
    quote = f"response_format={_short_repr(response_format)}" if kind else "json_schema=…"
    if kind in ("json", "json_object", "json_schema") or schema is not None:
        requests.append(FormatRequest("json", "metadata", quote, True, markdown_forbidden=True))
    if schema is not None:
        requests.append(FormatRequest("json_schema", "metadata", quote, True, detail=schema))
    return requests


@prompt_cache(maxsize=512)
def text_requests(source: str, text: str) -> tuple[FormatRequest, ...]:
    """Format requests phrased in one prompt text (cached: one prompt serves many items)."""
    requests: list[FormatRequest] = []
    for offset, chunk in instruction_window(text):
        for match in SENTENCE_RE.finditer(chunk):
            sentence = match.group(0).strip()
            if len(sentence) >= 6:
                requests.extend(_sentence_requests(source, sentence, offset + match.start()))
    requests.extend(_json_keys(source, text, requests))
    if any(r.kind == "json" for r in requests) and NO_MARKDOWN_RE.search(text):
        requests = [r._replace(markdown_forbidden=True) if r.kind == "json" else r for r in requests]
    if any(r.kind == "code_only" and r.detail == "no_explanation" for r in requests) and not CODE_TASK_RE.search(text):
        requests = [r for r in requests if not (r.kind == "code_only" and r.detail == "no_explanation")]
    return tuple(_dedupe(requests))


def _sentence_requests(source: str, sentence: str, offset: int) -> list[FormatRequest]:
    found: list[FormatRequest] = []
    question = sentence.endswith("?")
    if any(p.search(sentence) for p in STRICT_JSON_RES):
        found.append(FormatRequest("json", source, sentence, True))
    elif any(p.search(sentence) for p in EMBEDDED_JSON_RES):
        found.append(FormatRequest("json", source, sentence, False))
    bullet = BULLET_RE.search(sentence)
    if bullet and not BULLET_QUESTION_RE.search(sentence):
        found.append(FormatRequest("no_list" if bullet.group("neg") else "bullet_list", source, sentence))
    if NUMBERED_RE.search(sentence) and not question:
        found.append(FormatRequest("numbered_list", source, sentence))
    if TABLE_RE.search(sentence):
        found.append(FormatRequest("table", source, sentence))
    yes_no = YES_NO_RE.search(sentence)
    if yes_no:
        only = bool(yes_no.group("only")) or bool(YES_NO_ONLY_RE.search(sentence))
        found.append(FormatRequest("yes_no", source, sentence, detail=only))
    if CODE_ONLY_RE.search(sentence) and not question:
        found.append(FormatRequest("code_only", source, sentence, detail="explicit"))
    elif NO_EXPLANATION_RE.search(sentence) and not question:
        found.append(FormatRequest("code_only", source, sentence, detail="no_explanation"))
    tags = _tag_request(sentence)
    if tags:
        found.append(FormatRequest("tags", source, sentence, detail=tags))
    return found


def _tag_request(sentence: str) -> tuple[tuple[str, bool], ...]:
    """Required tags of an imperative sentence, as (name, needs_closing_tag) pairs."""
    if sentence.endswith("?") or not TAG_DIRECTIVE_RE.search(sentence) or CONDITIONAL_RE.search(sentence):
        return ()
    opened: dict[str, bool] = {}
    for slash, name in TAG_RE.findall(sentence):
        lower = name.lower()
        if lower in HTML_TAGS and not TAG_PAIR_WORDS_RE.search(sentence):
            continue
        opened[lower] = opened.get(lower, False) or bool(slash)
    pair = bool(TAG_PAIR_WORDS_RE.search(sentence))
    return tuple((name, closing or pair) for name, closing in opened.items())


def _json_keys(source: str, text: str, requests: list[FormatRequest]) -> list[FormatRequest]:
    """Keys a prose JSON request names ("a JSON object with keys name, age and email")."""
    json_requests = [r for r in requests if r.kind == "json"]
    if not json_requests:
        return []
    for request in json_requests:
        match = JSON_KEYS_RE.search(request.quote)
        if match is None:
            continue
        keys = []
        for part in KEY_SPLIT_RE.split(match.group(1).strip()):
            ident = IDENTIFIER_RE.fullmatch(part.strip())
            if ident is None:
                return []
            keys.append(ident.group(1))
        if keys:
            return [FormatRequest("json_keys", source, request.quote, request.strict, detail=tuple(keys))]
    return []


def _dedupe(requests: list[FormatRequest]) -> list[FormatRequest]:
    seen: set[tuple[str, bool]] = set()
    unique = []
    for request in requests:
        key = (request.kind, request.strict) if request.kind != "tags" else (f"tags:{request.detail}", True)
        if key not in seen:
            seen.add(key)
            unique.append(request)
    return unique


def _short_repr(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
