"""Webhooks end to end: a running API and worker, a loopback receiver, the public routes.

The `hooked` service allowlists 127.0.0.1 and retries quickly; the plain `service` fixture (no
allowlist) shows that loopback and internal callback URLs are refused at submit time.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from tests.conftest import Service, start_service
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.integration
FA = "/v2/failure-analysis"
DATASET = [{"input": "What is the capital of France?", "output": "Paris.", "context": ["Paris is in France."]}]


@pytest.fixture(scope="module")
def hooked(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    running = start_service(
        redis_url,
        tmp_path_factory.mktemp("hooked"),
        API_KEY="vq_test_0123456789abcdef",
        WEBHOOK_ALLOWED_HOSTS="127.0.0.1",
        WEBHOOK_RETRY_SCHEDULE_S="0.3,0.3,0.5",
        WEBHOOK_TIMEOUT_S="3",
    )
    yield running
    running.stop()


def analyze(service: Service, callback_url: str) -> str:
    with service.client() as http:
        response = http.post(f"{FA}/analyze", json={"dataset": DATASET, "callback_url": callback_url})
    assert response.status_code == 200, response.text  # a small run, analysed inline: its webhook still goes
    run_id = str(response.json()["run_id"])
    assert service.wait_completed(run_id)["status"] == "completed"
    return run_id


def settled_delivery(service: Service, run_id: str, timeout_s: float = 20.0) -> dict[str, Any]:
    """The run's one delivery once it is delivered or failed (Valiqor route)."""
    deadline = time.monotonic() + timeout_s
    with service.client() as http:
        while time.monotonic() < deadline:
            body = http.get(f"{FA}/runs/{run_id}/webhooks").json()
            if body["deliveries"] and body["deliveries"][0]["status"] != "pending":
                assert body["total"] == 1
                return dict(body["deliveries"][0])
            time.sleep(0.05)
    raise AssertionError(f"the delivery of run {run_id} did not settle: {body}")


def secret_of(service: Service) -> str:
    with service.client() as http:
        body = http.get("/api/webhooks/secret").json()
    assert body["success"] is True
    return str(body["data"]["secret"])


def test_a_completed_run_is_delivered_once_and_verifies(hooked: Service, receiver: Receiver) -> None:
    run_id = analyze(hooked, receiver.url)
    delivery = settled_delivery(hooked, run_id)
    assert delivery["status"] == "delivered" and delivery["webhook_id"] == f"msg_{run_id}"
    assert [(a["attempt"], a["status_code"], a["success"]) for a in delivery["attempts"]] == [(1, 200, True)]
    [got] = receiver.received()
    payload = Webhook(secret_of(hooked)).verify(got.body, got.headers)
    assert payload["type"] == "failure_analysis.completed"
    data = payload["data"]
    assert (data["run_id"], data["status"], data["total_items"]) == (run_id, "completed", 1)
    assert data["result_url"] == f"{FA}/runs/{run_id}" and data["summary"]["total_items"] == 1
    with hooked.client() as http:
        assert http.get(f"{FA}/webhooks/secret").json()["secret"] == secret_of(hooked)
        assert http.post(f"{FA}/runs/{run_id}/cancel").status_code == 409  # finished: no second notification
    assert len(receiver.received()) == 1


def test_a_receiver_down_for_two_attempts_gets_the_third_with_the_same_id(hooked: Service, receiver: Receiver) -> None:
    receiver.script = [503, 503]
    run_id = analyze(hooked, receiver.url)
    assert settled_delivery(hooked, run_id)["status"] == "delivered"
    requests = receiver.received()
    assert len(requests) == 3
    assert {r.headers["webhook-id"] for r in requests} == {f"msg_{run_id}"}
    assert len({r.body for r in requests}) == 1
    Webhook(secret_of(hooked)).verify(requests[-1].body, requests[-1].headers)
    with hooked.client() as http:
        body = http.get("/api/webhooks/deliveries", params={"runId": run_id}).json()
        by_batch = http.get("/api/webhooks/deliveries", params={"batchId": run_id, "status": "delivered"}).json()
        failed_only = http.get("/api/webhooks/deliveries", params={"runId": run_id, "status": "failed"}).json()
    assert body["success"] is True and body["pagination"]["total"] == 1
    [delivery] = body["data"]
    assert delivery["batchId"] == run_id and delivery["status"] == "delivered" and delivery["attemptCount"] == 3
    attempts = delivery["attempts"]
    assert [(a["attempt"], a["statusCode"], a["success"]) for a in attempts] == [
        (1, 503, False),
        (2, 503, False),
        (3, 200, True),
    ]
    assert all(isinstance(a["durationMs"], int) and a["attemptedAt"] for a in attempts)
    assert by_batch["data"][0]["id"] == delivery["id"] and failed_only["data"] == []


def test_a_redirect_is_not_followed(hooked: Service, receiver: Receiver) -> None:
    receiver.script = [302] * 4
    run_id = analyze(hooked, receiver.url)
    delivery = settled_delivery(hooked, run_id)
    assert delivery["status"] == "failed"
    assert [a["status_code"] for a in delivery["attempts"]] == [302, 302, 302, 302]
    assert receiver.received("/redirected") == []


def test_deliveries_list_paginates_and_validates(hooked: Service) -> None:
    with hooked.client() as http:
        page = http.get("/api/webhooks/deliveries", params={"limit": 1, "offset": 0}).json()
        bad = http.get("/api/webhooks/deliveries", params={"status": "lost"})
        too_many = http.get("/api/webhooks/deliveries", params={"limit": 101})
    assert len(page["data"]) <= 1 and set(page["pagination"]) == {"total", "limit", "offset", "hasMore"}
    assert bad.status_code == 400 and bad.json()["success"] is False
    assert too_many.status_code == 400


def test_rotation_through_the_api(hooked: Service) -> None:
    old = secret_of(hooked)
    with hooked.client() as http:
        rotated = http.post("/api/webhooks/secret/rotate").json()
        again = http.post(f"{FA}/webhooks/secret/rotate").json()
    assert rotated["success"] is True and rotated["data"]["secret"] not in (old, None)
    assert rotated["data"]["previousSecretValidUntil"]
    assert again["secret"] == secret_of(hooked) != rotated["data"]["secret"]


def test_deliveries_of_an_unknown_run_are_404(hooked: Service) -> None:
    with hooked.client() as http:
        response = http.get(f"{FA}/runs/{'0' * 32}/webhooks")
    assert response.status_code == 404 and "not found" in response.json()["detail"]


def test_routes_need_the_api_key(hooked: Service) -> None:
    wrong = {"Authorization": "Bearer wrong"}
    with httpx.Client(base_url=hooked.base_url, headers=wrong, timeout=30) as http:
        assert http.get("/api/webhooks/secret").status_code == 401
        assert http.post("/api/webhooks/secret/rotate").status_code == 401
        assert http.get(f"{FA}/webhooks/secret").status_code == 401


@pytest.mark.parametrize(
    "callback_url",
    [
        "http://127.0.0.1:9/hook",
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
    ],
)
def test_internal_callback_urls_are_refused_at_submit(service: Service, callback_url: str) -> None:
    with service.client() as http:
        before = http.get(f"{FA}/runs/count").json()["count"]
        response = http.post(f"{FA}/analyze", json={"dataset": DATASET, "callback_url": callback_url})
        after = http.get(f"{FA}/runs/count").json()["count"]
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["detail"].startswith("callback_url:") and body["errors"][0]["loc"] == "callback_url"
    assert "globally routable" in body["detail"]
    assert after == before
