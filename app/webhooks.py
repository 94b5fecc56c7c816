"""Webhook routes: the tenant's signing secret (get, rotate) and the delivery attempts, in both API families.

ThinkHive family (`/api/webhooks/...`, envelope `{"success": true, "data": ...}`, camelCase):
    GET  /api/webhooks/secret              {"secret": "whsec_..."} (created on first use)
    POST /api/webhooks/secret/rotate       the new secret; the old one keeps signing for 24 h
    GET  /api/webhooks/deliveries          deliveries with their attempts (runId/batchId, status, limit, offset)
Valiqor family (`/v2/failure-analysis/...`, snake_case, no envelope):
    GET  /v2/failure-analysis/webhooks/secret
    POST /v2/failure-analysis/webhooks/secret/rotate
    GET  /v2/failure-analysis/runs/{run_id}/webhooks   the deliveries of one run (404 for an unknown run)
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import Parameter

from app.auth import resolve_tenant
from app.services import Services
from app.thinkhive.envelope import ok, pagination
from workers.webhooks.secret import SecretStore
from workers.webhooks.store import Attempt, Delivery, DeliveryStore

_STATUS_PATTERN = "^(pending|delivered|failed)$"
_VALIQOR_PREFIX = "/v2/failure-analysis"
_TAGS = ["webhooks"]


def _deliveries(svc: Services) -> DeliveryStore:
    return DeliveryStore(svc.queue, ttl_s=svc.settings.result_ttl_s)


def _thinkhive_delivery(delivery: Delivery, attempts: list[Attempt]) -> dict[str, Any]:
    return {
        "id": delivery.delivery_id,
        "webhookId": delivery.delivery_id,
        "batchId": delivery.run_id,
        "runId": delivery.run_id,
        "eventType": delivery.event_type,
        "url": delivery.url,
        "status": delivery.status,
        "createdAt": delivery.created_at,
        "deliveredAt": delivery.delivered_at,
        "nextAttemptAt": delivery.next_attempt_at,
        "attemptCount": delivery.attempts,
        "attempts": [
            {
                "attempt": a.attempt,
                "attemptedAt": a.at,
                "success": a.ok,
                "statusCode": a.status_code,
                "error": a.error,
                "durationMs": a.duration_ms,
            }
            for a in attempts
        ],
    }


def _valiqor_delivery(delivery: Delivery, attempts: list[Attempt]) -> dict[str, Any]:
    return {
        "delivery_id": delivery.delivery_id,
        "webhook_id": delivery.delivery_id,
        "run_id": delivery.run_id,
        "event_type": delivery.event_type,
        "url": delivery.url,
        "status": delivery.status,
        "created_at": delivery.created_at,
        "delivered_at": delivery.delivered_at,
        "next_attempt_at": delivery.next_attempt_at,
        "attempt_count": delivery.attempts,
        "attempts": [
            {
                "attempt": a.attempt,
                "attempted_at": a.at,
                "success": a.ok,
                "status_code": a.status_code,
                "error": a.error,
                "duration_ms": a.duration_ms,
            }
            for a in attempts
        ],
    }


@get("/api/webhooks/secret", operation_id="thWebhookSecret", tags=_TAGS)
async def thinkhive_secret(request: Request[Any, Any, Any], svc: Services) -> dict[str, Any]:
    """The tenant's webhook signing secret (`whsec_...`), created on first use."""
    tenant = resolve_tenant(request, svc.settings)
    return ok({"secret": await SecretStore(svc.queue).current(tenant)})


@post("/api/webhooks/secret/rotate", status_code=200, operation_id="thWebhookSecretRotate", tags=_TAGS)
async def thinkhive_rotate(request: Request[Any, Any, Any], svc: Services) -> dict[str, Any]:
    """Replace the signing secret; deliveries carry signatures by both secrets for the next 24 h."""
    tenant = resolve_tenant(request, svc.settings)
    rotation = await SecretStore(svc.queue).rotate(tenant)
    return ok({"secret": rotation.secret, "previousSecretValidUntil": rotation.previous_valid_until})


@get("/api/webhooks/deliveries", operation_id="thWebhookDeliveries", tags=_TAGS)
async def thinkhive_deliveries(
    request: Request[Any, Any, Any],
    svc: Services,
    run_id: Annotated[str | None, Parameter(query="runId")] = None,
    batch_id: Annotated[str | None, Parameter(query="batchId")] = None,
    status: Annotated[str | None, Parameter(pattern=_STATUS_PATTERN)] = None,
    limit: Annotated[int, Parameter(ge=1, le=100)] = 20,
    offset: Annotated[int, Parameter(ge=0)] = 0,
) -> dict[str, Any]:
    """Webhook deliveries of the tenant, newest first, each with its attempts."""
    tenant = resolve_tenant(request, svc.settings)
    store = _deliveries(svc)
    matching = await store.find(tenant, run_id=run_id or batch_id, status=status)
    page = matching[offset : offset + limit]
    attempts = await store.attempts_of(tenant, [d.delivery_id for d in page])
    data = [_thinkhive_delivery(d, attempts[d.delivery_id]) for d in page]
    return ok(data, pagination=pagination(len(matching), limit, offset))


@get(f"{_VALIQOR_PREFIX}/webhooks/secret", operation_id="faWebhookSecret", tags=_TAGS)
async def valiqor_secret(request: Request[Any, Any, Any], svc: Services) -> dict[str, Any]:
    """The tenant's webhook signing secret (`whsec_...`), created on first use."""
    tenant = resolve_tenant(request, svc.settings)
    return {"secret": await SecretStore(svc.queue).current(tenant)}


@post(f"{_VALIQOR_PREFIX}/webhooks/secret/rotate", status_code=200, operation_id="faWebhookSecretRotate", tags=_TAGS)
async def valiqor_rotate(request: Request[Any, Any, Any], svc: Services) -> dict[str, Any]:
    """Replace the signing secret; deliveries carry signatures by both secrets for the next 24 h."""
    tenant = resolve_tenant(request, svc.settings)
    rotation = await SecretStore(svc.queue).rotate(tenant)
    return {"secret": rotation.secret, "previous_valid_until": rotation.previous_valid_until}


@get(f"{_VALIQOR_PREFIX}/runs/{{run_id:str}}/webhooks", operation_id="faRunWebhooks", tags=_TAGS)
async def valiqor_run_deliveries(request: Request[Any, Any, Any], run_id: str, svc: Services) -> dict[str, Any]:
    """The webhook deliveries of one run, each with its attempts."""
    tenant = resolve_tenant(request, svc.settings)
    if await svc.store.get_record(tenant, run_id) is None:
        raise NotFoundException(f"run {run_id!r} not found")
    store = _deliveries(svc)
    deliveries = await store.find(tenant, run_id=run_id)
    attempts = await store.attempts_of(tenant, [d.delivery_id for d in deliveries])
    items = [_valiqor_delivery(d, attempts[d.delivery_id]) for d in deliveries]
    return {"run_id": run_id, "deliveries": items, "total": len(items)}


ROUTES: list[Any] = [
    thinkhive_secret,
    thinkhive_rotate,
    thinkhive_deliveries,
    valiqor_secret,
    valiqor_rotate,
    valiqor_run_deliveries,
]
