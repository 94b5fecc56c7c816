"""Hook called when a run reaches a terminal status: schedules its webhook delivery (if it has a callback URL).

STUB: the webhooks helper replaces the body of `notify_finished`.
"""

from __future__ import annotations

from redis.asyncio import Redis

from workers.contract import RunRecord
from workers.settings import Settings


async def notify_finished(redis: Redis, settings: Settings, record: RunRecord) -> None:
    """Schedule one logical webhook delivery for `record` (terminal) when it carries a callback_url."""
    return None
