"""Where a tool call's error signal lives: status_code, error, dict payload keys or an error-shaped output.

A call counts as failed when its status_code is >= 400, its `error` is set, its dict output carries an error
(`error`/`errors`/`exception` keys, an HTTP-like `status`/`status_code` >= 400, `success: false`; and, in a
small envelope of at most ENVELOPE_MAX_KEYS keys, `code` >= 400 or `status: "error"/"failed"` — in a larger
dict those are data, e.g. an order whose payment status is "failed"),
or its text output is shaped like an error: it *starts* with an error marker ("Error: 403 Forbidden",
"HTTPError: 429 ...", "Traceback (most recent call last)", "exitcode: 1", a browser page titled "Error 404")
or its last lines hold an unindented exception line ("ModuleNotFoundError: No module named 'x'").
Error words in the middle of a successful payload (a web page about rate limits, source code with
`except KeyError:`) do not count. Long texts are cut to a head and a tail window.
"""

from __future__ import annotations

import json
import re
from typing import Any

from taxonomy.model import ToolCall

WINDOW_CHARS = 2_000  # head and tail kept of long texts
HEAD_PROBE_CHARS = 2_400  # where an error-shaped output must start
TAIL_PROBE_CHARS = 1_500  # where a trailing exception line is looked for
TAIL_LINES = 8
NULLISH = frozenset({"", "none", "null", "nil", "false", "0", "n/a", "ok", "success"})
ERROR_KEYS = ("error", "errors", "exception", "error_message", "errormessage", "fault")
MESSAGE_KEYS = ("message", "detail", "details", "msg", "reason", "observation", "description", "type", "code")
STATUS_KEYS = ("status_code", "statuscode", "http_status", "status", "code")
ENVELOPE_MAX_KEYS = 4  # {"status": "failed", "message": ...}; larger dicts are data ({"order": .., "status": ..})
FAILED_STATUS_WORDS = frozenset({"error", "failed", "failure", "fail", "errored", "timeout", "timed_out"})

HEAD_ERROR_RE = re.compile(
    r"(?:[A-Za-z_][\w.]{0,80})?(?:Error|Exception|Failure|Fault)\w{0,20}\s*[:(\[]"
    r"|(?:error|exception|fatal)\b"
    r"|Traceback \(most recent call last\)"
    r"|exitcode:\s*[1-9]"
    r"|(?:Address:[^\n]{0,2000}\n)?Title:\s*Error\s*\d{3}"
    r"|#+\s*Error\s*\d{3}"
    r"|HTTP/\d(?:\.\d)?\s+[45]\d\d"
    r"|[45]\d\d\s+(?:Client|Server)\s+Error"
    r"|\{\s*[\"']error[\"']\s*:"
    r"|(?:failed to|unable to|could not|request failed|permission denied|access denied|timed out|timeout)\b"
    r"|(?:bash|sh|zsh): [^\n]{1,200}: (?:command not found|Permission denied|No such file)",
    re.IGNORECASE,
)
TAIL_ERROR_LINE_RE = re.compile(
    r"^(?:[A-Za-z_][\w.]{0,80}\.)?[A-Z]\w{0,60}(?:Error|Exception|Exit|Interrupt)(?::|$)"
    r"|^Traceback \(most recent call last\)|^(?:Error|ERROR|Fatal|FATAL):"
    r"|: command not found$|^Segmentation fault|^Killed$"
)


def window(text: str) -> str:
    """`text`, or its head and tail joined by an ellipsis when it is longer than two windows."""
    if len(text) <= 2 * WINDOW_CHARS:
        return text
    return text[:WINDOW_CHARS] + "\n…\n" + text[-WINDOW_CHARS:]


def _as_status(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and 100 <= value <= 599:
        return value
    if isinstance(value, str) and value.strip().isdigit() and 100 <= int(value.strip()) <= 599:
        return int(value.strip())
    return None


def _dumps(value: Any) -> str:
    try:
        return json.dumps(value, default=str, ensure_ascii=False)[: 2 * WINDOW_CHARS]
    except (TypeError, ValueError):
        return str(value)[: 2 * WINDOW_CHARS]


def _is_set(value: Any) -> bool:
    if value is None or value is False:
        return False
    if isinstance(value, str):
        return value.strip().casefold() not in NULLISH
    return not (isinstance(value, (list, dict, tuple)) and not value)


def _dict_signals(payload: dict[str, Any], depth: int = 0) -> tuple[bool, int | None, list[str]]:
    """(failed, status, texts) read from a dict payload's error, status and message keys."""
    lowered = {str(k).casefold(): v for k, v in payload.items()}
    failed, status, texts = False, None, []
    for key in ERROR_KEYS:
        value = lowered.get(key)
        if _is_set(value):
            failed = True
            if isinstance(value, dict) and depth < 3:
                _, inner_status, inner_texts = _dict_signals(value, depth + 1)
                status = status or inner_status
                texts.extend(inner_texts)
            texts.append(value if isinstance(value, str) else _dumps(value))
    envelope = len(lowered) <= ENVELOPE_MAX_KEYS  # a small status envelope, not a data record
    for key in STATUS_KEYS:
        value = lowered.get(key)
        code = _as_status(value)
        if code is not None and status is None and (key != "code" or envelope):
            status = code
        elif envelope and isinstance(value, str) and value.strip().casefold() in FAILED_STATUS_WORDS:
            failed = True
    if lowered.get("success") is False or lowered.get("ok") is False:
        failed = True
    if failed or (status is not None and status >= 400):
        texts.extend(v for k in MESSAGE_KEYS if isinstance(v := lowered.get(k), str) and v.strip())
    return failed, status, texts


def _text_looks_failed(text: str) -> bool:
    head = text[:HEAD_PROBE_CHARS].lstrip()
    if HEAD_ERROR_RE.match(head):
        return True
    tail_lines = [line for line in text[-TAIL_PROBE_CHARS:].splitlines() if line.strip()][-TAIL_LINES:]
    return any(TAIL_ERROR_LINE_RE.search(line) for line in tail_lines)


def error_signals(call: ToolCall) -> tuple[bool, int | None, list[tuple[str, str]]]:
    """(failed, status_code, [(field, text), ...]) for one call; texts are windowed."""
    status = _as_status(call.status_code)
    texts: list[tuple[str, str]] = []
    failed = status is not None and status >= 400
    if isinstance(call.error, str) and _is_set(call.error):
        failed = True
        texts.append(("error", window(call.error)))
    output = call.output
    if isinstance(output, dict):
        dict_failed, dict_status, dict_texts = _dict_signals(output)
        status = status if status is not None else dict_status
        failed = failed or dict_failed or (dict_status is not None and dict_status >= 400)
        if failed:
            texts.extend(("output", window(t)) for t in dict_texts)
            texts.append(("output", _dumps(output)))
    elif isinstance(output, str) and output.strip():
        if _text_looks_failed(output):
            failed = True
            texts.append(("output", window(output)))
        elif failed:
            texts.append(("output", window(output)))
    elif output is not None and failed:
        texts.append(("output", _dumps(output)))
    return failed, status, texts
