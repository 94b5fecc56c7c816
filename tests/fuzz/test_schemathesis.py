"""schemathesis over every operation of the OpenAPI document a running misstep serves at /schema/openapi.json.

Both API families (Valiqor `/v2/...`, ThinkHive `/api/...`, the trace uploads and OTLP) and the ops routes
are generated from the live document, so a route added later is fuzzed without touching this file. Each
case is checked for: no 5xx, and a response body that matches the documented schema for its status.

FUZZ_EXAMPLES (default 10) bounds the examples per operation so `make test` stays fast, and the pass is
derandomized there (the same cases every run). `make fuzz` runs the same file with FUZZ_EXAMPLES=200,
schemathesis' coverage phase (boundary values of every parameter) and a new random seed each time; a
failure names its FUZZ_SEED, and `make fuzz FUZZ_SEED=<n>` replays it.

Nothing generated may leave the machine: callback URLs are pointed at a closed loopback port (allowlisted
for the SSRF guard) and a request's own LLM key is dropped, so no webhook or LLM call is ever aimed at an
outside address.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.conftest import REPO, Service, start_service
from workers.localredis import free_port

pytestmark = [pytest.mark.integration, pytest.mark.fuzz]

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
_SEED = os.environ.get("FUZZ_SEED", "")  # unset: derandomized; "random": a new seed; a number: that seed
SEED = random.getrandbits(32) if _SEED == "random" else int(_SEED) if _SEED else None
COVERAGE = os.environ.get("FUZZ_COVERAGE", "1" if SEED is not None else "0") == "1"
API_KEY = "vq_test_0123456789abcdef"
SINK = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens: deliveries fail fast, on loopback
# Body keys that would make the service call out: a webhook target, or an LLM judged with the caller's key.
URL_KEYS = frozenset({"callback_url", "callbackUrl", "webhook_url", "webhookUrl"})
OUTBOUND_KEYS = frozenset({"openai_api_key", "openaiApiKey"})


@pytest.fixture(scope="module")
def fuzz_service(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    running = start_service(
        redis_url,
        tmp_path_factory.mktemp("fuzz"),
        API_KEY=API_KEY,
        WEBHOOK_ALLOWED_HOSTS="127.0.0.1",
        WEBHOOK_TIMEOUT_S="0.5",
        SYNC_WAIT_S="1",
        # The fuzzer should reach the handlers, not the rate limiter (whose 429s are checked elsewhere).
        RATE_SUBMIT_PER_S="100000",
        RATE_SUBMIT_BURST="1000000",
        RATE_INGEST_PER_S="100000",
        RATE_INGEST_BURST="1000000",
        RATE_READ_PER_S="100000",
        RATE_READ_BURST="1000000",
        # Defence in depth: an HTTP client that still tried to reach out goes to a closed loopback port.
        HTTP_PROXY="http://127.0.0.1:9",
        HTTPS_PROXY="http://127.0.0.1:9",
        NO_PROXY="127.0.0.1,localhost",
        OPENAI_BASE_URL="http://127.0.0.1:9/v1",
        ANTHROPIC_BASE_URL="http://127.0.0.1:9",
    )
    yield running
    running.stop()


def openapi_document() -> dict[str, Any]:
    """The document the API serves at /schema/openapi.json, built by a fresh process (no Redis needed).

    Operations must be known when pytest collects; a subprocess keeps the app's logging set-up out of
    this one. `test_the_served_document_is_the_fuzzed_one` checks it equals what the service serves.
    """
    code = (
        "import json, sys; from app.main import create_app; from app.openapi_errors import served_document; "
        "from workers.settings import Settings; "
        "json.dump(served_document(create_app(Settings(env='test', api_key='vq_x'))), sys.stdout)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"could not build the OpenAPI document:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


DOCUMENT = openapi_document()
schema = schemathesis.openapi.from_dict(
    DOCUMENT,
    config=schemathesis.Config.from_dict(
        {"phases": {"coverage": {"enabled": COVERAGE}}, **({"seed": SEED} if SEED is not None else {})}
    ),
)


def keep_local(value: Any) -> Any:
    """`value` with every callback URL pointed at the loopback sink and every caller LLM key removed."""
    if isinstance(value, dict):
        return {
            key: SINK if key in URL_KEYS and isinstance(item, str) else keep_local(item)
            for key, item in value.items()
            if key not in OUTBOUND_KEYS
        }
    if isinstance(value, list):
        return [keep_local(item) for item in value]
    return value


# 4xx answers are checked against the document like every other answer: the app documents each family's
# real error body (app/openapi_errors.py), not Litestar's default.


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=SEED is None,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation(case: Any, fuzz_service: Service) -> None:
    """No generated request (valid or not) gets a 5xx, and every answer matches the documented schema."""
    if isinstance(case.body, dict | list):
        case.body = keep_local(case.body)
    try:
        check(case, fuzz_service)
    except BaseException as failure:
        if SEED is not None:
            failure.add_note(f"replay this pass with: make fuzz FUZZ_SEED={SEED} FUZZ_EXAMPLES={EXAMPLES}")
        raise


def check(case: Any, fuzz_service: Service) -> None:
    response = case.call(base_url=fuzz_service.base_url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=30)
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])


def test_the_served_document_is_the_fuzzed_one(fuzz_service: Service) -> None:
    """The running service serves exactly the fuzzed document, and it names the routes of both families."""
    with fuzz_service.client() as http:
        answer = http.get("/schema/openapi.json")
    assert answer.status_code == 200, answer.text[:500]
    assert answer.json() == DOCUMENT
    paths = DOCUMENT["paths"]
    assert "/v2/failure-analysis/analyze" in paths
    assert "/api/v2/analyzer/analyze" in paths
    assert "/api/v1/explainer/analyze" in paths
    assert any(path.startswith("/api/traces") for path in paths)


def test_keep_local_rewrites_nested_targets() -> None:
    body = {"config": {"callback_url": "http://8.8.8.8/x", "openai_api_key": "sk-x"}, "items": [{"webhookUrl": "y"}]}
    assert keep_local(body) == {"config": {"callback_url": SINK}, "items": [{"webhookUrl": SINK}]}
