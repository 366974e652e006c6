"""Transactional outbox: stream entries staged with the change, published after commit."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel
from redis.asyncio import Redis
from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wacrm_common.logging import get_logger
from wacrm_common.models import OutboxEntry

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Staged:
    id: int
    stream: str
    payload: str
    maxlen: int


async def stage(
    session: AsyncSession, stream: str, models: Sequence[BaseModel], *, maxlen: int
) -> list[Staged]:
    """Write the entries in the caller's transaction (one INSERT for all of them)."""
    if not models:
        return []
    payloads = [m.model_dump_json() for m in models]
    rows = await session.execute(
        insert(OutboxEntry)
        .values([{"stream": stream, "payload": p, "maxlen": maxlen} for p in payloads])
        .returning(OutboxEntry.id)
    )
    ids = list(rows.scalars())
    return [Staged(i, stream, p, maxlen) for i, p in zip(ids, payloads, strict=True)]


async def publish(
    redis: Redis, sessions: async_sessionmaker[AsyncSession], staged: Sequence[Staged]
) -> None:
    """After commit: XADD in order, then forget the rows. A crash between leaves them."""
    if not staged:
        return
    async with redis.pipeline(transaction=False) as pipe:
        for entry in staged:
            pipe.xadd(
                entry.stream, {"e": entry.payload.encode()}, maxlen=entry.maxlen, approximate=True
            )
        await pipe.execute()
    async with sessions() as session, session.begin():
        await session.execute(delete(OutboxEntry).where(OutboxEntry.id.in_([e.id for e in staged])))


async def sweep(
    redis: Redis,
    sessions: async_sessionmaker[AsyncSession],
    *,
    older_than_s: float,
    limit: int = 500,
) -> int:
    """Publish entries left behind by a crash between commit and publish."""
    age = float(older_than_s)
    async with sessions() as session, session.begin():
        rows = await session.scalars(
            select(OutboxEntry)
            .where(OutboxEntry.created_at < func.now() - func.make_interval(0, 0, 0, 0, 0, 0, age))
            .order_by(OutboxEntry.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        staged = [Staged(r.id, r.stream, r.payload, r.maxlen) for r in rows]
        if not staged:
            return 0
        async with redis.pipeline(transaction=False) as pipe:
            for entry in staged:
                pipe.xadd(
                    entry.stream,
                    {"e": entry.payload.encode()},
                    maxlen=entry.maxlen,
                    approximate=True,
                )
            await pipe.execute()
        await session.execute(delete(OutboxEntry).where(OutboxEntry.id.in_([e.id for e in staged])))
    log.warning("outbox_swept", count=len(staged))
    return len(staged)


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
