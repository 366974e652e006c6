"""The ingest adapter: read a batch from `wa:events`, one transaction, commit, announce, ack."""

from __future__ import annotations

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wacrm_common import outbox
from wacrm_common.events import rt
from wacrm_common.events.wa import STREAM, WA_EVENT, WaEvent
from wacrm_common.settings import Settings
from wacrm_common.streams import (
    Entry,
    Rejects,
    StreamWorker,
    consumer_name,
    model_parser,
)
from wacrm_ingest.handlers import handle_batch

GROUP = "ingest"


def build_worker(
    settings: Settings,
    *,
    redis: Redis,
    sessions: async_sessionmaker[AsyncSession],
    consumer: str = "",
) -> StreamWorker[WaEvent]:
    async def handle(entries: list[Entry[WaEvent]]) -> Rejects:
        async with sessions() as session, session.begin():
            outcome = await handle_batch(entries, session=session)
            staged = await outbox.stage(
                session, rt.STREAM, outcome.rt_events, maxlen=settings.rt_stream_maxlen
            )
        # Committed: now announce (a crash here leaves the outbox rows for the sweeper).
        # The ack follows when this returns (see StreamWorker).
        await outbox.publish(redis, sessions, staged)
        return outcome.rejects

    return StreamWorker(
        redis,
        stream=STREAM,
        group=GROUP,
        consumer=consumer_name(consumer or settings.instance_id),
        parse=model_parser(WA_EVENT),
        handle=handle,
        batch=settings.consumer_batch,
        block_ms=settings.consumer_block_ms,
        reclaim_idle_ms=settings.reclaim_idle_ms,
        max_attempts=settings.max_attempts,
    )
