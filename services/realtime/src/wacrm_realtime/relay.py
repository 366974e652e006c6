"""The `rt:events` reader: every node emits every entry to the rooms of its own clients."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import socketio
from redis.asyncio import Redis
from redis.exceptions import RedisError

from wacrm_common.events.rt import RT_EVENT, STREAM, RtEvent, conversation_room, tenant_room
from wacrm_common.logging import get_logger
from wacrm_common.streams import PoisonEntry, model_parser
from wacrm_realtime.metrics import RELAY_ERRORS, RELAYED, SKIPPED
from wacrm_realtime.stream_ids import ZERO, StreamId

log = get_logger(__name__)

parse_entry = model_parser(RT_EVENT)
_CONVERSATION_PREFIX = conversation_room("")


def deliverable_rooms(event: RtEvent) -> list[str]:
    """The event's rooms a client may be in: its own tenant's room and conversation rooms.

    Anything else (another tenant's room, a client's private sid room) is a producer bug
    that must not leak across tenants. An empty list must never reach `emit`, which would
    broadcast to every client of the node.
    """
    own = tenant_room(event.tenant_id)
    return [
        room
        for room in dict.fromkeys(event.rooms)
        if room == own or room.startswith(_CONVERSATION_PREFIX)
    ]


def outgoing(event: RtEvent, entry_id: StreamId) -> dict[str, Any]:
    """What a client receives: the payload plus the entry id it resumes from."""
    return {**event.payload, "event_id": str(entry_id)}


class Relay:
    """Reads all of `rt:events` (XREAD, no group) from its tail at start-up and emits each entry.

    `cursor` is the id of the last entry emitted. `advanced` (a Condition, hence a lock)
    is held while a batch is emitted and notified after it; a reconnecting client's
    catch-up holds it too, so replaying up to `cursor` and then entering the tenant room
    happen with no entry emitted in between: no gap, no duplicate.
    """

    def __init__(
        self,
        sio: socketio.AsyncServer,
        redis: Redis,
        *,
        block_ms: int,
        batch: int = 500,
        min_backoff: float = 0.1,
        max_backoff: float = 5.0,
    ) -> None:
        self.sio = sio
        self.redis = redis
        self.block_ms = block_ms
        self.batch = batch
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.cursor: StreamId | None = None
        self.advanced = asyncio.Condition()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self, *, init_timeout: float = 5.0) -> None:
        """Take the stream's tail as the cursor, then run the loop in the background.

        Taking the tail before the hub serves means an entry added once it is up is never
        mistaken for history; if Redis is down now, the loop keeps trying.
        """
        try:
            async with asyncio.timeout(init_timeout), self.advanced:
                await self.ensure_cursor()
        except (RedisError, OSError, TimeoutError) as exc:
            RELAY_ERRORS.inc()
            log.warning("rt_relay_init_failed", error=repr(exc))
        self._stop.clear()
        self._task = asyncio.create_task(self.run(), name="rt-relay")

    async def stop(self) -> None:
        self._stop.set()
        task, self._task = self._task, None
        if task is None:
            return
        # The loop notices `_stop` once its blocking XREAD returns; give it that long.
        _, pending = await asyncio.wait({task}, timeout=self.block_ms / 1000 + 1)
        if pending:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def tail(self) -> StreamId:
        """The newest entry's id (`0-0` for an empty or missing stream)."""
        # redis-py types stream replies loosely; their shape is fixed by the protocol.
        last: Any = await self.redis.xrevrange(STREAM, count=1)
        return StreamId.parse(last[0][0]) if last else ZERO

    async def ensure_cursor(self) -> StreamId:
        """The cursor, taken from the stream's tail on first use. Call with `advanced` held."""
        if self.cursor is None:
            # Equivalent to XREAD from `$` at start-up, but a concrete id, so a catch-up
            # knows where the live relay takes over.
            self.cursor = await self.tail()
            log.info("rt_relay_started", cursor=str(self.cursor))
        return self.cursor

    async def run(self) -> None:
        delay = self.min_backoff
        while not self._stop.is_set():
            try:
                await self.step()
            except (RedisError, OSError) as exc:
                RELAY_ERRORS.inc()
                log.warning("rt_relay_read_failed", error=repr(exc), retry_in_s=delay)
            except Exception:
                RELAY_ERRORS.inc()
                log.exception("rt_relay_step_failed", retry_in_s=delay)
            else:
                delay = self.min_backoff
                continue
            # Redis is down (or worse): the cursor stays put, so nothing is lost on recovery
            # unless the stream was trimmed past it meanwhile.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=delay)
            delay = min(delay * 2, self.max_backoff)

    async def step(self) -> int:
        """Read one batch after the cursor and emit it; returns the number of entries read."""
        async with self.advanced:
            cursor = await self.ensure_cursor()
        reply: Any = await self.redis.xread(
            {STREAM: str(cursor)}, count=self.batch, block=self.block_ms
        )
        entries = reply[0][1] if reply else []
        if entries:
            async with self.advanced:
                for raw_id, fields in entries:
                    entry_id = StreamId.parse(raw_id)
                    await self._relay(entry_id, fields)
                    self.cursor = entry_id
                self.advanced.notify_all()
        return len(entries)

    async def _relay(self, entry_id: StreamId, fields: dict[bytes, bytes]) -> None:
        try:
            event: RtEvent = parse_entry(fields)
        except PoisonEntry as exc:
            SKIPPED.inc()
            log.warning("rt_entry_malformed", entry_id=str(entry_id), error=str(exc)[:500])
            return
        rooms = deliverable_rooms(event)
        if not rooms:
            SKIPPED.inc()
            log.warning(
                "rt_event_without_rooms",
                entry_id=str(entry_id),
                tenant_id=str(event.tenant_id),
                rooms=list(event.rooms),
            )
            return
        try:
            # python-socketio merges the members of all `to` rooms by sid
            # (BaseManager.get_participants), so a client in several rooms gets one copy.
            await self.sio.emit(event.name, outgoing(event, entry_id), to=rooms)
        except Exception:
            # One entry that cannot be sent must not stall every client: log it, move on.
            SKIPPED.inc()
            log.exception("rt_event_emit_failed", entry_id=str(entry_id), name=event.name)
            return
        RELAYED.labels(name=event.name).inc()
