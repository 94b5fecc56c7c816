"""workers/logs.py: one JSON line per event from structlog and stdlib loggers alike, no secrets from tracebacks."""

from __future__ import annotations

import io
import json
import logging

import pytest
import structlog

from workers.logs import configure_logging
from workers.settings import Settings


@pytest.fixture
def stream():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    out = io.StringIO()
    configure_logging(Settings(env="test", log_json=True, log_level="INFO"), stream=out)  # loggers not cached
    yield out
    structlog.contextvars.clear_contextvars()
    structlog.reset_defaults()  # leave logging as the other tests found it
    root.handlers[:] = handlers
    root.setLevel(level)


def lines(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_structlog_and_stdlib_lines_carry_the_same_fields(stream):
    structlog.contextvars.bind_contextvars(request_id="req-1")
    structlog.get_logger("misstep.test").info("run.completed", items=3)
    structlog.get_logger("misstep.test").debug("below.the.level")
    logging.getLogger("uvicorn.error").warning("stdlib %s", "line")

    ours, theirs = lines(stream)
    assert ours["event"] == "run.completed" and ours["items"] == 3
    assert (ours["logger"], ours["level"], ours["request_id"]) == ("misstep.test", "info", "req-1")
    assert theirs["event"] == "stdlib line"
    assert (theirs["logger"], theirs["level"], theirs["request_id"]) == ("uvicorn.error", "warning", "req-1")
    assert ours["timestamp"].endswith("Z") and theirs["timestamp"].endswith("Z")


def test_a_logged_traceback_leaves_local_variables_out(stream):
    def call_provider(api_key: str) -> None:
        raise RuntimeError("provider refused the request")

    try:
        call_provider("sk-live-do-not-log-me")
    except RuntimeError:
        structlog.get_logger("misstep.test").exception("judge.failed")
    try:
        call_provider("sk-live-stdlib-secret")
    except RuntimeError:
        logging.getLogger("arq").exception("job failed")

    ours, theirs = lines(stream)
    for line in (ours, theirs):
        frames = line["exception"][0]["frames"]
        assert any(frame["name"] == "call_provider" for frame in frames)
    assert "sk-live" not in stream.getvalue()


def test_a_closed_stream_does_not_fail_the_caller(stream):
    stream.close()
    structlog.get_logger("misstep.test").info("after.close")  # must not raise


async def _answer_204(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


@pytest.mark.parametrize("log_access", [True, False])
async def test_the_access_line_follows_access_log(stream, log_access: bool) -> None:
    from app.request_id import request_id_middleware

    app = request_id_middleware(_answer_204, log_access=log_access)
    scope = {"type": "http", "method": "GET", "path": "/healthz", "headers": [], "client": ("10.0.0.7", 5100)}
    sent: list[dict[str, object]] = []

    async def send(message):
        sent.append(message)

    await app(scope, None, send)
    assert (b"x-request-id", scope["state"]["request_id"].encode()) in sent[0]["headers"]
    access = [e for e in lines(stream) if e["event"] == "http.request"]
    if log_access:
        assert [(e["method"], e["path"], e["status"], e["client"]) for e in access] == [
            ("GET", "/healthz", 204, "10.0.0.7:5100")
        ]
    else:
        assert access == []


def test_a_console_traceback_leaves_local_variables_out_too() -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    out = io.StringIO()
    configure_logging(Settings(env="test", log_json=False, log_level="INFO"), stream=out)
    try:

        def call_provider(api_key: str) -> None:
            raise RuntimeError("provider refused the request")

        secret = "-".join(("sk", "live", "console"))  # not in a source line the traceback quotes
        try:
            call_provider(secret)
        except RuntimeError:
            structlog.get_logger("misstep.test").exception("judge.failed")
    finally:
        structlog.reset_defaults()
        root.handlers[:] = handlers
        root.setLevel(level)
    assert "judge.failed" in out.getvalue() and "call_provider" in out.getvalue()
    assert "sk-live" not in out.getvalue()
