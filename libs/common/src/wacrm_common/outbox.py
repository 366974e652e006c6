"""Transactional outbox: stream entries staged with the change, published after commit.

One outbox row per staged batch (a JSON array of entries), so a batch of hundreds of
events costs one INSERT and one DELETE, not hundreds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

import orjson
from pydantic import BaseModel
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wacrm_common.logging import get_logger
from wacrm_common.models import OutboxEntry

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Staged:
    id: int
    stream: str
    payloads: tuple[str, ...]
    maxlen: int


async def stage(
    session: AsyncSession, stream: str, models: Sequence[BaseModel], *, maxlen: int
) -> list[Staged]:
    """Write the entries in the caller's transaction (one row for all of them)."""
    if not models:
        return []
    payloads = tuple(m.model_dump_json() for m in models)
    row_id = await session.scalar(
        insert(OutboxEntry)
        .values(stream=stream, entries="[" + ",".join(payloads) + "]", maxlen=maxlen)
        .returning(OutboxEntry.id)
    )
    assert row_id is not None  # RETURNING of a one-row INSERT
    return [Staged(row_id, stream, payloads, maxlen)]


async def _xadd(redis: Redis, staged: Sequence[Staged]) -> None:
    async with redis.pipeline(transaction=False) as pipe:
        for batch in staged:
            for payload in batch.payloads:
                pipe.xadd(
                    batch.stream, {"e": payload.encode()}, maxlen=batch.maxlen, approximate=True
                )
        await pipe.execute()


async def publish(
    redis: Redis, sessions: async_sessionmaker[AsyncSession], staged: Sequence[Staged]
) -> None:
    """After commit: XADD in order, then forget the rows. A crash between leaves them."""
    if not staged:
        return
    try:
        await _xadd(redis, staged)
    except (RedisError, OSError) as exc:
        # The change is committed and its rows wait in the outbox: the sweeper delivers
        # them once Redis is back. The caller's request still succeeded.
        log.warning("outbox_publish_deferred", error=repr(exc), rows=len(staged))
        return
    async with sessions() as session, session.begin():
        await session.execute(delete(OutboxEntry).where(OutboxEntry.id.in_([s.id for s in staged])))


async def sweep(
    redis: Redis,
    sessions: async_sessionmaker[AsyncSession],
    *,
    older_than_s: float,
    limit: int = 100,
) -> int:
    """Publish entries left behind by a crash between commit and publish; count them."""
    age = float(older_than_s)
    async with sessions() as session, session.begin():
        rows = await session.scalars(
            select(OutboxEntry)
            .where(OutboxEntry.created_at < func.now() - func.make_interval(0, 0, 0, 0, 0, 0, age))
            .order_by(OutboxEntry.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        staged = [
            Staged(
                r.id,
                r.stream,
                tuple(orjson.dumps(e).decode() for e in orjson.loads(r.entries)),
                r.maxlen,
            )
            for r in rows
        ]
        if not staged:
            return 0
        await _xadd(redis, staged)
        await session.execute(delete(OutboxEntry).where(OutboxEntry.id.in_([s.id for s in staged])))
    count = sum(len(s.payloads) for s in staged)
    log.warning("outbox_swept", entries=count)
    return count


async def run_sweeper(
    redis: Redis,
    sessions: async_sessionmaker[AsyncSession],
    stop: asyncio.Event,
    *,
    every_s: float = 5.0,
    older_than_s: float = 10.0,
) -> None:
    while not stop.is_set():
        try:
            await sweep(redis, sessions, older_than_s=older_than_s)
        except Exception:  # the database or Redis is away: try again next round
            log.exception("outbox_sweep_failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every_s)
