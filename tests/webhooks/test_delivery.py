"""Delivery in-process against a real Redis and a loopback receiver: one job per attempt, signed, pinned.

The arq job function is called directly (as a worker would), so each test controls which attempt runs.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid

import msgspec
import pytest
from arq.connections import ArqRedis
from standardwebhooks import Webhook

from tests.webhooks.receiver import Receiver
from workers.contract import RunOptions, RunRecord
from workers.queue import queue_client
from workers.settings import Settings
from workers.webhooks.delivery import DELIVER_WEBHOOK, deliver_webhook, retry_delay, retry_schedule
from workers.webhooks.notify import notify_finished
from workers.webhooks.secret import SecretStore
from workers.webhooks.store import DeliveryStore

pytestmark = pytest.mark.integration


@pytest.fixture
def hook_settings(settings: Settings) -> Settings:
    return msgspec.structs.replace(
        settings, webhook_allowed_hosts="127.0.0.1", webhook_retry_schedule_s="0.3,0.3,0.5", webhook_timeout_s=2.0
    )


@pytest.fixture
async def redis(hook_settings: Settings):
    client = queue_client(hook_settings)
    yield client
    await client.aclose()


def finished_run(url: str, status: str = "completed") -> RunRecord:
    return RunRecord(
        run_id=uuid.uuid4().hex,
        tenant=f"t-{uuid.uuid4().hex[:8]}",
        status=status,  # type: ignore[arg-type]
        created_at="2026-01-01T00:00:00.000Z",
        finished_at="2026-01-01T00:00:01.000Z",
        options=RunOptions(feature_kind="rag", feature_kind_detected=True, tier="rule_based"),
        total_items=1,
        n_chunks=1,
        callback_url=url,
    )


async def queued(redis: ArqRedis, settings: Settings) -> dict[str, float]:
    return {k.decode(): s for k, s in await redis.zrange(settings.queue_name, 0, -1, withscores=True)}


def ctx(redis: ArqRedis, settings: Settings) -> dict[str, object]:
    return {"redis": redis, "settings": settings, "job_try": 1}


async def test_notify_creates_one_delivery_and_one_job_per_run(redis: ArqRedis, hook_settings: Settings) -> None:
    record = finished_run("http://127.0.0.1:9/hook")
    await notify_finished(redis, hook_settings, record)
    await notify_finished(redis, hook_settings, record)  # a re-delivered job, or a race with cancel
    await notify_finished(redis, hook_settings, msgspec.structs.replace(record, status="cancelled"))
    deliveries = await DeliveryStore(redis, ttl_s=60).find(record.tenant, run_id=record.run_id)
    assert [(d.delivery_id, d.event_type) for d in deliveries] == [
        (f"msg_{record.run_id}", "failure_analysis.completed")
    ]
    delivery_id = deliveries[0].delivery_id
    assert list(await queued(redis, hook_settings)) == [f"webhook:{delivery_id}:1"]
    job = msgspec.msgpack.decode(await redis.get(f"arq:job:webhook:{delivery_id}:1"))
    assert job["f"] == DELIVER_WEBHOOK and job["a"] == [record.tenant, delivery_id, 1]


@pytest.mark.parametrize(
    "record", [finished_run("x", "processing"), msgspec.structs.replace(finished_run("x"), callback_url=None)]
)
async def test_no_delivery_without_a_callback_or_before_the_end(
    redis: ArqRedis, hook_settings: Settings, record: RunRecord
) -> None:
    await notify_finished(redis, hook_settings, record)
    assert await DeliveryStore(redis, ttl_s=60).find(record.tenant) == []
    assert await queued(redis, hook_settings) == {}


async def test_a_delivery_is_signed_and_sent_once(redis: ArqRedis, hook_settings: Settings, receiver: Receiver) -> None:
    record = finished_run(receiver.url)
    await notify_finished(redis, hook_settings, record)
    delivery_id = f"msg_{record.run_id}"
    assert await deliver_webhook(ctx(redis, hook_settings), record.tenant, delivery_id, 1) == "delivered"
    [got] = receiver.received()
    secret = await SecretStore(redis).current(record.tenant)
    payload = Webhook(secret).verify(got.body, got.headers)
    assert payload["data"]["run_id"] == record.run_id and payload["type"] == "failure_analysis.completed"
    assert got.headers["webhook-id"] == delivery_id and got.headers["content-type"] == "application/json"
    assert got.headers["host"] == f"127.0.0.1:{receiver.port}"
    store = DeliveryStore(redis, ttl_s=60)
    delivery = await store.get(record.tenant, delivery_id)
    assert delivery is not None and delivery.status == "delivered" and delivery.delivered_at is not None
    [attempt] = await store.attempts(record.tenant, delivery_id)
    assert (attempt.attempt, attempt.ok, attempt.status_code, attempt.error) == (1, True, 200, None)
    # arq may run the same job again after a worker crash: nothing is sent twice
    assert await deliver_webhook(ctx(redis, hook_settings), record.tenant, delivery_id, 1) == "delivered"
    assert len(receiver.received()) == 1


async def test_a_failed_attempt_schedules_the_next_as_a_deferred_job(
    redis: ArqRedis, hook_settings: Settings, receiver: Receiver
) -> None:
    receiver.script = [503]
    record = finished_run(receiver.url)
    await notify_finished(redis, hook_settings, record)
    delivery_id = f"msg_{record.run_id}"
    await redis.zrem(hook_settings.queue_name, f"webhook:{delivery_id}:1")  # we run attempt 1 ourselves
    before_ms = time.time() * 1000
    assert await deliver_webhook(ctx(redis, hook_settings), record.tenant, delivery_id, 1) == "retrying"
    after_ms = time.time() * 1000
    score = (await queued(redis, hook_settings))[f"webhook:{delivery_id}:2"]
    assert before_ms + 0.3 * 0.8 * 1000 - 1 <= score <= after_ms + 0.3 * 1.2 * 1000 + 1  # 0.3 s ± 20%
    assert await deliver_webhook(ctx(redis, hook_settings), record.tenant, delivery_id, 2) == "delivered"
    first, second = receiver.received()
    assert first.body == second.body and first.headers["webhook-id"] == second.headers["webhook-id"] == delivery_id
    attempts = await DeliveryStore(redis, ttl_s=60).attempts(record.tenant, delivery_id)
    assert [(a.attempt, a.status_code, a.ok, a.error) for a in attempts] == [
        (1, 503, False, "HTTP 503"),
        (2, 200, True, None),
    ]


async def test_a_rerun_of_a_failed_attempt_neither_resends_nor_skips_the_next(
    redis: ArqRedis, hook_settings: Settings, receiver: Receiver
) -> None:
    receiver.script = [500]
    record = finished_run(receiver.url)
    await notify_finished(redis, hook_settings, record)
    delivery_id = f"msg_{record.run_id}"
    assert await deliver_webhook(ctx(redis, hook_settings), record.tenant, delivery_id, 1) == "retrying"
    await redis.zrem(hook_settings.queue_name, f"webhook:{delivery_id}:2")  # as if the worker died before enqueueing
    await redis.delete(f"arq:job:webhook:{delivery_id}:2")
    assert await deliver_webhook(ctx(redis, hook_settings), record.tenant, delivery_id, 1) == "duplicate"
    assert len(receiver.received()) == 1
    assert f"webhook:{delivery_id}:2" in await queued(redis, hook_settings)


@pytest.mark.parametrize(
    ("script", "error"),
    [
        pytest.param([302, 302], "HTTP 302", id="redirect-not-followed"),
        pytest.param([500, 500], "HTTP 500", id="server-error"),
    ],
)
async def test_the_delivery_fails_when_the_schedule_is_exhausted(
    redis: ArqRedis, hook_settings: Settings, receiver: Receiver, script: list[int], error: str
) -> None:
    settings = msgspec.structs.replace(hook_settings, webhook_retry_schedule_s="0")  # two attempts in all
    receiver.script = script
    record = finished_run(receiver.url)
    await notify_finished(redis, settings, record)
    delivery_id = f"msg_{record.run_id}"
    assert await deliver_webhook(ctx(redis, settings), record.tenant, delivery_id, 1) == "retrying"
    assert await deliver_webhook(ctx(redis, settings), record.tenant, delivery_id, 2) == "failed"
    assert f"webhook:{delivery_id}:3" not in await queued(redis, settings)
    assert len(receiver.received()) == 2 and receiver.received("/redirected") == []
    delivery = await DeliveryStore(redis, ttl_s=60).get(record.tenant, delivery_id)
    assert delivery is not None and delivery.status == "failed" and delivery.attempts == 2
    attempts = await DeliveryStore(redis, ttl_s=60).attempts(record.tenant, delivery_id)
    assert [a.error for a in attempts] == [error, error]


async def test_410_gone_stops_the_retries(redis: ArqRedis, hook_settings: Settings, receiver: Receiver) -> None:
    receiver.script = [410]
    record = finished_run(receiver.url)
    await notify_finished(redis, hook_settings, record)
    delivery_id = f"msg_{record.run_id}"
    assert await deliver_webhook(ctx(redis, hook_settings), record.tenant, delivery_id, 1) == "failed"
    assert f"webhook:{delivery_id}:2" not in await queued(redis, hook_settings)


async def test_every_attempt_rechecks_the_url(redis: ArqRedis, hook_settings: Settings, receiver: Receiver) -> None:
    record = finished_run(receiver.url)
    await notify_finished(redis, hook_settings, record)  # accepted while 127.0.0.1 was allowlisted
    strict = msgspec.structs.replace(hook_settings, webhook_allowed_hosts="")
    delivery_id = f"msg_{record.run_id}"
    assert await deliver_webhook(ctx(redis, strict), record.tenant, delivery_id, 1) == "retrying"
    assert receiver.received() == []
    [attempt] = await DeliveryStore(redis, ttl_s=60).attempts(record.tenant, delivery_id)
    assert attempt.status_code is None and attempt.error is not None
    assert attempt.error.startswith("refused by the SSRF guard: 127.0.0.1 is a loopback address")


async def test_a_connection_error_is_recorded(redis: ArqRedis, hook_settings: Settings) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    record = finished_run(f"http://127.0.0.1:{port}/hook")
    await notify_finished(redis, hook_settings, record)
    delivery_id = f"msg_{record.run_id}"
    assert await deliver_webhook(ctx(redis, hook_settings), record.tenant, delivery_id, 1) == "retrying"
    [attempt] = await DeliveryStore(redis, ttl_s=60).attempts(record.tenant, delivery_id)
    assert attempt.status_code is None and attempt.error is not None and "ConnectError" in attempt.error


async def test_delivery_connects_to_the_checked_address_not_a_second_dns_answer(
    redis: ArqRedis, hook_settings: Settings, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the name first resolves to an allowed address, then to nothing usable."""
    loop = asyncio.get_running_loop()
    real = loop.getaddrinfo
    lookups: list[str] = []

    async def rebinding(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host != "rebind.test":
            return await real(host, port, *args, **kwargs)
        lookups.append(host)
        if len(lookups) > 1:
            raise socket.gaierror(socket.EAI_NONAME, "rebound")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(loop, "getaddrinfo", rebinding)
    record = finished_run(f"http://rebind.test:{receiver.port}/hook")
    await notify_finished(redis, hook_settings, record)
    delivery_id = f"msg_{record.run_id}"
    assert await deliver_webhook(ctx(redis, hook_settings), record.tenant, delivery_id, 1) == "delivered"
    [got] = receiver.received()
    assert got.headers["host"] == f"rebind.test:{receiver.port}"
    assert lookups == ["rebind.test"]
    assert json.loads(got.body)["data"]["run_id"] == record.run_id


def test_the_retry_schedule_and_its_jitter() -> None:
    settings = Settings(env="test", webhook_retry_schedule_s="5, 30,120")
    assert retry_schedule(settings) == (5.0, 30.0, 120.0)
    delays = [retry_delay(settings, 2) for _ in range(200)]
    assert all(d is not None and 24.0 <= d <= 36.0 for d in delays) and len(set(delays)) > 1
    assert retry_delay(settings, 3) is not None and retry_delay(settings, 4) is None
    with pytest.raises(ValueError, match="webhook_retry_schedule_s"):  # refused when settings are built
        Settings(env="test", webhook_retry_schedule_s="5,soon")
