"""Bringing a (re)connecting client live: what it missed from `rt:events`, then its tenant room."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from redis.exceptions import RedisError

from wacrm_common.events.rt import STREAM, RtEvent, tenant_room
from wacrm_common.logging import get_logger
from wacrm_common.streams import PoisonEntry
from wacrm_realtime.metrics import REPLAYED
from wacrm_realtime.relay import Relay, deliverable_rooms, outgoing, parse_entry
from wacrm_realtime.stream_ids import StreamId

log = get_logger(__name__)

RESYNC = "resync_required"
PAGE = 500
# How long a client that read an entry on another node waits for this node's relay to
# reach it; past that the client is told to resync rather than held at the door.
CATCH_UP_SECONDS = 5.0


class HistoryGap(Exception):
    """What the client missed can no longer be replayed; it must reload its state."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def go_live(
    relay: Relay, *, sid: str, tenant_id: uuid.UUID, last_event_id: object = None
) -> None:
    """Put `sid` in its tenant room; first replay its tenant's entries after `last_event_id`.

    The bulk of the backlog is replayed without the relay's lock, so a long catch-up does
    not hold up live delivery to everyone else; the remainder (what the relay emitted
    meanwhile) is replayed under the lock, and the client enters the room before the lock
    is released, so the relay's next batch is the first the client gets live.
    """
    room = tenant_room(tenant_id)
    if last_event_id is None:
        await relay.sio.enter_room(sid, room)
        return
    try:
        since = _parse_last_event_id(last_event_id)
        since = await _replay_backlog(relay, sid=sid, tenant_id=tenant_id, since=since)
        async with relay.advanced:
            upto = await relay.ensure_cursor()
            await _replay(relay, sid=sid, tenant_id=tenant_id, since=since, upto=upto)
            await relay.sio.enter_room(sid, room)
        return
    except HistoryGap as gap:
        reason = gap.reason
    except (RedisError, OSError) as exc:
        log.warning("rt_replay_failed", sid=sid, error=repr(exc))
        reason = "history_unavailable"
    log.info("rt_resync_required", sid=sid, tenant_id=str(tenant_id), reason=reason)
    async with relay.advanced:
        await relay.sio.emit(RESYNC, {"reason": reason}, to=sid)
        await relay.sio.enter_room(sid, room)


def _parse_last_event_id(raw: object) -> StreamId:
    if not isinstance(raw, str):
        raise HistoryGap("malformed_last_event_id")
    try:
        return StreamId.parse(raw)
    except ValueError:
        raise HistoryGap("malformed_last_event_id") from None


async def _replay_backlog(
    relay: Relay, *, sid: str, tenant_id: uuid.UUID, since: StreamId
) -> StreamId:
    """Replay up to where the relay is now, without its lock; returns how far it got."""
    async with relay.advanced:
        cursor = await relay.ensure_cursor()
        if since > cursor:
            # The client read `since` from a node whose relay is ahead of ours; wait for
            # ours to pass it, or the entries between would arrive twice.
            if since > await relay.tail():
                raise HistoryGap("unknown_event_id")
            try:
                await asyncio.wait_for(
                    relay.advanced.wait_for(lambda: (relay.cursor or cursor) >= since),
                    timeout=CATCH_UP_SECONDS,
                )
            except TimeoutError:
                raise HistoryGap("relay_behind") from None
        upto = relay.cursor or cursor
    return await _replay(relay, sid=sid, tenant_id=tenant_id, since=since, upto=upto)


async def _replay(
    relay: Relay, *, sid: str, tenant_id: uuid.UUID, since: StreamId, upto: StreamId
) -> StreamId:
    """Emit to `sid` the tenant's entries in (since, upto], in order; returns `upto`."""
    while since < upto:
        # One MULTI: the head check and the page see the same stream, so a trim racing
        # the replay cannot slip a gap between them.
        async with relay.redis.pipeline(transaction=True) as pipe:
            pipe.xinfo_stream(STREAM)
            pipe.xrange(STREAM, min=f"({since}", max=str(upto), count=PAGE)
            info, page = await pipe.execute()
        if _gap_after(info, since):
            raise HistoryGap("history_trimmed")
        for raw_id, fields in page:
            entry_id = StreamId.parse(raw_id)
            event = _tenant_event(fields, tenant_id)
            if event is not None:
                await relay.sio.emit(event.name, outgoing(event, entry_id), to=sid)
                REPLAYED.inc()
            since = entry_id
        if len(page) < PAGE:
            break
    return max(since, upto)


def _gap_after(info: dict[str, Any], since: StreamId) -> bool:
    """Whether an entry after `since` was removed before this client could get it.

    XDEL raises `max-deleted-entry-id`; trimming removes the oldest entries, which shows
    as fewer entries than were ever added and a first entry past `since`. A client
    resuming from 0-0 of a stream that never lost anything has no gap.
    """
    if StreamId.parse(info["max-deleted-entry-id"]) > since:
        return True
    first = info.get("first-entry")
    trimmed = int(info["entries-added"]) > int(info["length"])
    return bool(trimmed and first and StreamId.parse(first[0]) > since)


def _tenant_event(fields: dict[bytes, bytes], tenant_id: uuid.UUID) -> RtEvent | None:
    """The entry if it is this tenant's and was deliverable live; the relay logs the rest."""
    try:
        event: RtEvent = parse_entry(fields)
    except PoisonEntry:
        return None
    if event.tenant_id != tenant_id or not deliverable_rooms(event):
        return None
    return event
