"""Session ownership and execution: leases in Redis, one runner per owned session.

Every replica runs one SessionManager. Each tick it renews the leases it holds, drops
sessions no longer desired (or whose lease it lost), and takes free desired sessions up
to its capacity. If a replica dies its leases expire and another replica takes over.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable, Sequence

from redis.asyncio import Redis

from wacrm_common.errors import AppError, InvalidInput
from wacrm_common.events.base import utcnow
from wacrm_common.events.commands import (
    COMMAND,
    Command,
    LogoutSession,
    MarkRead,
    PairPhone,
    SendText,
    SimulateChatExport,
    command_stream,
)
from wacrm_common.events.wa import STREAM, MessageStatus, StatusPayload, WaEvent
from wacrm_common.logging import get_logger
from wacrm_common.sessions import DESIRED, GENERATION, lease_key, session_key
from wacrm_common.settings import Settings
from wacrm_common.streams import Entry, Rejects, StreamWorker, model_parser, publish_many
from wacrm_connector.drivers.base import Driver, SessionContext

log = get_logger(__name__)

COMMAND_GROUP = "connector"
SENT_MARK_TTL_S = 7 * 24 * 3600
# Compare-and-act on the lease, atomically: only the holder may renew or release it.
_RENEW = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
)
_RELEASE = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('del', KEYS[1]) else return 0 end"
)

DriverFactory = Callable[[str, SessionContext], Driver]


class SessionRunner:
    """One owned session: its driver plus the consumer of its command stream."""

    def __init__(self, driver: Driver, ctx: SessionContext, worker: StreamWorker[Command]) -> None:
        self.driver = driver
        self.ctx = ctx
        self.worker = worker
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.generation = "0"

    async def start(self) -> None:
        await self.driver.start()
        await self.worker.ensure_group()
        self._task = asyncio.create_task(self.worker.run(self._stop))

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._task, timeout=10)
        await self.driver.stop()


class SessionManager:
    def __init__(
        self, settings: Settings, *, redis: Redis, driver_factory: DriverFactory, instance: str
    ) -> None:
        self.settings = settings
        self.redis = redis
        self.driver_factory = driver_factory
        self.instance = instance
        self.runners: dict[str, SessionRunner] = {}

    async def emit(self, events: Sequence[WaEvent]) -> None:
        await publish_many(self.redis, STREAM, list(events), maxlen=self.settings.stream_maxlen)

    async def run(self, stop: asyncio.Event) -> None:
        interval = self.settings.lease_ms / 3000
        while not stop.is_set():
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("session_manager_tick_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=min(interval, 1.0))
        await self.release_all()

    async def tick(self) -> None:
        desired = {_text(m) for m in await self.redis.smembers(DESIRED)}
        owned = list(self.runners)
        async with self.redis.pipeline(transaction=False) as pipe:
            for session_id in owned:
                pipe.hget(session_key(session_id), GENERATION)
            generations = await pipe.execute()
        for session_id, generation in zip(owned, generations, strict=True):
            kept = (
                session_id in desired
                and _text(generation or b"0") == self.runners[session_id].generation
                and await self.redis.eval(
                    _RENEW, 1, lease_key(session_id), self.instance, self.settings.lease_ms
                )
            )
            if not kept:  # stopped, restarted (new generation) or lease lost
                await self._drop(session_id)
        for session_id in sorted(desired - set(self.runners)):
            if len(self.runners) >= self.settings.connector_capacity:
                break
            taken = await self.redis.set(
                lease_key(session_id), self.instance, nx=True, px=self.settings.lease_ms
            )
            if taken:
                await self._take(session_id)

    async def _take(self, session_id: str) -> None:
        info = {
            _text(k): _text(v)
            for k, v in (await self.redis.hgetall(session_key(session_id))).items()
        }
        try:
            ctx = SessionContext(
                tenant_id=uuid.UUID(info["tenant_id"]),
                session_id=uuid.UUID(session_id),
                settings=self.settings,
                emit=self.emit,
            )
            driver = self.driver_factory(info["driver"], ctx)
            generation = info.get(GENERATION, "0")
            runner = SessionRunner(driver, ctx, self._command_worker(ctx, driver, generation))
            runner.generation = generation
            await runner.start()
        except Exception:
            log.exception("session_start_failed", session_id=session_id)
            await self.redis.eval(_RELEASE, 1, lease_key(session_id), self.instance)
            return
        self.runners[session_id] = runner
        log.info("session_taken", session_id=session_id, driver=info["driver"])

    async def _drop(self, session_id: str) -> None:
        runner = self.runners.pop(session_id)
        try:
            await runner.stop()
        finally:
            await self.redis.eval(_RELEASE, 1, lease_key(session_id), self.instance)
        log.info("session_released", session_id=session_id)

    async def release_all(self) -> None:
        # All at once: a replica with hundreds of sessions must fit its termination grace.
        await asyncio.gather(*(self._drop(s) for s in list(self.runners)), return_exceptions=True)

    def _command_worker(
        self, ctx: SessionContext, driver: Driver, generation: str
    ) -> StreamWorker[Command]:
        async def handle(entries: list[Entry[Command]]) -> Rejects:
            rejects: Rejects = {}
            for entry in entries:
                cmd = entry.value
                if cmd.session_id != ctx.session_id or cmd.tenant_id != ctx.tenant_id:
                    rejects[entry.id] = "command for another session"
                    continue
                if cmd.generation is not None and str(cmd.generation) != generation:
                    # Meant for an earlier run (a logout queued while stopped, say): a new
                    # run must not act on it. Acked, not dead: nothing went wrong.
                    log.info("command_skipped_stale", type=cmd.type, session_id=str(ctx.session_id))
                    continue
                try:
                    await execute(driver, cmd, ctx, redis=self.redis)
                except AppError as exc:
                    rejects[entry.id] = exc.message
            return rejects

        return StreamWorker(
            self.redis,
            stream=command_stream(ctx.session_id),
            group=COMMAND_GROUP,
            consumer=self.instance,
            parse=model_parser(COMMAND),
            handle=handle,
            batch=50,
            block_ms=self.settings.consumer_block_ms,
            reclaim_idle_ms=self.settings.reclaim_idle_ms,
            max_attempts=self.settings.max_attempts,
        )


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def execute(driver: Driver, cmd: Command, ctx: SessionContext, *, redis: Redis) -> None:
    """Run one command. A failed send is recorded on the message (M02), never swallowed."""
    if isinstance(cmd, SendText):
        # Commands are delivered at least once (stream redelivery, outbox sweep): a message
        # is handed to WhatsApp at most once, whatever happens to the command entry.
        first = await redis.set(f"wa:sent:{cmd.message_id}", "1", nx=True, ex=SENT_MARK_TTL_S)
        if not first:
            log.info("send_skipped_duplicate", message_id=str(cmd.message_id))
            return
        try:
            await driver.send_text(cmd)
        except Exception as exc:
            log.warning("send_failed", session_id=str(ctx.session_id), error=repr(exc))
            await ctx.emit(
                [
                    MessageStatus(
                        tenant_id=ctx.tenant_id,
                        session_id=ctx.session_id,
                        payload=StatusPayload(
                            chat_jid=cmd.chat_jid,
                            message_ids=(cmd.wa_message_id,),
                            status="failed",
                            timestamp=utcnow(),
                            error_code="send_failed",
                            error_message=str(exc)[:500],
                        ),
                    )
                ]
            )
    elif isinstance(cmd, MarkRead):
        await driver.mark_read(cmd)
    elif isinstance(cmd, SimulateChatExport):
        await driver.simulate_chat_export(cmd)
    elif isinstance(cmd, PairPhone):
        await driver.pair_phone(cmd.phone)
    elif isinstance(cmd, LogoutSession):
        await driver.logout()
    else:  # pragma: no cover - the union is exhaustive
        raise InvalidInput(f"unknown command {type(cmd).__name__}")
