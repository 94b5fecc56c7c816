"""Local Redis for `misstep run` and the test suite: use REDIS_URL if it answers, else start one.

A Redis started here runs as a child process on 127.0.0.1 without persistence and is stopped with
its owner. When no redis-server binary exists, the error names the package to install.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from urllib.parse import urlparse

import redis


class RedisUnavailableError(RuntimeError):
    """No Redis answers and none can be started here."""


def answers(url: str, timeout_s: float = 0.5) -> bool:
    """Whether a Redis at `url` answers PING."""
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError, ValueError):
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_redis(port: int, *, timeout_s: float = 10.0) -> subprocess.Popen[bytes]:
    """Start redis-server on 127.0.0.1:`port` (no persistence) and wait until it answers."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RedisUnavailableError(
            "no Redis answers and redis-server is not installed: install it "
            "(Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or set REDIS_URL"
        )
    workdir = tempfile.mkdtemp(prefix="misstep-redis-")
    process = subprocess.Popen(
        [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
            "--maxmemory-policy",
            "noeviction",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RedisUnavailableError(f"redis-server exited with code {process.returncode} on port {port}")
        if answers(url, 0.2):
            return process
        time.sleep(0.05)
    process.kill()
    raise RedisUnavailableError(f"redis-server on port {port} did not answer within {timeout_s}s")


def ensure_redis(url: str) -> tuple[str, subprocess.Popen[bytes] | None]:
    """A Redis URL that answers: `url` itself, or a local server started on its port (or a free one)."""
    if answers(url):
        return url, None
    parsed = urlparse(url)
    port = parsed.port or 6379
    if parsed.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise RedisUnavailableError(f"Redis at {parsed.hostname}:{port} does not answer (REDIS_URL)")
    try:
        process = start_redis(port)
    except RedisUnavailableError:
        port = free_port()
        process = start_redis(port)
    db = parsed.path.lstrip("/") or "0"
    return f"redis://127.0.0.1:{port}/{db}", process
