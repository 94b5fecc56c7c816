"""Request-id middleware: binds request_id (X-Request-ID or a new one) to every log line of a request."""

from __future__ import annotations

import uuid

import structlog
from litestar.types import ASGIApp, Message, Receive, Scope, Send

HEADER = b"x-request-id"


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(HEADER, b"").decode("latin-1")
        request_id = given[:64] if given and given.isprintable() else uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (HEADER, request_id.encode())]
            await send(message)

        await app(scope, receive, send_with_id)

    return middleware
