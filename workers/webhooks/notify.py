"""Hook called when a run reaches a terminal status: schedules its webhook delivery (if it has a callback URL).

Exactly one logical delivery per run: the delivery record is created with SET NX under an id derived
from the run id, so a second notification for the same run (a re-delivered job, a race between
finishing and cancelling) creates nothing and enqueues nothing.
"""

from __future__ import annotations

import structlog
from redis.asyncio import Redis

from workers.contract import TERMINAL_STATUSES, RunRecord
from workers.settings import Settings
from workers.submission import now_iso
from workers.webhooks.delivery import enqueue_attempt
from workers.webhooks.payload import encode_payload, event_type
from workers.webhooks.store import Delivery, DeliveryStore, delivery_id_for_run

log = structlog.get_logger("misstep.webhooks")


async def notify_finished(redis: Redis, settings: Settings, record: RunRecord) -> None:
    """Schedule one logical webhook delivery for `record` (terminal) when it carries a callback_url."""
    if record.callback_url is None or record.status not in TERMINAL_STATUSES:
        return
    delivery = Delivery(
        delivery_id=delivery_id_for_run(record.run_id),
        tenant=record.tenant,
        run_id=record.run_id,
        event_type=event_type(record),
        url=record.callback_url,
        body=encode_payload(record),
        created_at=now_iso(),
    )
    if not await DeliveryStore(redis, ttl_s=settings.result_ttl_s).create(delivery):
        log.info("webhook.already_scheduled", run_id=record.run_id, delivery_id=delivery.delivery_id)
        return
    await enqueue_attempt(redis, settings, record.tenant, delivery.delivery_id, 1)
    log.info(
        "webhook.scheduled", run_id=record.run_id, delivery_id=delivery.delivery_id, event_type=delivery.event_type
    )
