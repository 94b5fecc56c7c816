"""A small HTTP/1.1 load generator over raw asyncio keep-alive connections, for floods and benchmarks.

httpx spends more CPU per request than the server under test does, which on a 2-core machine makes
the client the bottleneck; this sends pre-encoded requests and parses only the status line, headers
and Content-Length body.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float


def encode_post(host: str, path: str, body: bytes, headers: dict[str, str] | None = None) -> bytes:
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    )
    return head.encode() + body


def encode_get(host: str, path: str, headers: dict[str, str] | None = None) -> bytes:
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode()


async def _read_reply(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body


async def send_all(base_url: str, requests: Sequence[bytes], concurrency: int) -> list[Reply]:
    """Send every pre-encoded request over `concurrency` keep-alive connections; replies in order."""
    url = urlsplit(base_url)
    replies: list[Reply | None] = [None] * len(requests)
    next_index = iter(range(len(requests)))

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        try:
            for i in next_index:
                started = time.perf_counter()
                writer.write(requests[i])
                status, headers, body = await _read_reply(reader)
                replies[i] = Reply(status, headers, body, time.perf_counter() - started)
                if headers.get("connection", "").lower() == "close":
                    writer.close()
                    reader, writer = await asyncio.open_connection(url.hostname, url.port)
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(min(concurrency, len(requests)))))
    return [r for r in replies if r is not None]
