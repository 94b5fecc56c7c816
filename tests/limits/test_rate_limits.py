"""Rate limits against a running misstep with small budgets: 429 with Retry-After and RateLimit-* headers in
both API families, passing again after Retry-After, and separate buckets per budget and per API key."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import httpx
import pytest
from redis.asyncio import Redis

from tests.conftest import Service, start_service
from workers.keys import KeyStore

pytestmark = pytest.mark.integration

FA = "/v2/failure-analysis"
ITEM = {"input": "What is 2 + 2?", "output": "4."}
SUBMIT_BURST, READ_BURST = 5, 10
RATE_HEADERS = ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset")
Mint = Callable[[], Awaitable[str]]


@pytest.fixture(scope="module")
def limited(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A misstep without workers (runs stay queued) and small per-key budgets."""
    running = start_service(
        redis_url,
        tmp_path_factory.mktemp("limited"),
        workers=0,
        API_KEY="vq_test_0123456789abcdef",
        RATE_SUBMIT_PER_S="2",
        RATE_SUBMIT_BURST=str(SUBMIT_BURST),
        RATE_READ_PER_S="5",
        RATE_READ_BURST=str(READ_BURST),
    )
    yield running
    running.stop()


@pytest.fixture
async def mint(limited: Service) -> AsyncIterator[Mint]:
    """Mint keys for fresh tenants, so every test starts with full buckets."""
    redis = Redis.from_url(limited.env["REDIS_URL"])

    async def create() -> str:
        key, _ = await KeyStore(redis).create(f"rl{uuid.uuid4().hex[:10]}")
        return key

    yield create
    await redis.aclose()


def _client(service: Service, key: str) -> httpx.Client:
    return httpx.Client(base_url=service.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def _until_refused(
    send: Callable[[], httpx.Response], at_most: int = 60
) -> tuple[list[httpx.Response], httpx.Response]:
    """Send until the first 429: the answers that passed, and the refusal."""
    passed = []
    for _ in range(at_most):
        answer = send()
        if answer.status_code == 429:
            return passed, answer
        passed.append(answer)
    raise AssertionError(f"no 429 after {at_most} requests: {passed[-1].status_code} {passed[-1].headers}")


def _retry_after(refused: httpx.Response) -> int:
    assert all(name in refused.headers for name in RATE_HEADERS), refused.headers
    assert refused.headers["ratelimit-remaining"] == "0"
    wait = int(refused.headers["retry-after"])
    assert wait >= 1
    return wait


async def test_a_valiqor_submit_burst_gets_429_with_retry_after_and_passes_after_waiting(
    limited: Service, mint: Mint
) -> None:
    key = await mint()
    with _client(limited, key) as http:
        passed, refused = _until_refused(lambda: http.post(f"{FA}/analyze", json={"dataset": [ITEM]}))
        assert len(passed) >= SUBMIT_BURST and all(a.status_code == 200 for a in passed)  # small: inline
        first = passed[0].headers
        assert first["ratelimit-limit"] == str(SUBMIT_BURST)
        assert first["ratelimit-remaining"] == str(SUBMIT_BURST - 1)
        assert int(first["ratelimit-reset"]) >= 1
        wait = _retry_after(refused)
        body = refused.json()
        assert body["retry_after_seconds"] == wait and "rate limit" in body["detail"]
        time.sleep(wait)
        again = http.post(f"{FA}/analyze", json={"dataset": [ITEM]})
        assert again.status_code == 200, again.text
        assert again.headers["ratelimit-limit"] == str(SUBMIT_BURST)


async def test_a_thinkhive_read_burst_gets_429_rate_limited_and_passes_after_waiting(
    limited: Service, mint: Mint
) -> None:
    key = await mint()
    with _client(limited, key) as http:
        passed, refused = _until_refused(lambda: http.get("/api/v2/analyzer/history"))
        assert len(passed) >= READ_BURST and all(a.status_code == 200 for a in passed)
        assert passed[0].headers["ratelimit-limit"] == str(READ_BURST)
        wait = _retry_after(refused)
        body = refused.json()
        assert body["success"] is False and body["code"] == "RATE_LIMITED" == body["error"]["code"]
        assert isinstance(body["message"], str) and "rate limit" in body["message"]
        time.sleep(wait)
        assert http.get("/api/v2/analyzer/history").status_code == 200


async def test_submit_and_read_budgets_are_separate(limited: Service, mint: Mint) -> None:
    key = await mint()
    with _client(limited, key) as http:
        _until_refused(lambda: http.post("/api/v2/analyzer/estimate-cost", json={"traceIds": []}))
        read = http.get(f"{FA}/runs")
        assert read.status_code == 200 and read.headers["ratelimit-limit"] == str(READ_BURST)
        assert http.post(f"{FA}/analyze", json={"dataset": [ITEM]}).status_code == 429  # still spent


async def test_two_keys_have_separate_buckets(limited: Service, mint: Mint) -> None:
    first, second = await mint(), await mint()
    with _client(limited, first) as http:
        _until_refused(lambda: http.get(f"{FA}/runs/count"))
    with _client(limited, second) as http:
        answer = http.get(f"{FA}/runs/count")
        assert answer.status_code == 200
        assert answer.headers["ratelimit-remaining"] == str(READ_BURST - 1)


async def test_open_paths_are_not_counted(limited: Service) -> None:
    answer = httpx.get(f"{limited.base_url}/healthz")
    assert answer.status_code == 200 and "ratelimit-limit" not in answer.headers
