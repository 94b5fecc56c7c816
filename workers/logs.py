"""One logging configuration for the API, the worker and the CLI: structlog, with stdlib logging beside it.

JSON lines when stdout is not a terminal, coloured console lines when it is. misstep's own events are
rendered by structlog and written straight to the stream (no stdlib LogRecord, handler or formatter on the
way: a run's log line costs a few microseconds, which matters in the API's inline lane). arq's, uvicorn's and
Litestar's stdlib loggers go through a handler that runs the same processors and renderer, so both kinds of
line look alike, and request_id / run_id bound with structlog's contextvars appear on every line written
while they are bound.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from typing import TextIO

import msgspec
import structlog

from workers.settings import Settings

_SHARED_PROCESSORS: list[structlog.types.Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


# Tracebacks as structured frames, without each frame's local variables: structlog's dict_tracebacks shows
# them by default, and a local may hold a secret (a request's own LLM key, an API key being checked).
_DICT_TRACEBACKS = structlog.processors.ExceptionRenderer(
    structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
)

_encode_json = msgspec.json.Encoder(enc_hook=repr).encode


def _json_line(event: dict[str, object], **_: object) -> str:
    """One log line as JSON, by msgspec (several times faster than json.dumps); odd values become repr()."""
    return _encode_json(event).decode()


class _NamedWriteLogger(structlog.WriteLogger):
    """structlog's WriteLogger with the name given to `structlog.get_logger(name)` (for add_logger_name), that
    never lets a failed write (a closed or broken stdout) reach the caller, as a stdlib handler would not."""

    def __init__(self, file: TextIO, name: str) -> None:
        super().__init__(file)
        self.name = name

    def msg(self, message: str) -> None:
        with contextlib.suppress(OSError, ValueError):  # BrokenPipeError, "I/O operation on closed file"
            super().msg(message)

    log = debug = info = warn = warning = msg
    fatal = failure = err = error = critical = exception = msg


def configure_logging(settings: Settings, *, stream: object = None) -> None:
    """Send structlog's and stdlib logging's lines, rendered alike, to one stream; safe to call more than once."""
    out = stream if stream is not None else sys.stdout
    as_json = settings.log_json if settings.log_json is not None else not getattr(out, "isatty", bool)()
    renderer: list[structlog.types.Processor] = (
        [_DICT_TRACEBACKS, structlog.processors.JSONRenderer(serializer=_json_line)]
        if as_json
        else [structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)]  # no locals either
    )
    level = getattr(logging, settings.log_level)
    structlog.configure(
        processors=[*_SHARED_PROCESSORS, *renderer],
        logger_factory=lambda *args: _NamedWriteLogger(out, args[0] if args else ""),  # type: ignore[arg-type]
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=settings.env != "test",
    )
    handler = logging.StreamHandler(out)  # type: ignore[arg-type]
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=_SHARED_PROCESSORS,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderer],
        )
    )
    logging.basicConfig(handlers=[handler], level=level, force=True)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "arq", "litestar"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
