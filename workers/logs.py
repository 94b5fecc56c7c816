"""One logging configuration for the API, the worker and the CLI: structlog in front of stdlib logging.

JSON lines when stdout is not a terminal, coloured console lines when it is. arq's, uvicorn's and
Litestar's stdlib loggers go through the same pipeline, so request_id / run_id bound with structlog's
contextvars appear on every line written while they are bound.
"""

from __future__ import annotations

import logging
import sys

import msgspec
import structlog

from workers.settings import Settings

_SHARED_PROCESSORS: list[structlog.types.Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


_encode_json = msgspec.json.Encoder(enc_hook=repr).encode


def _json_line(event: dict[str, object], **_: object) -> str:
    """One log line as JSON, by msgspec (several times faster than json.dumps); odd values become repr()."""
    return _encode_json(event).decode()


def configure_logging(settings: Settings, *, stream: object = None) -> None:
    """Route structlog and stdlib logging through one handler; safe to call more than once."""
    out = stream if stream is not None else sys.stdout
    as_json = settings.log_json if settings.log_json is not None else not getattr(out, "isatty", bool)()
    renderer: list[structlog.types.Processor] = (
        [structlog.processors.dict_tracebacks, structlog.processors.JSONRenderer(serializer=_json_line)]
        if as_json
        else [structlog.dev.ConsoleRenderer()]
    )
    level = getattr(logging, settings.log_level)
    structlog.configure(
        processors=[*_SHARED_PROCESSORS, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
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
