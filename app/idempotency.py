"""Idempotency-Key on every POST under /v2/ and /api/ (every request that creates work), app-wide.

`replay_or_claim` runs in the before-request hook after authentication and the rate limit. With an
Idempotency-Key header it fingerprints the request (method, path, query and the body, JSON compared
canonically) and, per (tenant, key):

- first use: claims the key and lets the request run; `record_response` (a before-send hook) stores
  the answer's status, content type and body if it was 2xx (anything else releases the key, so a
  failed request can be retried);
- same key, same request, answered: replays the stored answer (header `Idempotent-Replayed: true`),
  even while the job it created is still running;
- same key, same request, still running: waits up to WAIT_S for its answer, else 409;
- same key, different request: 422 naming the Idempotency-Key header.
Keys are remembered for IDEMPOTENCY_TTL_S (a day by default).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import msgspec
import structlog
from litestar import Request, Response
from litestar.types import Message, Scope
from redis.exceptions import RedisError

from app.auth import caller_of
from app.errors import ApiError
from app.services import Services
from workers.idempotency import Claim, IdempotencyStore, Stored, digest

log = structlog.get_logger("misstep.idempotency")

HEADER = "Idempotency-Key"
PREFIXES = ("/v2/", "/api/")
MAX_KEY_CHARS = 255
WAIT_S = 5.0  # a concurrent duplicate waits this long for the first request's answer, then gets 409
POLL_S = 0.05
MAX_STORED_BODY = 1024 * 1024  # larger answers are not remembered (create answers are small)
_STATE_KEY = "idempotency"
_canonical = msgspec.json.Encoder(order="sorted").encode


def applies(request: Request[Any, Any, Any]) -> bool:
    return request.method == "POST" and request.url.path.startswith(PREFIXES)


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    """What makes two requests the same request: method, path, query and body (JSON key order ignored)."""
    try:
        canonical = _canonical(msgspec.json.decode(body)) if body else b""
    except msgspec.DecodeError:
        canonical = body
    return digest(b"\n".join([method.encode(), path.encode(), query.encode(), canonical]))


def _key_of(request: Request[Any, Any, Any]) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    key = key.strip().strip('"')  # a structured-field string may arrive quoted
    if not 1 <= len(key) <= MAX_KEY_CHARS or not key.isascii() or not key.isprintable():
        raise ApiError(
            400, "VALIDATION_ERROR", f"{HEADER} must be 1-{MAX_KEY_CHARS} printable ASCII characters", field=HEADER
        )
    return key


def _replay(stored: Stored) -> Response[bytes]:
    return Response(
        stored.body,
        status_code=stored.status,
        media_type=stored.content_type,
        headers={"Idempotent-Replayed": "true"},
    )


async def replay_or_claim(request: Request[Any, Any, Any], svc: Services) -> Response[bytes] | None:
    """The stored answer to replay, or None to run the request (having claimed its key, if it has one).

    Raises:
        ApiError: 400 for a malformed key, 422 for a key reused with another request, 409 when the
            first request with the key is still running after WAIT_S.
    """
    if not applies(request):
        return None
    key = _key_of(request)
    if key is None:
        return None
    tenant = caller_of(request).tenant
    mine = fingerprint(request.method, request.url.path, request.url.query or "", await request.body())
    store = svc.idempotency
    deadline = time.monotonic() + WAIT_S
    while True:
        held = await store.claim(tenant, key, mine)
        if isinstance(held, Claim):
            request.scope["state"][_STATE_KEY] = _Recorder(store, held)
            return None
        if held.fingerprint != mine:
            raise ApiError(
                422,
                "IDEMPOTENCY_KEY_REUSED",
                f"{HEADER} was already used for a different request; send a new key for a new request",
                field=HEADER,
            )
        if isinstance(held, Stored):
            log.info("idempotency.replayed", path=request.url.path, status=held.status)
            return _replay(held)
        if time.monotonic() >= deadline:
            raise ApiError(
                409,
                "REQUEST_IN_PROGRESS",
                f"a request with this {HEADER} is still being processed; retry shortly",
                field=HEADER,
                headers={"Retry-After": "1"},
            )
        await asyncio.sleep(POLL_S)


class _Recorder:
    """Collects the claimed request's answer as it is sent, then stores (2xx) or releases the key."""

    def __init__(self, store: IdempotencyStore, claim: Claim) -> None:
        self.store, self.claim = store, claim
        self.status = 0
        self.content_type = "application/json"
        self.chunks: list[bytes] = []
        self.size = 0
        self.finished = False

    async def feed(self, message: Message) -> None:
        if self.finished:
            return
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            for name, value in message.get("headers", []):
                if name.lower() == b"content-type":
                    self.content_type = value.decode("latin-1")
            return
        if message["type"] != "http.response.body":
            return
        body = message.get("body", b"")
        self.size += len(body)
        if self.size <= MAX_STORED_BODY:
            self.chunks.append(body)
        if not message.get("more_body", False):
            self.finished = True
            await self._finish()

    async def _finish(self) -> None:
        try:
            if 200 <= self.status < 300 and self.size <= MAX_STORED_BODY:
                body = b"".join(self.chunks)
                await self.store.complete(self.claim, status=self.status, content_type=self.content_type, body=body)
            else:
                await self.store.release(self.claim)
        except RedisError as exc:  # the answer still goes out; the claim lapses on its own
            log.warning("idempotency.unrecorded", error=f"{type(exc).__name__}: {exc}")


async def record_response(message: Message, scope: Scope) -> None:
    """Before-send hook: remember the answer of a request that claimed an Idempotency-Key."""
    recorder = scope.get("state", {}).get(_STATE_KEY)
    if isinstance(recorder, _Recorder):
        await recorder.feed(message)
