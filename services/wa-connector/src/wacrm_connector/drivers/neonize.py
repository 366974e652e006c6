"""The `neonize` driver: a real WhatsApp account over WhatsApp Web multi-device (whatsmeow).

What it does: keeps each session's keys in `<neonize_data_dir>/<session_id>.sqlite3`, so
a restart needs no new QR; emits QR codes as `session.qr` and, through `pair_phone()`, a
pair code as `session.pair_code`; maps live messages (edits, revokes, reactions too),
receipts and history sync through the same pure mapping as the simulator
(neonize_mapping.py); handles logged-out by deleting the session's files; reconnects
with backoff; sends texts (quoted replies included) and read receipts. The handlers,
mapping, files and backoff are tested offline on real neonize objects; everything that
talks to WhatsApp needs the network and has not been run end to end from here.

Neonize 0.5.2 facts this module is built around (Go side: goneonize/main.go):

- Sent-message ids cannot be chosen: `SendMessage` takes no SendRequestExtra, so
  whatsmeow generates the id. The CRM picks `wa_message_id` before sending, so this
  driver emits "sent" under that id and records WhatsApp's id for it in
  `<session_id>.sent-ids.sqlite3`; receipts, edits, reactions, quotes and history naming
  WhatsApp's id are renamed to the CRM's id before they are emitted. A receipt that
  overtakes SendMessage's return, or one for a send older than
  SENT_ID_RETENTION_SECONDS, keeps WhatsApp's id and matches nothing in the CRM.
- `Neonize()` (what `NewAClient.connect()` runs in a worker thread) blocks for the life
  of the session, so every session holds a thread. asyncio's default pool (at most 32
  threads) would run out and every later neonize call would hang, so the driver
  installs a thread-per-call default executor on the event loop (for the whole process).
- Go `Stop` is only safe once `Neonize()` has returned or its event loop has started
  (the own-device event sets `client.me`). Stopping earlier deletes the client that Go
  dereferences after pairing or QR timeout, and that panic kills the process. A run
  still waiting for a scan is therefore disconnected and abandoned, never stopped; its
  thread stays parked for the life of the process. Hence one Go client id per run, and
  at most MAX_QR_ROUNDS QR rounds per start, after which `session.disconnected`
  ("qr expired") is emitted.
- Events flow only after login. QR codes come through the separate QR callback; the
  queued QR event would arrive stale after login, so it is not subscribed.
- History sync carries `WebMessageInfo`, not the live `Message` event: each one is
  rebuilt as the live event (as whatsmeow's ParseWebMessage does) and goes through the
  same `map_message_event`. System stubs without content are skipped and counted.
- whatsmeow reconnects by itself after an unexpected disconnect; this driver restarts
  only after what whatsmeow gives up on: connect errors, connect failures, an outdated
  client, temporary bans, a replaced stream, an expired QR.

Known limits: a quote carries the quoted text only for messages seen since this driver
started, since SendText has the id alone; otherwise the reply goes out unquoted. After a
logout the driver stays idle until the session is stopped and started again. Session
files are on local disk, so a replica taking a session over needs the same volume or a
new QR. Undecryptable messages are only logged (M25). Media is not downloaded here. The
neonize Go library adds a `<bot biz_bot="1"/>` node to 1:1 sends unless
NEONIZE_BOT_TAG=off is in the environment when neonize loads (Go keeps its own copy).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
import sqlite3
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, ParamSpec, TypeVar

from neonize.aioze import events as neonize_events
from neonize.aioze.client import NewAClient, ProxySettings
from neonize.proto.Neonize_pb2 import (
    ClientOutdated,
    Connected,
    ConnectFailure,
    ConnectFailureReason,
    Disconnected,
    HistorySync,
    KeepAliveRestored,
    KeepAliveTimeout,
    LoggedOut,
    MessageInfo,
    MessageSource,
    OfflineSyncCompleted,
    PairStatus,
    Receipt,
    StreamReplaced,
    TemporaryBan,
    UndecryptableMessage,
)
from neonize.proto.Neonize_pb2 import Message as MessageEv
from neonize.proto.waCompanionReg.WAWebProtobufsCompanionReg_pb2 import DeviceProps
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import ContextInfo, ExtendedTextMessage, Message
from neonize.proto.waHistorySync.WAWebProtobufsHistorySync_pb2 import (
    HistorySync as HistorySyncData,
)
from neonize.utils.enum import ClientName, ClientType, ReceiptType

from wacrm_common.errors import Conflict, InvalidInput
from wacrm_common.events.commands import MarkRead, SendText, SimulateChatExport
from wacrm_common.events.wa import (
    ContactUpdate,
    ContactUpdatePayload,
    MessageStatus,
    MessageUpsert,
    SessionConnected,
    SessionConnectedPayload,
    SessionDisconnected,
    SessionDisconnectedPayload,
    SessionLoggedOut,
    SessionPairCode,
    SessionPairCodePayload,
    SessionQr,
    SessionQrPayload,
    StatusPayload,
    WaEvent,
)
from wacrm_common.jid import (
    GROUP_SERVER,
    LID_SERVER,
    NEWSLETTER_SERVER,
    USER_SERVER,
    bare_jid,
    is_group,
    jid_from_phone,
)
from wacrm_common.logging import get_logger
from wacrm_common.settings import Settings
from wacrm_connector.drivers.base import SessionContext
from wacrm_connector.drivers.neonize_mapping import (
    MessageEvent,
    jid_to_str,
    map_message_event,
    map_receipt,
    plain_text,
    str_to_jid,
    unwrap,
    wa_timestamp,
)

log = get_logger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

BACKOFF_BASE_SECONDS: Final = 1.0
BACKOFF_CAP_SECONDS: Final = 60.0
# Up to a quarter of each delay is taken off at random, so sessions that failed together
# do not retry together; the cap is never exceeded.
BACKOFF_JITTER: Final = 0.25
_MAX_DOUBLINGS: Final = 16
# whatsmeow shows the first QR code for 60 s and five more for 20 s each, then gives up.
QR_STALE_SECONDS: Final = 70.0
MAX_QR_ROUNDS: Final = 5
# A stored session that neither connects nor fails in this time is stuck (see docstring).
CONNECT_TIMEOUT_SECONDS: Final = 90.0
SEND_WAIT_SECONDS: Final = 15.0
PAIR_WAIT_SECONDS: Final = 30.0
STOP_GRACE_SECONDS: Final = 3.0
STOP_TIMEOUT_SECONDS: Final = 20.0
# How long an abandoned run is watched in case Go still reaches a stoppable state.
REAP_SECONDS: Final = 600.0
SENT_ID_RETENTION_SECONDS: Final = 90 * 24 * 3600
_SENT_ID_CACHE: Final = 20_000
_QUOTABLE_CACHE: Final = 500
_HISTORY_BATCH: Final = 500
DEVICE_OS: Final = "wacrm"

# Runs that may still call back from Go are kept alive here, with their ctypes callbacks.
_ABANDONED: list[_Run] = []
_REAPERS: set[asyncio.Task[None]] = set()
_LOOPS_WITH_EXECUTOR: set[int] = set()


def session_file(settings: Settings, session_id: uuid.UUID) -> Path:
    """Where whatsmeow keeps one session's keys and state (SQLite)."""
    return Path(settings.neonize_data_dir).absolute() / f"{session_id}.sqlite3"


def backoff_delay(
    attempt: int,
    *,
    base: float = BACKOFF_BASE_SECONDS,
    cap: float = BACKOFF_CAP_SECONDS,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds before reconnect attempt `attempt` (0-based): base doubling to cap, less jitter."""
    nominal = min(cap, base * float(2 ** min(attempt, _MAX_DOUBLINGS)))
    return nominal * (1 - BACKOFF_JITTER * rand())


def server_time(value: int) -> datetime:
    """A send's server timestamp: SendMessage encodes Unix seconds, SendFBMessage nanoseconds."""
    if value <= 0:
        return datetime.now(UTC)
    while value > 10**14:
        value //= 1000
    return wa_timestamp(value)


def text_message(text: str, context: ContextInfo | None = None) -> Message:
    """What WhatsApp clients send for a text: `conversation`, or the extended form to quote."""
    if context is None:
        return Message(conversation=text)
    return Message(extendedTextMessage=ExtendedTextMessage(text=text, contextInfo=context))


def _empty_jid() -> Any:
    return str_to_jid("")


def history_message(
    chat_jid: str, web: Any, *, own_jid: str | None, own_lid: str | None
) -> MessageEv | None:
    """A history-sync WebMessageInfo as the live event neonize delivers (ParseWebMessage).

    None for system stubs (no content) and when the sender cannot be known: our own
    messages need our JID, group messages their participant.
    """
    if not web.HasField("message"):
        return None
    chat = str_to_jid(chat_jid or web.key.remoteJID)
    from_me = bool(web.key.fromMe)
    if from_me:
        sender = own_lid if chat.Server == LID_SERVER and own_lid else own_jid
    elif chat.Server in (USER_SERVER, LID_SERVER, NEWSLETTER_SERVER):
        sender = jid_to_str(chat)
    else:
        sender = web.participant or web.key.participant or None
    if not sender:
        return None
    source = MessageSource(
        Chat=chat,
        Sender=str_to_jid(sender),
        IsFromMe=from_me,
        IsGroup=chat.Server == GROUP_SERVER,
        SenderAlt=_empty_jid(),
        RecipientAlt=_empty_jid(),
        BroadcastListOwner=_empty_jid(),
    )
    info = MessageInfo(
        MessageSource=source,
        ID=web.key.ID,
        ServerID=0,
        Type="",
        Pushname=web.pushName,
        # History carries seconds; live events carry milliseconds (Timestamp.UnixMilli()).
        Timestamp=int(web.messageTimestamp) * 1000,
        Category="",
        Multicast=False,
        MediaType="",
        Edit="",
    )
    return MessageEv(
        Info=info,
        Message=web.message,
        Raw=web.message,
        IsEphemeral=False,
        IsViewOnce=False,
        IsViewOnceV2=False,
        IsViewOnceV2Extension=False,
        IsDocumentWithCaption=False,
        IsLottieSticker=False,
        IsEdit=False,
        UnavailableRequestID="",
        RetryCount=0,
    )


def _enum_name(enum: Any, value: int) -> str:
    try:
        return str(enum.Name(value)).lower()
    except ValueError:
        return str(value)


def _device_jid(device: Any, name: str) -> str | None:
    if device is None or not device.HasField(name):
        return None
    jid = getattr(device, name)
    if jid.IsEmpty or not jid.User:
        return None
    return bare_jid(jid_to_str(jid))


class _ThreadPerCallExecutor(ThreadPoolExecutor):
    """Runs each call on a fresh daemon thread, with no pool limit to exhaust.

    neonize parks one call per session (see the module docstring), and an abandoned
    run's call never returns, so shutdown must not wait for them.
    """

    def __init__(self) -> None:
        super().__init__(max_workers=1, thread_name_prefix="neonize")
        self._refused = False

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        if self._refused:
            raise RuntimeError("cannot schedule new futures after shutdown")
        future: Future[T] = Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                future.set_exception(exc)
            else:
                future.set_result(result)

        threading.Thread(target=run, name="neonize-call", daemon=True).start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._refused = True
        super().shutdown(wait=False, cancel_futures=cancel_futures)


def _adopt_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Make `loop` fit for neonize: an unbounded executor, and neonize's events routed to it."""
    if id(loop) not in _LOOPS_WITH_EXECUTOR:
        loop.set_default_executor(_ThreadPerCallExecutor())
        _LOOPS_WITH_EXECUTOR.add(id(loop))
    # neonize dispatches every client's events to one module-level loop, set once.
    current = neonize_events.event_global_loop
    if current is not None and current is not loop:
        if current.is_closed():
            neonize_events.event_global_loop = loop
        else:
            log.error("neonize_event_loop_mismatch")


class _SentIds:
    """WhatsApp's id of each message sent from here → the id the CRM chose for it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cache: OrderedDict[str, str] = OrderedDict()

    def _remember(self, wa_id: str, crm_id: str) -> None:
        self._cache[wa_id] = crm_id
        self._cache.move_to_end(wa_id)
        while len(self._cache) > _SENT_ID_CACHE:
            self._cache.popitem(last=False)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path)
        db.execute(
            "CREATE TABLE IF NOT EXISTS sent_ids (wa_id TEXT PRIMARY KEY, crm_id TEXT NOT NULL,"
            " sent_at INTEGER NOT NULL)"
        )
        db.execute("CREATE INDEX IF NOT EXISTS sent_ids_crm_id ON sent_ids (crm_id)")
        return db

    def _insert(self, wa_id: str, crm_id: str, now: int) -> None:
        with contextlib.closing(self._connect()) as db, db:
            db.execute("INSERT OR REPLACE INTO sent_ids VALUES (?, ?, ?)", (wa_id, crm_id, now))
            db.execute("DELETE FROM sent_ids WHERE sent_at < ?", (now - SENT_ID_RETENTION_SECONDS,))

    def _select(self, column: str, other: str, ids: list[str]) -> dict[str, str]:
        if not self.path.exists():
            return {}
        found: dict[str, str] = {}
        with contextlib.closing(self._connect()) as db:
            # Chunks stay under SQLite's limit on bound parameters.
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = db.execute(
                    f"SELECT {column}, {other} FROM sent_ids WHERE {column} IN ({marks})", chunk
                ).fetchall()
                found.update((str(a), str(b)) for a, b in rows)
        return found

    async def add(self, *, wa_id: str, crm_id: str) -> None:
        self._remember(wa_id, crm_id)
        try:
            await asyncio.to_thread(self._insert, wa_id, crm_id, int(time.time()))
        except sqlite3.Error as exc:
            log.warning("neonize_sent_id_not_saved", wa_id=wa_id, error=str(exc))

    async def crm_ids(self, wa_ids: Iterable[str]) -> dict[str, str]:
        """CRM ids of those WhatsApp ids that were sent from here; others are absent."""
        found: dict[str, str] = {}
        missing: list[str] = []
        for wa_id in dict.fromkeys(wa_ids):
            if wa_id in self._cache:
                found[wa_id] = self._cache[wa_id]
            else:
                missing.append(wa_id)
        if missing:
            stored = await asyncio.to_thread(self._select, "wa_id", "crm_id", missing)
            for wa_id in missing:
                # A miss is remembered too: most ids asked about were never aliased.
                self._remember(wa_id, stored.get(wa_id, wa_id))
                found[wa_id] = stored.get(wa_id, wa_id)
        return {k: v for k, v in found.items() if k != v}

    async def wa_id(self, crm_id: str) -> str:
        """WhatsApp's id for a CRM id; ids the CRM did not choose are WhatsApp's already."""
        for wa_id, crm in self._cache.items():
            if crm == crm_id and wa_id != crm_id:
                return wa_id
        stored = await asyncio.to_thread(self._select, "crm_id", "wa_id", [crm_id])
        return stored.get(crm_id, crm_id)


@dataclass(frozen=True, slots=True)
class _QrCode:
    code: str


@dataclass(eq=False)
class _Run:
    """One `Neonize()` call: one Go client, from connect until it stops or is abandoned."""

    client: Any
    number: int
    task: asyncio.Task[Any] | None = None
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    end_reason: str | None = None
    qr_count: int = 0
    pair_code_requested: bool = False
    online: bool = False
    timer: asyncio.TimerHandle | None = None

    def end(self, reason: str) -> None:
        if self.end_reason is None:
            self.end_reason = reason
        self.ended.set()

    @property
    def stoppable(self) -> bool:
        """Go's Stop is safe once Neonize() returned or its event loop began (client.me set)."""
        return self.task is None or self.task.done() or self.client.me is not None


# Events about the data of the account count whichever run delivered them; the others
# describe one connection and are dropped once a newer run has started or on stop.
_DATA_EVENTS: Final = (MessageEv, Receipt, HistorySync, UndecryptableMessage, LoggedOut)


class NeonizeDriver:
    """One real WhatsApp account; see the module docstring."""

    # Seconds of the first reconnect delay; tests shorten it.
    retry_base_seconds: float = BACKOFF_BASE_SECONDS

    def __init__(self, ctx: SessionContext, *, proxy_address: str | None = None) -> None:
        self.ctx = ctx
        self.proxy_address = proxy_address
        self.session_path = session_file(ctx.settings, ctx.session_id)
        self.connect_attempts = 0
        self._token = uuid.uuid4().hex[:8]
        self._sent_ids = _SentIds(self.session_path.with_name(f"{ctx.session_id}.sent-ids.sqlite3"))
        self._quotable: OrderedDict[str, tuple[str, Message]] = OrderedDict()
        self._inbox: asyncio.Queue[tuple[_Run, Any] | None] = asyncio.Queue()
        self._run: _Run | None = None
        self._runs = 0
        self._me: Any = None
        self._connected = asyncio.Event()
        self._qr_ready = asyncio.Event()
        self._wake = asyncio.Event()
        self._closing = False
        self._logged_out = False
        self._supervisor: asyncio.Task[None] | None = None
        self._pump_task: asyncio.Task[None] | None = None
        self._handlers: dict[type, Callable[[Any], Awaitable[None]]] = {
            _QrCode: self._on_qr,
            Connected: self._on_connected,
            Disconnected: self._on_disconnected,
            LoggedOut: self._on_logged_out,
            MessageEv: self._on_message,
            Receipt: self._on_receipt,
            HistorySync: self._on_history_sync,
            UndecryptableMessage: self._on_undecryptable,
            ConnectFailure: self._on_failure,
            ClientOutdated: self._on_failure,
            TemporaryBan: self._on_failure,
            StreamReplaced: self._on_replaced,
            KeepAliveTimeout: self._on_notice,
            KeepAliveRestored: self._on_notice,
            PairStatus: self._on_notice,
            OfflineSyncCompleted: self._on_notice,
        }

    # --- lifecycle ------------------------------------------------------------------

    def _envelope(self) -> dict[str, Any]:
        return {"tenant_id": self.ctx.tenant_id, "session_id": self.ctx.session_id}

    def _log(self) -> Any:
        return log.bind(session_id=str(self.ctx.session_id))

    async def start(self) -> None:
        if self._supervisor is not None:
            return
        _adopt_loop(asyncio.get_running_loop())
        await asyncio.to_thread(self.session_path.parent.mkdir, parents=True, exist_ok=True)
        self._pump_task = asyncio.create_task(
            self._pump(), name=f"neonize-pump-{self.ctx.session_id}"
        )
        self._supervisor = asyncio.create_task(
            self._supervise(), name=f"neonize-{self.ctx.session_id}"
        )

    async def stop(self) -> None:
        was_connected = self._connected.is_set()
        await self._shutdown()
        if was_connected:
            await self._emit([self._disconnected("stopped")])

    async def logout(self) -> None:
        run = self._run
        if run is not None and self._connected.is_set():
            try:
                await run.client.logout()
            except Exception as exc:
                # The phone keeps listing the device until removed there; local state goes anyway.
                self._log().warning("neonize_logout_failed", error=str(exc))
        await self._shutdown()
        await self._forget_session("logged out")

    async def _shutdown(self) -> None:
        self._closing = True
        self._connected.clear()
        self._wake.set()
        run = self._run
        if run is not None:
            run.end("stopped")
            if run.timer is not None:
                run.timer.cancel()
        if self._supervisor is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._supervisor), STOP_TIMEOUT_SECONDS)
            except TimeoutError:
                self._supervisor.cancel()
                self._log().error("neonize_stop_timed_out")
        if self._pump_task is not None and not self._pump_task.done():
            # Drain what Go already delivered: WhatsApp will not send it again.
            self._inbox.put_nowait(None)
            try:
                await asyncio.wait_for(asyncio.shield(self._pump_task), STOP_TIMEOUT_SECONDS)
            except TimeoutError:
                self._pump_task.cancel()

    def _running(self) -> bool:
        return (
            self._supervisor is not None
            and not self._supervisor.done()
            and not self._closing
            and not self._logged_out
        )

    def _new_run(self) -> _Run:
        self._runs += 1
        client = NewAClient(
            str(self.session_path),
            props=DeviceProps(os=DEVICE_OS, platformType=DeviceProps.CHROME),
            # Go keys clients by this id; a fresh one per run keeps an abandoned run apart.
            uuid=f"{self.ctx.session_id}#{self._token}.{self._runs}",
        )
        # Its finalizer would call Go Stop whenever Python collects it, which is unsafe
        # while the run waits for a scan; runs are stopped explicitly instead.
        finalizer = getattr(client, "_stop_finalizer", None)
        if finalizer is not None:
            finalizer.detach()
        self._qr_ready.clear()
        return _Run(client=client, number=self._runs)

    async def _supervise(self) -> None:
        try:
            await self._supervise_runs()
        except Exception:
            self._log().exception("neonize_supervisor_failed")

    async def _supervise_runs(self) -> None:
        failures = qr_rounds = 0
        while not self._closing:
            run = self._new_run()
            self._run = run
            try:
                await self._connect(run)
                await run.ended.wait()
            except Exception:
                self._log().exception("neonize_connect_error")
                run.end("connect_failed")
            finally:
                await self._end_run(run)
            if self._closing or run.end_reason == "logged_out":
                return
            if run.online:
                failures = qr_rounds = 0
            if run.end_reason == "qr_expired":
                qr_rounds += 1
                if qr_rounds >= MAX_QR_ROUNDS:
                    self._log().info("neonize_qr_given_up", rounds=qr_rounds)
                    await self._emit([self._disconnected("qr expired")])
                    return
                delay = 0.0
            elif run.end_reason == "replaced":
                # Another connection took over; give a stale replica time to let go.
                delay = BACKOFF_CAP_SECONDS
            else:
                delay = backoff_delay(failures, base=self.retry_base_seconds)
                failures += 1
            self._log().info("neonize_reconnect_scheduled", reason=run.end_reason, delay=delay)
            await self._pause(delay)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    def _register(self, run: _Run) -> None:
        """Subscribe to the run's events; neonize schedules each callback on the loop in order."""

        async def enqueue(_client: Any, event: Any) -> None:
            self._inbox.put_nowait((run, event))

        async def on_qr(_client: Any, data: bytes) -> None:
            self._inbox.put_nowait((run, _QrCode(data.decode())))

        for kind in self._handlers:
            if kind is not _QrCode:
                run.client.event(kind)(enqueue)
        run.client.event.qr(on_qr)

    async def _connect(self, run: _Run) -> None:
        self.connect_attempts += 1
        self._register(run)
        proxy = ProxySettings(proxy_address=self.proxy_address) if self.proxy_address else None
        run.task = await run.client.connect(proxy)
        run.task.add_done_callback(functools.partial(self._connect_finished, run))
        self._arm(run, CONNECT_TIMEOUT_SECONDS, "connect_timeout")

    def _connect_finished(self, run: _Run, task: asyncio.Task[Any]) -> None:
        if task.cancelled():
            run.end("cancelled")
            return
        exc = task.exception()
        if exc is not None:
            self._log().warning("neonize_connect_failed", run=run.number, error=str(exc))
            run.end("connect_failed")
        else:
            run.end("finished")

    def _arm(self, run: _Run, seconds: float, reason: str) -> None:
        if run.timer is not None:
            run.timer.cancel()
        run.timer = asyncio.get_running_loop().call_later(
            seconds, self._timed_out, run, run.qr_count, reason
        )

    def _timed_out(self, run: _Run, qr_count: int, reason: str) -> None:
        if run.ended.is_set() or run.client.me is not None or run.qr_count != qr_count:
            return
        self._log().warning("neonize_run_timed_out", run=run.number, reason=reason)
        run.end(reason)

    async def _end_run(self, run: _Run) -> None:
        if run.timer is not None:
            run.timer.cancel()
        self._connected.clear()
        if run.task is None:
            return
        if not run.stoppable:
            with contextlib.suppress(Exception):
                await run.client.disconnect()
            if run.qr_count == 0:
                await self._until(lambda: run.stoppable, STOP_GRACE_SECONDS)
        if await self._stop_go_client(run):
            return
        # Never Go Stop here (module docstring); if Go reaches a safe state later, stop it then.
        _ABANDONED.append(run)
        self._log().warning("neonize_run_abandoned", run=run.number, qr_codes=run.qr_count)
        reaper = asyncio.create_task(self._reap(run))
        _REAPERS.add(reaper)
        reaper.add_done_callback(_REAPERS.discard)

    async def _stop_go_client(self, run: _Run) -> bool:
        """Go Stop for a run that allows it; True once its Neonize() call has returned."""
        if run.task is None or not run.stoppable:
            return False
        with contextlib.suppress(Exception):
            await run.client.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(run.task), STOP_GRACE_SECONDS)
        return run.task.done()

    async def _reap(self, run: _Run) -> None:
        await self._until(lambda: run.stoppable, REAP_SECONDS, interval=1.0)
        if await self._stop_go_client(run):
            self._log().info("neonize_run_reaped", run=run.number)

    @staticmethod
    async def _until(check: Callable[[], bool], seconds: float, *, interval: float = 0.05) -> None:
        # Polled: Go sets client.me from its own thread and tells no one.
        for _ in range(max(1, round(seconds / interval))):
            if check():
                return
            await asyncio.sleep(interval)

    # --- events from Go ---------------------------------------------------------------

    async def _pump(self) -> None:
        while (item := await self._inbox.get()) is not None:
            run, event = item
            # A QR or "connected" drained after stop() would undo the operator's "stopped".
            stale = self._closing or run is not self._run
            if stale and not isinstance(event, _DATA_EVENTS):
                continue
            handler = self._handlers.get(type(event))
            if handler is None:
                continue
            try:
                await handler(event)
            except Exception:
                self._log().exception("neonize_event_failed", event=type(event).__name__)

    async def _emit(self, events: Sequence[WaEvent]) -> None:
        """Publish, retrying while Redis is away: whatsmeow has already acknowledged these."""
        if not events:
            return
        attempt = 0
        while True:
            try:
                await self.ctx.emit(list(events))
                return
            except Exception as exc:
                if self._closing and attempt >= 2:
                    self._log().error("neonize_events_lost", count=len(events), error=repr(exc))
                    return
                delay = backoff_delay(attempt)
                attempt += 1
                self._log().warning("neonize_emit_failed", error=repr(exc), retry_in=delay)
                await asyncio.sleep(delay)

    def _disconnected(self, reason: str) -> SessionDisconnected:
        return SessionDisconnected(
            **self._envelope(), payload=SessionDisconnectedPayload(reason=reason)
        )

    def _own_device(self) -> Any:
        run = self._run
        if run is not None and run.client.me is not None:
            self._me = run.client.me
        return self._me

    def _own_jids(self) -> tuple[str | None, str | None]:
        me = self._own_device()
        return _device_jid(me, "JID"), _device_jid(me, "LID")

    async def _on_qr(self, event: _QrCode) -> None:
        run = self._run
        if run is not None:
            run.qr_count += 1
            self._arm(run, QR_STALE_SECONDS, "qr_expired")
            if run.pair_code_requested:
                return
        self._qr_ready.set()
        await self._emit([SessionQr(**self._envelope(), payload=SessionQrPayload(code=event.code))])

    async def _on_connected(self, _event: Any) -> None:
        me = self._own_device()
        run = self._run
        if run is not None:
            run.online = True
            if run.timer is not None:
                run.timer.cancel()
        self._connected.set()
        jid, _ = self._own_jids()
        push_name = (str(me.PushName) or None) if me is not None else None
        self._log().info("neonize_connected", jid=jid)
        await self._emit(
            [
                SessionConnected(
                    **self._envelope(),
                    payload=SessionConnectedPayload(jid=jid, push_name=push_name),
                )
            ]
        )

    async def _on_disconnected(self, _event: Any) -> None:
        # whatsmeow reconnects by itself after an unexpected disconnect.
        self._connected.clear()
        await self._emit([self._disconnected("connection lost")])

    async def _on_logged_out(self, event: Any) -> None:
        name = _enum_name(ConnectFailureReason, event.Reason) if event.HasField("Reason") else None
        self._connected.clear()
        if self._run is not None:
            self._run.end("logged_out")
        self._log().warning("neonize_logged_out", reason=name, on_connect=bool(event.OnConnect))
        await self._forget_session(f"logged out ({name})" if name else "logged out")

    async def _forget_session(self, reason: str) -> None:
        if self._logged_out:
            return
        self._logged_out = True
        await asyncio.to_thread(self._delete_files)
        await self._emit(
            [
                SessionLoggedOut(
                    **self._envelope(),
                    payload=SessionDisconnectedPayload(reason=reason),
                )
            ]
        )

    def _delete_files(self) -> None:
        for path in (self.session_path, self._sent_ids.path):
            for suffix in ("", "-journal", "-wal", "-shm"):
                path.with_name(path.name + suffix).unlink(missing_ok=True)

    async def _on_message(self, event: MessageEv) -> None:
        mapped = map_message_event(event, **self._envelope())
        if mapped is None:
            return
        if isinstance(mapped, MessageUpsert):
            content = event.Message if event.HasField("Message") else event.Raw
            self._remember(mapped.payload.key.id, mapped.payload.sender_jid, content)
        await self._emit([await self._unalias(mapped)])

    async def _on_receipt(self, event: Receipt) -> None:
        mapped = map_receipt(event, **self._envelope())
        if mapped is not None:
            await self._emit([await self._unalias(mapped)])

    async def _on_history_sync(self, event: HistorySync) -> None:
        data = event.Data
        own_jid, own_lid = self._own_jids()
        names: list[WaEvent] = []
        messages: list[MessageEvent] = []
        seen = 0
        for conversation in data.conversations:
            if conversation.name and is_group(conversation.ID):
                names.append(
                    ContactUpdate(
                        **self._envelope(),
                        payload=ContactUpdatePayload(
                            jid=conversation.ID,
                            name=conversation.name,
                        ),
                    )
                )
            for item in conversation.messages:
                seen += 1
                try:
                    rebuilt = history_message(
                        conversation.ID, item.message, own_jid=own_jid, own_lid=own_lid
                    )
                    mapped = map_message_event(rebuilt, **self._envelope()) if rebuilt else None
                except (InvalidInput, ValueError) as exc:
                    self._log().warning("neonize_history_message_unreadable", error=str(exc))
                    mapped = None
                if mapped is not None:
                    messages.append(mapped)
        skipped = seen - len(messages)
        # One lookup for all our own messages, so the renames below hit the cache.
        await self._sent_ids.crm_ids(m.payload.key.id for m in messages if m.payload.key.from_me)
        out = names + [await self._unalias(m) for m in messages]
        for start in range(0, len(out), _HISTORY_BATCH):
            await self._emit(out[start : start + _HISTORY_BATCH])
        self._log().info(
            "neonize_history_sync",
            sync_type=_enum_name(HistorySyncData.HistorySyncType, data.syncType),
            conversations=len(data.conversations),
            messages=seen,
            mapped=seen - skipped,
            skipped=skipped,
        )

    async def _on_undecryptable(self, event: UndecryptableMessage) -> None:
        # whatsmeow asks the sender's phone to retry; the retried copy arrives as a message.
        source = event.Info.MessageSource
        self._log().warning(
            "neonize_undecryptable_message",
            message_id=event.Info.ID,
            chat_jid=jid_to_str(source.Chat),
            sender_jid=jid_to_str(source.Sender),
            unavailable=bool(event.IsUnavailable),
            fail_mode=_enum_name(UndecryptableMessage.DecryptFailModeT, event.DecryptFailMode),
        )

    async def _on_failure(self, event: Any) -> None:
        """Failures after which whatsmeow does not reconnect by itself."""
        if isinstance(event, TemporaryBan):
            reason = f"temporarily banned ({_enum_name(TemporaryBan.TempBanReason, event.Code)})"
        elif isinstance(event, ClientOutdated):
            reason = "client outdated"
        else:
            reason = f"connect failure ({_enum_name(ConnectFailureReason, event.Reason)})"
        self._log().warning("neonize_connection_failed", reason=reason)
        self._connected.clear()
        if self._run is not None:
            self._run.end("failure")
        await self._emit([self._disconnected(reason)])

    async def _on_replaced(self, _event: Any) -> None:
        self._log().warning("neonize_stream_replaced")
        self._connected.clear()
        if self._run is not None:
            self._run.end("replaced")
        await self._emit([self._disconnected("replaced by another connection")])

    async def _on_notice(self, event: Any) -> None:
        self._log().info("neonize_notice", event=type(event).__name__)

    # --- WhatsApp's ids vs the CRM's ------------------------------------------------

    async def _unalias(self, event: MessageEvent | MessageStatus) -> Any:
        """Rename our sent messages from WhatsApp's id to the id the CRM chose."""
        if isinstance(event, MessageStatus):
            table = await self._sent_ids.crm_ids(event.payload.message_ids)
            if not table:
                return event
            ids = tuple(table.get(i, i) for i in event.payload.message_ids)
            return event.model_copy(
                update={"payload": event.payload.model_copy(update={"message_ids": ids})}
            )
        payload = event.payload
        updates: dict[str, Any] = {}
        if payload.key.from_me:
            table = await self._sent_ids.crm_ids([payload.key.id])
            if payload.key.id in table:
                updates["key"] = payload.key.model_copy(update={"id": table[payload.key.id]})
        if isinstance(event, MessageUpsert) and event.payload.quoted is not None:
            quoted = event.payload.quoted
            if quoted.sender_jid is not None and quoted.sender_jid in self._own_jids():
                table = await self._sent_ids.crm_ids([quoted.id])
                if quoted.id in table:
                    updates["quoted"] = quoted.model_copy(update={"id": table[quoted.id]})
        if not updates:
            return event
        return event.model_copy(update={"payload": payload.model_copy(update=updates)})

    def _remember(self, wa_id: str, sender_jid: str, content: Message) -> None:
        text = plain_text(unwrap(content))
        if not wa_id or text is None:
            return
        self._quotable[wa_id] = (sender_jid, Message(conversation=text))
        self._quotable.move_to_end(wa_id)
        while len(self._quotable) > _QUOTABLE_CACHE:
            self._quotable.popitem(last=False)

    async def _outgoing(self, command: SendText) -> Message:
        if not command.quoted_id:
            return text_message(command.text)
        wa_id = await self._sent_ids.wa_id(command.quoted_id)
        cached = self._quotable.get(wa_id)
        if cached is None:
            # WhatsApp shows a quote from the quoted content, which only SendText could carry.
            self._log().info("neonize_quote_unknown", quoted_id=command.quoted_id)
            return text_message(command.text)
        participant, content = cached
        context = ContextInfo(stanzaID=wa_id, participant=participant, quotedMessage=content)
        return text_message(command.text, context)

    # --- commands -------------------------------------------------------------------

    async def _connected_run(self) -> _Run:
        if not self._running():
            raise Conflict("WhatsApp session is not running", code="session_not_running")
        try:
            await asyncio.wait_for(self._connected.wait(), SEND_WAIT_SECONDS)
        except TimeoutError:
            raise ConnectionError("WhatsApp session is not connected") from None
        run = self._run
        if run is None:  # pragma: no cover - connected implies a run
            raise ConnectionError("WhatsApp session is not connected")
        return run

    async def send_text(self, command: SendText) -> None:
        to = str_to_jid(command.chat_jid)
        run = await self._connected_run()
        message = await self._outgoing(command)
        response = await run.client.send_message(to, message)
        wa_id = str(response.ID)
        if wa_id and wa_id != command.wa_message_id:
            await self._sent_ids.add(wa_id=wa_id, crm_id=command.wa_message_id)
        own_jid, _ = self._own_jids()
        if own_jid is not None:
            self._remember(wa_id or command.wa_message_id, own_jid, message)
        # whatsmeow reports "sent" as the return of SendMessage (the server ack), not a Receipt.
        await self._emit(
            [
                MessageStatus(
                    **self._envelope(),
                    payload=StatusPayload(
                        chat_jid=command.chat_jid,
                        message_ids=(command.wa_message_id,),
                        status="sent",
                        timestamp=server_time(int(response.Timestamp)),
                    ),
                )
            ]
        )

    async def mark_read(self, command: MarkRead) -> None:
        if not command.wa_message_ids:
            return
        chat, sender = str_to_jid(command.chat_jid), str_to_jid(command.sender_jid)
        run = await self._connected_run()
        await run.client.mark_read(
            *command.wa_message_ids, chat=chat, sender=sender, receipt=ReceiptType.READ
        )

    async def pair_phone(self, phone: str) -> str:
        """Ask for an 8-character code to type on the phone instead of scanning the QR."""
        digits = jid_from_phone(phone).partition("@")[0]
        if not self._running():
            raise Conflict("WhatsApp session is not running", code="session_not_running")
        if self._connected.is_set():
            raise Conflict("WhatsApp session is already paired", code="session_paired")
        # whatsmeow pairs by code only on a connected, unpaired socket: the QR phase.
        try:
            await asyncio.wait_for(self._qr_ready.wait(), PAIR_WAIT_SECONDS)
        except TimeoutError:
            raise ConnectionError("WhatsApp session is not waiting for pairing") from None
        run = self._run
        if run is None:  # pragma: no cover - a QR implies a run
            raise ConnectionError("WhatsApp session is not waiting for pairing")
        run.pair_code_requested = True
        code = str(
            await run.client.PairPhone(
                digits, True, client_name=ClientName.LINUX, client_type=ClientType.CHROME
            )
        )
        await self._emit(
            [
                SessionPairCode(
                    **self._envelope(),
                    payload=SessionPairCodePayload(code=code),
                )
            ]
        )
        return code

    async def simulate_chat_export(self, command: SimulateChatExport) -> int:
        raise Conflict("chat-export replay is for simulator sessions only")
