"""Redis Streams plumbing: publishing, and an at-least-once consumer-group worker with DLQ.

Ack policy (the invariant every consumer relies on): an entry is acknowledged only after
its batch handler returned, i.e. after the effect committed; a poison entry (it does not
parse, or its handler raised `AppError`, or it failed `max_attempts` times) is copied to
`<stream>:dlq` and then acknowledged, so it never blocks the stream. Anything else leaves
the entry pending; a live consumer reclaims it with XAUTOCLAIM once idle long enough.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson
from prometheus_client import Counter, Gauge, Histogram
from pydantic import BaseModel, ValidationError
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from wacrm_common.errors import AppError
from wacrm_common.logging import get_logger

log = get_logger(__name__)
T = TypeVar("T")

PROCESSED = Counter(
    "stream_entries_processed_total", "Entries handled and acked", ["stream", "group"]
)
FAILED = Counter("stream_entries_failed_total", "Entry handling failures", ["stream", "group"])
DEAD = Counter("stream_entries_dead_total", "Entries sent to the DLQ", ["stream", "group"])
BATCH = Histogram(
    "stream_batch_size",
    "Entries per batch",
    ["stream", "group"],
    buckets=(1, 5, 10, 50, 100, 250, 500, 1000),
)
LATENCY = Histogram("stream_batch_seconds", "Batch handling time", ["stream", "group"])
LAG = Gauge("stream_group_lag", "Entries not yet delivered to the group", ["stream", "group"])


LAG_EVERY_S = 5.0
DEPARTED_IDLE_MS = 24 * 3600 * 1000


def encode(model: BaseModel) -> dict[str, bytes]:
    """The single field `e` every stream entry carries."""
    return {"e": model.model_dump_json().encode()}


async def publish(redis: Redis, stream: str, model: BaseModel, *, maxlen: int) -> str:
    entry_id = await redis.xadd(stream, encode(model), maxlen=maxlen, approximate=True)  # type: ignore[arg-type]
    return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)


async def publish_many(
    redis: Redis, stream: str, models: Sequence[BaseModel], *, maxlen: int
) -> list[str]:
    if not models:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for model in models:
            pipe.xadd(stream, encode(model), maxlen=maxlen, approximate=True)  # type: ignore[arg-type]
        ids = await pipe.execute()
    return [i.decode() if isinstance(i, bytes) else str(i) for i in ids]


def consumer_name(configured: str = "") -> str:
    return configured or f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True, slots=True)
class Entry(Generic[T]):
    id: str
    value: T


# Entries a handler refused for good (entry id -> reason); they go to the DLQ, the rest ack.
Rejects = dict[str, str]


class PoisonEntry(Exception):
    """Raised by a parser for an entry that can never be handled."""


def model_parser(adapter: Any) -> Callable[[dict[bytes, bytes]], Any]:
    """Parse the `e` field with a pydantic TypeAdapter; any shape error is poison."""

    def parse(fields: dict[bytes, bytes]) -> Any:
        raw = fields.get(b"e")
        if raw is None:
            raise PoisonEntry("entry has no 'e' field")
        try:
            return adapter.validate_json(raw)
        except ValidationError as exc:
            raise PoisonEntry(f"invalid event: {exc.errors(include_url=False)[:3]}") from exc

    return parse


class StreamWorker(Generic[T]):
    """Consumer-group loop: read a batch, parse, hand it over, ack after the handler returns."""

    def __init__(
        self,
        redis: Redis,
        *,
        stream: str,
        group: str,
        consumer: str,
        parse: Callable[[dict[bytes, bytes]], T],
        handle: Callable[[list[Entry[T]]], Awaitable[Rejects | None]],
        batch: int = 500,
        block_ms: int = 1000,
        reclaim_idle_ms: int = 30_000,
        max_attempts: int = 5,
        departed_idle_ms: int = DEPARTED_IDLE_MS,
    ) -> None:
        self.redis = redis
        self.stream = stream
        self.group = group
        self.consumer = consumer
        self.parse = parse
        self.handle = handle
        self.batch = batch
        self.block_ms = block_ms
        self.reclaim_idle_ms = reclaim_idle_ms
        self.max_attempts = max_attempts
        self.departed_idle_ms = departed_idle_ms
        self.dlq = f"{stream}:dlq"
        self._attempts_key = f"{stream}:attempts:{group}"
        self._own_pending_done = False
        self._next_reclaim = 0.0
        self._labels = {"stream": stream, "group": group}

    async def ensure_group(self) -> None:
        with contextlib.suppress(ResponseError):  # BUSYGROUP: it exists already
            await self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        await self._forget_departed_consumers()

    async def _forget_departed_consumers(self) -> None:
        """Consumer names are per process; drop those long idle with nothing pending."""
        for c in await self.redis.xinfo_consumers(self.stream, self.group):
            name = c["name"].decode() if isinstance(c["name"], bytes) else c["name"]
            if name != self.consumer and not c["pending"] and c["idle"] >= self.departed_idle_ms:
                await self.redis.xgroup_delconsumer(self.stream, self.group, name)

    async def run(self, stop: asyncio.Event) -> None:
        await self.ensure_group()
        next_lag = 0.0
        while not stop.is_set():
            try:
                if time.monotonic() >= next_lag:
                    next_lag = time.monotonic() + LAG_EVERY_S
                    await self.lag()
                await self.step()
            except asyncio.CancelledError:
                raise
            except Exception:
                # Redis or the DB is down: entries stay pending; back off and try again.
                log.exception("stream_step_failed", stream=self.stream, group=self.group)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=1.0)

    async def step(self, *, block_ms: int | None = None) -> int:
        """One cycle: own pending entries first, then reclaimed ones, then new ones."""
        raw = await self._own_pending()
        if not raw:
            raw = await self._reclaim()
        if not raw:
            resp = await self.redis.xreadgroup(
                self.group,
                self.consumer,
                {self.stream: ">"},
                count=self.batch,
                block=self.block_ms if block_ms is None else block_ms,
            )
            raw = _entries(resp)
        if raw:
            await self._process(raw)
        return len(raw)

    async def _own_pending(self) -> list[Any]:
        # After a restart under the same name, finish what this consumer had been given.
        if self._own_pending_done:
            return []
        resp = await self.redis.xreadgroup(
            self.group, self.consumer, {self.stream: "0"}, count=self.batch
        )
        entries = [e for e in _entries(resp) if e[1]]
        if not entries:
            self._own_pending_done = True
        return entries

    async def _reclaim(self) -> list[Any]:
        now = time.monotonic()
        if now < self._next_reclaim:
            return []
        self._next_reclaim = now + max(self.reclaim_idle_ms / 4000, 0.05)
        resp = await self.redis.xautoclaim(
            self.stream,
            self.group,
            self.consumer,
            self.reclaim_idle_ms,
            start_id="0-0",
            count=self.batch,
        )
        claimed = [e for e in resp[1] if e[1]]
        deleted = resp[2] if len(resp) > 2 else []
        if deleted:  # trimmed away while pending: nothing left to process
            await self.redis.xack(self.stream, self.group, *deleted)
        return claimed

    async def _process(self, raw: list[Any]) -> None:
        parsed: list[Entry[T]] = []
        started = time.perf_counter()
        for entry_id, fields in raw:
            eid = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
            try:
                parsed.append(Entry(eid, self.parse(fields)))
            except Exception as exc:
                # Parsing is deterministic: an entry that fails once fails for ever, whatever
                # the exception (a validator's OverflowError included). Never hold the batch.
                await self._dead(eid, fields, str(exc) or repr(exc), attempts=1)
        if not parsed:
            return
        BATCH.labels(**self._labels).observe(len(parsed))
        try:
            rejects = await self.handle(parsed) or {}
        except Exception as exc:
            FAILED.labels(**self._labels).inc()
            if len(parsed) == 1:
                await self._failed(parsed[0], raw_by_id(raw), exc)
                return
            log.warning(
                "stream_batch_failed", stream=self.stream, size=len(parsed), error=repr(exc)
            )
            # Isolate the culprit: each entry alone, so one poison entry cannot hold the rest.
            for entry in parsed:
                try:
                    single = await self.handle([entry]) or {}
                except Exception as single_exc:
                    await self._failed(entry, raw_by_id(raw), single_exc)
                else:
                    await self._settle([entry], single, raw)
            return
        await self._settle(parsed, rejects, raw)
        LATENCY.labels(**self._labels).observe(time.perf_counter() - started)

    async def _settle(self, entries: list[Entry[T]], rejects: Rejects, raw: list[Any]) -> None:
        if rejects:
            fields = raw_by_id(raw)
            for entry_id, reason in rejects.items():
                await self._dead(entry_id, fields[entry_id], reason, attempts=1)
        ok = [e.id for e in entries if e.id not in rejects]
        if ok:
            await self._ack(ok)

    async def _ack(self, ids: list[str]) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.xack(self.stream, self.group, *ids)
            pipe.hdel(self._attempts_key, *ids)
            await pipe.execute()
        PROCESSED.labels(**self._labels).inc(len(ids))

    async def _failed(self, entry: Entry[T], raw: dict[str, Any], exc: Exception) -> None:
        attempts = int(await self.redis.hincrby(self._attempts_key, entry.id, 1))
        if isinstance(exc, AppError) or attempts >= self.max_attempts:
            await self._dead(entry.id, raw[entry.id], repr(exc), attempts=attempts)
        else:
            log.warning(
                "stream_entry_retry",
                stream=self.stream,
                entry_id=entry.id,
                attempts=attempts,
                error=repr(exc),
            )

    async def _dead(
        self, entry_id: str, fields: dict[bytes, bytes], error: str, *, attempts: int
    ) -> None:
        await self.redis.xadd(
            self.dlq,
            {
                "e": fields.get(b"e", b""),
                "error": error[:2000],
                "attempts": str(attempts),
                "group": self.group,
                "entry_id": entry_id,
            },
        )
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.xack(self.stream, self.group, entry_id)
            pipe.hdel(self._attempts_key, entry_id)
            await pipe.execute()
        DEAD.labels(**self._labels).inc()
        log.error("stream_entry_dead", stream=self.stream, entry_id=entry_id, error=error[:500])

    async def lag(self) -> int:
        groups = await self.redis.xinfo_groups(self.stream)
        for g in groups:
            name = g["name"].decode() if isinstance(g["name"], bytes) else g["name"]
            if name == self.group:
                value = int(g.get("lag") or 0)
                LAG.labels(**self._labels).set(value)
                return value
        return 0


def _entries(resp: Any) -> list[Any]:
    """The entries of a one-stream XREADGROUP reply (RESP2 list shape)."""
    return list(resp[0][1]) if resp else []


def raw_by_id(raw: list[Any]) -> dict[str, Any]:
    return {(i.decode() if isinstance(i, bytes) else i): f for i, f in raw}


def loads(data: bytes | str) -> Any:
    return orjson.loads(data)
