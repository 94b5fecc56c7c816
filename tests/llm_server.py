"""A loopback LLM server for tests and benchmarks: OpenAI chat completions and Anthropic messages over real HTTP.

It listens on 127.0.0.1 (a free port) in a background thread of the test process, so the real openai and
anthropic SDKs (and worker subprocesses) talk to it over TCP. It records every request, answers with a
scriptable responder, and injects faults (error statuses with Retry-After, delays, malformed or truncated
answers) from a FIFO queue, one fault per request.

Request validation, as the real APIs do, comes before faults and consumes none: a body that is not JSON, a
missing model/messages (or max_tokens for Anthropic), sampling parameters sent with anthropic-version
2026-10-21 (which rejects them), and json_schema requests while `reject_json_schema` is set are answered 400.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Protocol = Literal["openai", "anthropic"]


@dataclass
class RecordedCall:
    """One request that reached the server (faulted ones included)."""

    protocol: Protocol
    path: str
    headers: dict[str, str]  # lower-case header names (authorization, x-api-key, ...)
    body: dict[str, Any]  # the decoded request JSON
    model: str
    system: str  # openai: system/developer messages; anthropic: `system` (and system-role messages)
    user: str  # all user-message text joined with "\n"
    schema: dict[str, Any] | None  # response_format.json_schema.schema, or the forced tool's input_schema
    schema_name: str | None
    json_mode: bool  # openai response_format {"type": "json_object"}


Responder = Callable[[RecordedCall], str]


@dataclass(frozen=True)
class Fault:
    """What to do to one request instead of (or on top of) answering it normally."""

    kind: Literal["status", "delay", "malformed", "truncated"]
    code: int = 0
    retry_after: float | None = None
    retry_after_ms: int | None = None
    seconds: float = 0.0
    text: str = ""

    @staticmethod
    def status(code: int, *, retry_after: float | None = None, retry_after_ms: int | None = None) -> Fault:
        """Answer `code` with an error body in the protocol's own format (and Retry-After headers if given)."""
        return Fault(kind="status", code=code, retry_after=retry_after, retry_after_ms=retry_after_ms)

    @staticmethod
    def delay(seconds: float) -> Fault:
        """Answer normally, but only after `seconds`."""
        return Fault(kind="delay", seconds=seconds)

    @staticmethod
    def malformed(text: str = "Sure! Here is my verdict: {not json") -> Fault:
        """Answer 200 with this content instead of the responder's."""
        return Fault(kind="malformed", text=text)

    @staticmethod
    def truncated() -> Fault:
        """Answer 200 with the responder's text cut in half, marked as cut off by the token limit."""
        return Fault(kind="truncated")


def count_tokens(text: str) -> int:
    """A deterministic token estimate (about four characters a token) used for the usage fields."""
    return (len(text) + 3) // 4


def schema_instance(schema: dict[str, Any]) -> Any:
    """A minimal valid instance of a JSON schema (object/array/string/number/integer/boolean/enum/const/$ref)."""
    return _instance(schema, schema)


def default_responder(call: RecordedCall) -> str:
    return json.dumps(schema_instance(call.schema)) if call.schema else "{}"


def _instance(schema: dict[str, Any], root: dict[str, Any]) -> Any:
    if "$ref" in schema:
        target: Any = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            if part:
                target = target[part]
        return _instance(target, root)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for combinator in ("anyOf", "oneOf", "allOf"):
        if schema.get(combinator):
            return _instance(schema[combinator][0], root)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    return _typed_instance(kind, schema, root)


def _typed_instance(kind: str, schema: dict[str, Any], root: dict[str, Any]) -> Any:
    if kind == "object":
        properties = schema.get("properties", {})
        return {name: _instance(properties.get(name, {}), root) for name in schema.get("required", [])}
    if kind == "array":
        item = schema.get("items", {})
        return [_instance(item, root) for _ in range(schema.get("minItems", 0))]
    if kind in ("integer", "number"):
        if "minimum" in schema:
            value = schema["minimum"]
        elif "exclusiveMinimum" in schema:
            value = schema["exclusiveMinimum"] + 1
        else:
            value = min(0, schema.get("maximum", 0))
        return int(value) if kind == "integer" else value
    if kind == "string":
        return "x" * schema.get("minLength", 0)
    if kind == "boolean":
        return False
    return None


def _text_of(content: Any) -> str:
    """Message content (a string or a list of text parts/blocks) as plain text."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def _record(protocol: Protocol, path: str, headers: dict[str, str], body: dict[str, Any]) -> RecordedCall:
    messages = body.get("messages") if isinstance(body.get("messages"), list) else []
    by_role: dict[str, list[str]] = {"system": [], "user": []}
    for message in messages:
        if isinstance(message, dict):
            role = "system" if message.get("role") in ("system", "developer") else message.get("role")
            if role in by_role:
                by_role[role].append(_text_of(message.get("content")))
    schema, schema_name, json_mode = None, None, False
    if protocol == "openai":
        response_format = body.get("response_format") or {}
        json_mode = response_format.get("type") == "json_object"
        if response_format.get("type") == "json_schema":
            spec = response_format.get("json_schema") or {}
            schema, schema_name = spec.get("schema"), spec.get("name")
    else:
        by_role["system"].insert(0, _text_of(body.get("system", "")))
        choice = body.get("tool_choice") or {}
        if choice.get("type") == "tool":
            schema_name = choice.get("name")
            tool = next((t for t in body.get("tools") or [] if t.get("name") == schema_name), {})
            schema = tool.get("input_schema")
    return RecordedCall(
        protocol=protocol,
        path=path,
        headers=headers,
        body=body,
        model=str(body.get("model", "")),
        system="\n".join(s for s in by_role["system"] if s),
        user="\n".join(by_role["user"]),
        schema=schema,
        schema_name=schema_name,
        json_mode=json_mode,
    )


def _error_body(protocol: Protocol, code: int, call: RecordedCall | None, message: str | None = None) -> dict:
    model = call.model if call else ""
    key = ""
    if call:
        key = call.headers.get("x-api-key") or call.headers.get("authorization", "").removeprefix("Bearer ")
    # A hostile-but-real-world case: the error message echoes the key it refused.
    kind, text = {
        400: ("invalid_request_error", "Invalid request."),
        401: ("authentication_error", f"Incorrect API key provided: {key}."),
        403: ("permission_error", "Your API key does not have permission to use the specified resource."),
        404: ("not_found_error", f"The model `{model}` does not exist or you do not have access to it."),
        408: ("timeout_error", "Request timed out."),
        429: ("rate_limit_error", "Rate limit reached for requests. Please try again later."),
        529: ("overloaded_error", "Overloaded"),
    }.get(code, ("api_error" if code >= 500 else "invalid_request_error", f"Error {code}."))
    text = message or text
    if protocol == "anthropic":
        return {"type": "error", "error": {"type": kind, "message": text}, "request_id": "req_loopback"}
    openai_type = {"api_error": "server_error", "rate_limit_error": "requests"}.get(kind, "invalid_request_error")
    openai_code = {401: "invalid_api_key", 404: "model_not_found", 429: "rate_limit_exceeded"}.get(code)
    return {"error": {"message": text, "type": openai_type, "param": None, "code": openai_code}}


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 256
    owner: LLMServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up (timeouts, closed pools) are normal here; stay quiet about them."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.owner._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.owner._track(self.connection, add=False)

    def do_POST(self) -> None:
        self.server.owner._handle(self)

    def do_GET(self) -> None:
        self.server.owner._send(self, 404, {"error": {"message": "not found"}})

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class _Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class LLMServer:
    """The loopback server. `start()` (or `with LLMServer() as server:`) before use, `stop()` after."""

    def __init__(self, responder: Responder | None = None, *, latency_s: float = 0.0) -> None:
        self.responder: Responder = responder or default_responder
        self.latency_s = latency_s
        self.reject_json_schema = False
        self.calls: list[RecordedCall] = []
        self.input_tokens = 0
        self.output_tokens = 0
        self.peak_concurrency = 0
        self._in_flight = 0
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._ids = itertools.count(1)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.openai_base_url = ""
        self.anthropic_base_url = ""

    # lifecycle

    def start(self) -> LLMServer:
        self._stopping.clear()
        httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        httpd.owner = self
        port = httpd.server_address[1]
        self.openai_base_url = f"http://127.0.0.1:{port}/v1"
        self.anthropic_base_url = f"http://127.0.0.1:{port}"
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stopping.set()  # wakes delayed answers, which then hang up instead of answering
        self._httpd.shutdown()
        self._httpd.server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None

    def __enter__(self) -> LLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # scripting

    def inject(self, *faults: Fault) -> None:
        """Queue faults (FIFO); each request consumes at most one."""
        with self._lock:
            self._faults.extend(faults)

    def reset(self) -> None:
        """Clear recorded calls, counters and queued faults."""
        with self._lock:
            self.calls.clear()
            self._faults.clear()
            self.input_tokens = self.output_tokens = 0
            self.peak_concurrency = self._in_flight

    # request handling (handler threads)

    def _track(self, connection: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def _handle(self, handler: _Handler) -> None:
        path = handler.path.split("?", 1)[0]
        raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        if path.endswith("/chat/completions"):
            protocol: Protocol = "openai"
        elif path.endswith("/messages"):
            protocol = "anthropic"
        else:
            self._send(handler, 404, {"error": {"message": f"no route {path}"}})
            return
        try:
            body = json.loads(raw)
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except ValueError:
            self._send(handler, 400, _error_body(protocol, 400, None, "The request body is not valid JSON."))
            return
        headers = {name.lower(): value for name, value in handler.headers.items()}
        call = _record(protocol, path, headers, body)
        with self._lock:
            self.calls.append(call)
            self._in_flight += 1
            self.peak_concurrency = max(self.peak_concurrency, self._in_flight)
        try:
            answer = self._answer(call)
        finally:
            with self._lock:
                self._in_flight -= 1
        if answer is None:  # stopping: hang up
            handler.close_connection = True
            return
        self._send(handler, answer.status, answer.body, answer.headers)

    def _answer(self, call: RecordedCall) -> _Answer | None:
        invalid = self._invalid(call)
        if invalid is not None:
            return _Answer(400, _error_body(call.protocol, 400, call, invalid))
        with self._lock:
            fault = self._faults.popleft() if self._faults else None
        wait = self.latency_s + (fault.seconds if fault and fault.kind == "delay" else 0.0)
        if wait > 0 and self._stopping.wait(wait):
            return None
        if fault is not None and fault.kind == "status":
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = f"{fault.retry_after:g}"
            if fault.retry_after_ms is not None:
                headers["retry-after-ms"] = str(fault.retry_after_ms)
            return _Answer(fault.code, _error_body(call.protocol, fault.code, call), headers)
        truncated = fault is not None and fault.kind == "truncated"
        if fault is not None and fault.kind == "malformed":
            text = fault.text
        else:
            try:
                text = self.responder(call)
            except Exception as exc:  # a broken test responder: say so in a 500 rather than hang up
                message = f"responder failed: {type(exc).__name__}: {exc}"
                return _Answer(500, _error_body(call.protocol, 500, call, message), {"x-should-retry": "false"})
            if truncated:
                text = text[: len(text) // 2]
        input_tokens, output_tokens = count_tokens(call.system) + count_tokens(call.user), count_tokens(text)
        with self._lock:
            self.input_tokens += input_tokens
            self.output_tokens += output_tokens
        build = self._openai_body if call.protocol == "openai" else self._anthropic_body
        return _Answer(200, build(call, text, truncated, input_tokens, output_tokens))

    def _invalid(self, call: RecordedCall) -> str | None:
        """The 400 message for a request the real API would refuse, else None."""
        body = call.body
        if not call.model or not isinstance(body.get("messages"), list):
            return "model and messages are required."
        if call.protocol == "anthropic":
            if not isinstance(body.get("max_tokens"), int):
                return "max_tokens: Field required"
            if call.headers.get("anthropic-version", "") >= "2026-10-21":
                for name in ("temperature", "top_p", "top_k"):
                    if name in body:
                        return f"{name}: Extra inputs are not permitted"
        elif self.reject_json_schema and (body.get("response_format") or {}).get("type") == "json_schema":
            return "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model."
        return None

    def _openai_body(self, call: RecordedCall, text: str, truncated: bool, prompt: int, completion: int) -> dict:
        return {
            "id": f"chatcmpl-loopback-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": call.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "refusal": None},
                    "logprobs": None,
                    "finish_reason": "length" if truncated else "stop",
                }
            ],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
        }

    def _anthropic_body(self, call: RecordedCall, text: str, truncated: bool, prompt: int, completion: int) -> dict:
        tool_input: Any = None
        if call.schema_name and not truncated:
            try:
                tool_input = json.loads(text)
            except ValueError:
                tool_input = None
        if isinstance(tool_input, dict):
            block: dict[str, Any] = {
                "type": "tool_use",
                "id": f"toolu_loopback_{next(self._ids)}",
                "name": call.schema_name,
                "input": tool_input,
            }
            stop_reason = "tool_use"
        else:
            block = {"type": "text", "text": text}
            stop_reason = "max_tokens" if truncated else "end_turn"
        return {
            "id": f"msg_loopback_{next(self._ids)}",
            "type": "message",
            "role": "assistant",
            "model": call.model,
            "content": [block],
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {"input_tokens": prompt, "output_tokens": completion},
        }

    def _send(self, handler: _Handler, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(body).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(payload)))
            for name, value in (headers or {}).items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(payload)
            handler.wfile.flush()
        except OSError:  # the client gave up (timeout) and closed the connection
            handler.close_connection = True
