"""StreamWorker on a real Valkey: ack after handling, DLQ for poison, retries, reclaim."""

from __future__ import annotations

import uuid

import orjson
import pytest
from pydantic import TypeAdapter

from wacrm_common.errors import InvalidInput
from wacrm_common.events.base import Frozen
from wacrm_common.streams import Entry, StreamWorker, model_parser, publish

STREAM = "test:stream"


class Ping(Frozen):
    n: int


PING = TypeAdapter(Ping)


def worker(
    redis, handle, *, consumer: str = "c1", max_attempts: int = 3, reclaim_idle_ms: int = 60_000
):
    return StreamWorker(
        redis,
        stream=STREAM,
        group="g",
        consumer=consumer,
        parse=model_parser(PING),
        handle=handle,
        batch=100,
        block_ms=10,
        reclaim_idle_ms=reclaim_idle_ms,
        max_attempts=max_attempts,
    )


async def pending_count(redis) -> int:
    info = await redis.xpending(STREAM, "g")
    return int(info["pending"])


async def dlq(redis) -> list[dict[bytes, bytes]]:
    return [fields for _, fields in await redis.xrange(f"{STREAM}:dlq")]


async def test_stream_worker_acks_after_batch_handled(redis) -> None:
    seen: list[int] = []

    async def handle(entries: list[Entry[Ping]]) -> None:
        seen.extend(e.value.n for e in entries)

    w = worker(redis, handle)
    await w.ensure_group()
    for n in range(5):
        await publish(redis, STREAM, Ping(n=n), maxlen=1000)
    assert await w.step() == 5
    assert seen == [0, 1, 2, 3, 4]
    assert await pending_count(redis) == 0


async def test_stream_worker_malformed_entry_goes_to_dlq_and_rest_flows(redis) -> None:
    seen: list[int] = []

    async def handle(entries: list[Entry[Ping]]) -> None:
        seen.extend(e.value.n for e in entries)

    w = worker(redis, handle)
    await w.ensure_group()
    await publish(redis, STREAM, Ping(n=1), maxlen=1000)
    bad_id = (await redis.xadd(STREAM, {"e": b'{"n": "not a number"}'})).decode()
    await redis.xadd(STREAM, {"other": b"x"})
    await publish(redis, STREAM, Ping(n=2), maxlen=1000)
    await w.step()
    assert seen == [1, 2]
    dead = await dlq(redis)
    assert dead[0][b"entry_id"].decode() == bad_id
    assert dead[0][b"e"] == b'{"n": "not a number"}'
    assert dead[1][b"error"] == b"entry has no 'e' field"
    assert await pending_count(redis) == 0


async def test_stream_worker_app_error_isolates_the_poison_entry(redis) -> None:
    handled: list[int] = []

    async def handle(entries: list[Entry[Ping]]) -> None:
        if any(e.value.n == 13 for e in entries):
            raise InvalidInput("thirteen is refused")
        handled.extend(e.value.n for e in entries)

    w = worker(redis, handle)
    await w.ensure_group()
    for n in (12, 13, 14):
        await publish(redis, STREAM, Ping(n=n), maxlen=1000)
    await w.step()
    assert handled == [12, 14]
    dead = await dlq(redis)
    assert len(dead) == 1
    assert orjson.loads(dead[0][b"e"]) == {"n": 13}
    assert dead[0][b"attempts"] == b"1"
    assert await pending_count(redis) == 0


async def test_stream_worker_transient_error_retries_then_dead_letters(redis) -> None:
    calls = 0

    async def handle(entries: list[Entry[Ping]]) -> None:
        nonlocal calls
        calls += 1
        raise ConnectionError("database went away")

    w = worker(redis, handle, max_attempts=3, reclaim_idle_ms=0)
    await w.ensure_group()
    await publish(redis, STREAM, Ping(n=7), maxlen=1000)
    await w.step()
    assert await pending_count(redis) == 1  # left pending for a retry
    assert await dlq(redis) == []
    for _ in range(5):
        w._next_reclaim = 0  # reclaim at once instead of waiting for the idle time
        await w.step(block_ms=1)
        if await dlq(redis):
            break
    dead = await dlq(redis)
    assert calls == 3
    assert dead[0][b"attempts"] == b"3"
    assert dead[0][b"error"] == b"ConnectionError('database went away')"
    assert await pending_count(redis) == 0


async def test_stream_worker_reclaims_entries_of_a_dead_consumer(redis) -> None:
    got: list[tuple[str, int]] = []

    def handler(name: str):
        async def handle(entries: list[Entry[Ping]]) -> None:
            if name == "dead":
                raise RuntimeError("crashed mid-batch")
            got.extend((name, e.value.n) for e in entries)

        return handle

    dead = worker(redis, handler("dead"), consumer="dead", max_attempts=10)
    alive = worker(redis, handler("alive"), consumer="alive", reclaim_idle_ms=0)
    await dead.ensure_group()
    await publish(redis, STREAM, Ping(n=1), maxlen=1000)
    await dead.step()
    assert got == []
    await alive.step(block_ms=1)
    assert got == [("alive", 1)]
    assert await pending_count(redis) == 0


@pytest.mark.parametrize("field", [b"", b"{", b"[]", b'{"n": 1, "extra": 2}'])
async def test_stream_worker_every_malformed_shape_is_dead_lettered(redis, field: bytes) -> None:
    async def handle(entries: list[Entry[Ping]]) -> None:
        raise AssertionError("must not be called")

    w = worker(redis, handle)
    await w.ensure_group()
    await redis.xadd(STREAM, {"e": field})
    await w.step()
    assert [d[b"e"] for d in await dlq(redis)] == [field]
    assert await pending_count(redis) == 0


async def test_stream_worker_entry_whose_validator_overflows_is_dead_lettered(redis) -> None:
    """Regression: an OverflowError in a validator (year 1 at +01:00) jammed the batch."""
    import orjson as json

    from wacrm_common.events.wa import WA_EVENT, SessionConnected, SessionConnectedPayload

    good = SessionConnected(
        tenant_id=uuid.uuid4(), session_id=uuid.uuid4(), payload=SessionConnectedPayload()
    )
    bad = json.loads(good.model_dump_json())
    bad["occurred_at"] = "0001-01-01T00:00:00+01:00"
    seen: list[str] = []

    async def handle(entries) -> None:
        seen.extend(e.value.type for e in entries)

    w = StreamWorker(
        redis,
        stream=STREAM,
        group="g",
        consumer="c",
        parse=model_parser(WA_EVENT),
        handle=handle,
        batch=100,
        block_ms=10,
    )
    await w.ensure_group()
    await redis.xadd(STREAM, {"e": json.dumps(bad)})
    await publish(redis, STREAM, good, maxlen=100)
    await w.step()
    assert seen == ["session.connected"]
    assert len(await dlq(redis)) == 1
    assert await pending_count(redis) == 0


async def test_stream_worker_lag_counts_undelivered_entries(redis) -> None:
    async def handle(entries) -> None:
        return None

    w = worker(redis, handle)
    await w.ensure_group()
    for n in range(3):
        await publish(redis, STREAM, Ping(n=n), maxlen=1000)
    assert await w.lag() == 3
    await w.step()
    assert await w.lag() == 0


async def test_stream_worker_forgets_departed_consumers_without_pending(redis) -> None:
    async def ok(entries) -> None:
        return None

    async def crash(entries) -> None:
        raise RuntimeError("left entries pending")

    await worker(redis, ok, consumer="gone").ensure_group()
    gone = worker(redis, ok, consumer="gone")
    await publish(redis, STREAM, Ping(n=1), maxlen=100)
    await gone.step()  # handled and acked: nothing pending
    busy = worker(redis, crash, consumer="busy", max_attempts=10)
    await publish(redis, STREAM, Ping(n=2), maxlen=100)
    await busy.step()  # left pending: must survive
    fresh = StreamWorker(
        redis,
        stream=STREAM,
        group="g",
        consumer="fresh",
        parse=model_parser(PING),
        handle=ok,
        departed_idle_ms=0,
    )
    await fresh.ensure_group()
    names = {c["name"] for c in await redis.xinfo_consumers(STREAM, "g")}
    assert names == {b"busy"}
