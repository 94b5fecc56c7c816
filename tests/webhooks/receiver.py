"""A loopback webhook receiver for tests: a threaded HTTP server that records every request.

It answers from a script of status codes (then 200); a 3xx answer carries a Location pointing at
`/redirected` on the same server, so a followed redirect would show up in `requests`. With `tls` (a
server SSLContext) it speaks https.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import msgspec


class Received(msgspec.Struct, frozen=True):
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes


class Receiver:
    """Records requests on 127.0.0.1:<free port>; use as a context manager."""

    def __init__(self, script: Iterable[int] = (), *, tls: ssl.SSLContext | None = None) -> None:
        self.script = list(script)
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                status = receiver._record(Received(self.command, self.path, headers, body))
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", f"{receiver.base_url}/redirected")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            do_POST = do_GET = do_PUT = _handle

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self.base_url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.url = f"{self.base_url}/hook"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    def _record(self, received: Received) -> int:
        with self._lock:
            self.requests.append(received)
            return self.script.pop(0) if self.script else 200

    def received(self, path: str = "/hook") -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def wait_for(self, count: int, timeout_s: float = 20.0) -> list[Received]:
        """The requests to /hook once there are at least `count` (AssertionError after `timeout_s`)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            got = self.received()
            if len(got) >= count:
                return got
            time.sleep(0.02)
        raise AssertionError(f"expected {count} webhook request(s), got {len(self.received())}")

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
