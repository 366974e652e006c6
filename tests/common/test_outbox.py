"""Transactional outbox against real PostgreSQL and Valkey."""

from __future__ import annotations

from sqlalchemy import func, select

from wacrm_common import outbox
from wacrm_common.events.base import Frozen
from wacrm_common.models import OutboxEntry


class Note(Frozen):
    text: str


async def test_outbox_publish_xadds_in_order_and_forgets_rows(sessions, redis) -> None:
    async with sessions() as s, s.begin():
        staged = await outbox.stage(s, "t:out", [Note(text="a"), Note(text="b")], maxlen=100)
    await outbox.publish(redis, sessions, staged)
    assert [f[b"e"] for _, f in await redis.xrange("t:out")] == [b'{"text":"a"}', b'{"text":"b"}']
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(OutboxEntry)) == 0


async def test_outbox_rolled_back_change_announces_nothing(sessions, redis) -> None:
    class Boom(Exception):
        pass

    try:
        async with sessions() as s, s.begin():
            await outbox.stage(s, "t:out", [Note(text="never")], maxlen=100)
            raise Boom
    except Boom:
        pass
    assert await outbox.sweep(redis, sessions, older_than_s=0) == 0
    assert await redis.xlen("t:out") == 0


async def test_outbox_sweep_publishes_what_a_crash_left_behind(sessions, redis) -> None:
    async with sessions() as s, s.begin():
        await outbox.stage(s, "t:out", [Note(text="left behind")], maxlen=100)
    # The process "crashed" before publish(): only the sweeper can deliver it now.
    assert await outbox.sweep(redis, sessions, older_than_s=3600) == 0
    assert await outbox.sweep(redis, sessions, older_than_s=0) == 1
    assert [f[b"e"] for _, f in await redis.xrange("t:out")] == [b'{"text":"left behind"}']
    assert await outbox.sweep(redis, sessions, older_than_s=0) == 0


async def test_outbox_publish_with_redis_down_defers_to_the_sweeper(sessions, redis) -> None:
    from redis.asyncio import Redis
    from tests.conftest import free_port

    down = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    async with sessions() as s, s.begin():
        staged = await outbox.stage(s, "t:out", [Note(text="committed")], maxlen=100)
    await outbox.publish(down, sessions, staged)  # no exception: the change stands
    await down.aclose()
    assert await outbox.sweep(redis, sessions, older_than_s=0) == 1
    assert [f[b"e"] for _, f in await redis.xrange("t:out")] == [b'{"text":"committed"}']
