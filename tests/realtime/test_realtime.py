"""Realtime hub end to end: real uvicorn, Socket.IO clients, Valkey and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
import socketio
import uvicorn
from prometheus_client import REGISTRY
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wacrm_common.auth import Principal, hash_password, issue_token
from wacrm_common.devstack import free_port
from wacrm_common.events import rt
from wacrm_common.models import Contact, Conversation, Tenant, User, WaSession
from wacrm_common.settings import Settings
from wacrm_common.streams import publish
from wacrm_common.testing.plugin import wait_for
from wacrm_realtime.app import create_app

TIMEOUT = 10.0


@asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[str]:
    """The hub on a real uvicorn server in this event loop; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_config=None, lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        await wait_for(lambda: server.started or task.done(), timeout=TIMEOUT, what="uvicorn")
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=TIMEOUT)


@pytest.fixture
async def hub(
    settings: Settings, redis: Redis, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[str]:
    # `redis` and `sessions` first: the hub starts on a flushed Redis and an empty database.
    async with serve(settings) as url:
        yield url


class Inbox:
    """A Socket.IO client and everything it received, in arrival order."""

    def __init__(self) -> None:
        self.client = socketio.AsyncClient(reconnection=False)
        self.events: list[tuple[str, Any]] = []
        self.refusals: list[Any] = []
        self.client.on("*", self._received)
        self.client.on("connect_error", self._refused)

    async def _received(self, name: str, data: Any = None) -> None:
        self.events.append((name, data))

    async def _refused(self, data: Any = None) -> None:
        self.refusals.append(data)

    async def connect(self, url: str, auth: dict[str, Any] | None) -> None:
        await self.client.connect(url, auth=auth, transports=["websocket"], wait_timeout=TIMEOUT)

    async def until(self, event_id: str) -> list[tuple[str, Any]]:
        """Wait for the event with this stream id; returns all events received so far."""

        def arrived() -> bool:
            return any(
                isinstance(data, dict) and data.get("event_id") == event_id
                for _, data in self.events
            )

        await wait_for(arrived, timeout=TIMEOUT, what=f"event {event_id}")
        return self.events

    async def call(self, event: str, data: Any) -> Any:
        return await self.client.call(event, data, timeout=TIMEOUT)


Connect = Callable[..., Awaitable[Inbox]]


@asynccontextmanager
async def inboxes(url: str) -> AsyncIterator[Connect]:
    """A factory of connected clients, all disconnected on exit."""
    opened: list[Inbox] = []

    async def connect(token: str | None = None, **extra: Any) -> Inbox:
        inbox = Inbox()
        opened.append(inbox)
        auth = None if token is None and not extra else {"token": token, **extra}
        await inbox.connect(url, auth)
        return inbox

    try:
        yield connect
    finally:
        for inbox in opened:
            await inbox.client.disconnect()


@pytest.fixture
async def connect(hub: str) -> AsyncIterator[Connect]:
    async with inboxes(hub) as factory:
        yield factory


@dataclass(frozen=True)
class Seat:
    """A tenant with one agent (and the agent's token) and one conversation."""

    tenant_id: uuid.UUID
    user_id: uuid.UUID
    conversation_id: uuid.UUID
    token: str


def token_for(settings: Settings, principal: Principal, *, ttl_seconds: int = 600) -> str:
    return issue_token(principal, secret=settings.jwt_key(), ttl_seconds=ttl_seconds)


_PASSWORD_HASH = hash_password("correct horse battery staple")


@pytest.fixture
def make_seat(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> Callable[[str], Awaitable[Seat]]:
    async def make(name: str) -> Seat:
        tenant = Tenant(id=uuid.uuid4(), name=name)
        user = User(
            id=uuid.uuid4(),
            tenant_id=tenant.id,
            email=f"{name.lower()}@example.com",
            name=f"{name} agent",
            password_hash=_PASSWORD_HASH,
        )
        wa = WaSession(id=uuid.uuid4(), tenant_id=tenant.id, name=f"{name} phone", driver="sim")
        contact = Contact(
            id=uuid.uuid4(), tenant_id=tenant.id, wa_id="5511999990000@s.whatsapp.net"
        )
        conversation = Conversation(
            id=uuid.uuid4(),
            tenant_id=tenant.id,
            session_id=wa.id,
            contact_id=contact.id,
            chat_jid=contact.wa_id,
        )
        async with sessions() as session, session.begin():
            # No relationships between these models, so the flush order is ours to keep.
            for rows in ([tenant], [user, wa, contact], [conversation]):
                session.add_all(rows)
                await session.flush()
        token = token_for(settings, Principal(user_id=user.id, tenant_id=tenant.id))
        return Seat(tenant.id, user.id, conversation.id, token)

    return make


@dataclass(frozen=True)
class Sent:
    """One published rt event: its stream id and what a client must receive for it."""

    id: str
    name: str
    data: dict[str, Any]

    @property
    def received(self) -> tuple[str, dict[str, Any]]:
        return (self.name, self.data)


async def announce(
    redis: Redis,
    tenant_id: uuid.UUID,
    n: int,
    *,
    rooms: tuple[str, ...] | None = None,
    name: rt.RtName = "conversation.updated",
) -> Sent:
    payload = {"n": n, "tenant": str(tenant_id)}
    event = rt.RtEvent(
        tenant_id=tenant_id,
        rooms=rooms or (rt.tenant_room(tenant_id),),
        name=name,
        payload=payload,
    )
    entry_id = await publish(redis, rt.STREAM, event, maxlen=10_000)
    return Sent(entry_id, name, {**payload, "event_id": entry_id})


Seats = Callable[[str], Awaitable[Seat]]


def sample(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


# --- connect -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("auth", "message"),
    [
        pytest.param(None, "missing token", id="no_auth"),
        pytest.param({"token": ""}, "missing token", id="empty_token"),
        pytest.param({"token": "not-a-jwt"}, "invalid or expired token", id="garbage"),
        pytest.param("wrong_secret", "invalid or expired token", id="wrong_secret"),
        pytest.param("expired", "invalid or expired token", id="expired"),
    ],
)
async def test_connect_refuses_bad_credentials(
    hub: str, settings: Settings, make_seat: Seats, auth: Any, message: str
) -> None:
    seat = await make_seat("Acme")
    principal = Principal(user_id=seat.user_id, tenant_id=seat.tenant_id)
    if auth == "wrong_secret":
        auth = {"token": issue_token(principal, secret="x" * 40, ttl_seconds=600)}
    elif auth == "expired":
        auth = {"token": token_for(settings, principal, ttl_seconds=-60)}
    inbox = Inbox()
    with pytest.raises(
        socketio.exceptions.ConnectionError, match=r"^One or more namespaces failed to connect: /$"
    ):
        await inbox.connect(hub, auth)
    assert inbox.refusals == [{"message": message, "data": {"code": "unauthenticated"}}]
    assert inbox.events == []


# --- relay ---------------------------------------------------------------------------------


async def test_relay_emits_tenant_events_with_stream_id(
    connect: Connect, redis: Redis, make_seat: Seats
) -> None:
    seat = await make_seat("Acme")
    inbox = await connect(seat.token)

    first = await announce(redis, seat.tenant_id, 1, name="message.created")
    second = await announce(redis, seat.tenant_id, 2)
    await inbox.until(second.id)

    assert inbox.events == [
        ("message.created", {"n": 1, "tenant": str(seat.tenant_id), "event_id": first.id}),
        ("conversation.updated", {"n": 2, "tenant": str(seat.tenant_id), "event_id": second.id}),
    ]


async def test_relay_keeps_tenants_apart(connect: Connect, redis: Redis, make_seat: Seats) -> None:
    acme, globex = await make_seat("Acme"), await make_seat("Globex")
    acme_inbox = await connect(acme.token)
    globex_inbox = await connect(globex.token)

    for_acme = [await announce(redis, acme.tenant_id, n) for n in range(3)]
    # Even a producer bug naming the other tenant's room must not leak.
    both_tenants = (rt.tenant_room(acme.tenant_id), rt.tenant_room(globex.tenant_id))
    leak = await announce(redis, acme.tenant_id, 3, rooms=both_tenants)
    for_globex = await announce(redis, globex.tenant_id, 4)
    await acme_inbox.until(leak.id)
    await globex_inbox.until(for_globex.id)

    assert acme_inbox.events == [sent.received for sent in [*for_acme, leak]]
    assert globex_inbox.events == [for_globex.received]


async def test_relay_delivers_once_to_client_in_both_rooms(
    connect: Connect, redis: Redis, make_seat: Seats
) -> None:
    seat = await make_seat("Acme")
    inbox = await connect(seat.token)
    assert await inbox.call("join", {"conversation_id": str(seat.conversation_id)}) == {"ok": True}

    both = await announce(
        redis,
        seat.tenant_id,
        1,
        name="message.created",
        rooms=(rt.tenant_room(seat.tenant_id), rt.conversation_room(seat.conversation_id)),
    )
    only_conversation = await announce(
        redis, seat.tenant_id, 2, rooms=(rt.conversation_room(seat.conversation_id),)
    )
    # Delivery is in stream order, so once the sentinel is in, any duplicate would be too.
    sentinel = await announce(redis, seat.tenant_id, 3)
    await inbox.until(sentinel.id)

    assert inbox.events == [both.received, only_conversation.received, sentinel.received]


async def test_relay_skips_malformed_entries(
    connect: Connect, redis: Redis, make_seat: Seats
) -> None:
    seat = await make_seat("Acme")
    inbox = await connect(seat.token)
    skipped_before = sample("realtime_entries_skipped_total")

    await redis.xadd(rt.STREAM, {"e": b"{not json"})
    await redis.xadd(rt.STREAM, {"other": b"field"})
    await redis.xadd(rt.STREAM, {"e": b'{"tenant_id": "x", "rooms": [], "name": "nope"}'})
    await redis.xadd(
        rt.STREAM,
        {
            "e": rt.RtEvent(
                tenant_id=seat.tenant_id,
                rooms=(),
                name="session.updated",
                payload={},
            )
            .model_dump_json()
            .encode()
        },
    )
    after = await announce(redis, seat.tenant_id, 1)
    await inbox.until(after.id)

    assert inbox.events == [after.received]
    assert sample("realtime_entries_skipped_total") == skipped_before + 4


async def test_relay_resumes_after_redis_outage(
    settings: Settings, redis: Redis, make_seat: Seats
) -> None:
    seat = await make_seat("Acme")
    target = redis.connection_pool.connection_kwargs
    proxy = Proxy(target["host"], target["port"])
    await proxy.start()
    via_proxy = settings.model_copy(
        update={"redis_url": f"redis://127.0.0.1:{proxy.port}/{target.get('db', 0)}"}
    )
    try:
        async with serve(via_proxy) as url, inboxes(url) as connect:
            inbox = await connect(seat.token)
            before = await announce(redis, seat.tenant_id, 1)
            await inbox.until(before.id)

            errors = sample("realtime_relay_errors_total")
            await proxy.cut()
            during = await announce(redis, seat.tenant_id, 2)
            await wait_for(
                lambda: sample("realtime_relay_errors_total") > errors,
                timeout=TIMEOUT,
                what="the relay to notice the outage",
            )
            await proxy.start()
            after = await announce(redis, seat.tenant_id, 3)
            await inbox.until(after.id)

            assert inbox.events == [before.received, during.received, after.received]
    finally:
        await proxy.cut()


# --- replay --------------------------------------------------------------------------------


async def test_connect_replays_missed_events_then_live(
    connect: Connect, redis: Redis, make_seat: Seats
) -> None:
    acme, globex = await make_seat("Acme"), await make_seat("Globex")
    first = await connect(acme.token)
    seen = await announce(redis, acme.tenant_id, 0)
    await first.until(seen.id)
    await first.client.disconnect()

    missed = []
    for n in range(1, 4):
        missed.append(await announce(redis, acme.tenant_id, n))
        await announce(redis, globex.tenant_id, n)  # not Acme's: never replayed to Acme
    again = await connect(acme.token, last_event_id=seen.id)
    live = await announce(redis, acme.tenant_id, 4)
    await again.until(live.id)

    assert again.events == [sent.received for sent in [*missed, live]]


async def test_connect_replay_races_live_publishing_without_gap_or_duplicate(
    connect: Connect, redis: Redis, make_seat: Seats
) -> None:
    seat = await make_seat("Acme")
    first = await connect(seat.token)
    seen = await announce(redis, seat.tenant_id, 0)
    await first.until(seen.id)
    await first.client.disconnect()

    published: list[Sent] = []

    async def keep_publishing() -> None:
        for n in range(1, 301):
            published.append(await announce(redis, seat.tenant_id, n))

    publisher = asyncio.create_task(keep_publishing())
    await wait_for(lambda: len(published) >= 50, timeout=TIMEOUT, what="a backlog")
    again = await connect(seat.token, last_event_id=seen.id)
    await publisher
    sentinel = await announce(redis, seat.tenant_id, 301)
    await again.until(sentinel.id)

    assert again.events == [sent.received for sent in [*published, sentinel]]


async def test_connect_requires_resync_when_history_trimmed(
    connect: Connect, redis: Redis, make_seat: Seats
) -> None:
    seat = await make_seat("Acme")
    first = await connect(seat.token)
    seen = await announce(redis, seat.tenant_id, 0)
    await first.until(seen.id)
    await first.client.disconnect()

    for n in range(1, 5):
        await announce(redis, seat.tenant_id, n)
    await redis.xtrim(rt.STREAM, maxlen=2, approximate=False)  # `seen` and the next two go
    again = await connect(seat.token, last_event_id=seen.id)
    live = await announce(redis, seat.tenant_id, 5)
    await again.until(live.id)

    assert again.events == [("resync_required", {"reason": "history_trimmed"}), live.received]


@pytest.mark.parametrize(
    ("last_event_id", "reason"),
    [
        pytest.param("garbage", "malformed_last_event_id", id="garbage"),
        pytest.param("1-2-3", "malformed_last_event_id", id="three_parts"),
        pytest.param(12, "malformed_last_event_id", id="number"),
        pytest.param("99999999999999-0", "unknown_event_id", id="future"),
    ],
)
async def test_connect_requires_resync_for_unusable_last_event_id(
    connect: Connect, redis: Redis, make_seat: Seats, last_event_id: object, reason: str
) -> None:
    seat = await make_seat("Acme")
    inbox = await connect(seat.token, last_event_id=last_event_id)
    live = await announce(redis, seat.tenant_id, 1)
    await inbox.until(live.id)

    assert inbox.events == [("resync_required", {"reason": reason}), live.received]


async def test_connect_with_current_last_event_id_replays_nothing(
    connect: Connect, redis: Redis, make_seat: Seats
) -> None:
    seat = await make_seat("Acme")
    first = await connect(seat.token)
    seen = await announce(redis, seat.tenant_id, 0)
    await first.until(seen.id)

    again = await connect(seat.token, last_event_id=seen.id)
    live = await announce(redis, seat.tenant_id, 1)
    await again.until(live.id)

    assert again.events == [live.received]


# --- rooms ---------------------------------------------------------------------------------


async def test_join_own_conversation_ok(connect: Connect, make_seat: Seats) -> None:
    seat = await make_seat("Acme")
    inbox = await connect(seat.token)

    ack = await inbox.call("join", {"conversation_id": str(seat.conversation_id)})

    assert ack == {"ok": True}


async def test_join_other_tenants_conversation_refused(
    connect: Connect, redis: Redis, make_seat: Seats
) -> None:
    acme, globex = await make_seat("Acme"), await make_seat("Globex")
    inbox = await connect(acme.token)

    ack = await inbox.call("join", {"conversation_id": str(globex.conversation_id)})
    secret = await announce(
        redis, globex.tenant_id, 1, rooms=(rt.conversation_room(globex.conversation_id),)
    )
    sentinel = await announce(redis, acme.tenant_id, 2)
    await inbox.until(sentinel.id)

    assert ack == {"ok": False, "error": {"code": "not_found", "message": "conversation not found"}}
    assert secret.received not in inbox.events
    assert inbox.events == [sentinel.received]


async def test_leave_stops_conversation_events(
    connect: Connect, redis: Redis, make_seat: Seats
) -> None:
    seat = await make_seat("Acme")
    inbox = await connect(seat.token)
    room = {"conversation_id": str(seat.conversation_id)}
    conversation = (rt.conversation_room(seat.conversation_id),)
    assert await inbox.call("join", room) == {"ok": True}
    inside = await announce(redis, seat.tenant_id, 1, rooms=conversation)
    await inbox.until(inside.id)

    ack = await inbox.call("leave", room)
    outside = await announce(redis, seat.tenant_id, 2, rooms=conversation)
    sentinel = await announce(redis, seat.tenant_id, 3)
    await inbox.until(sentinel.id)

    assert ack == {"ok": True}
    assert outside.received not in inbox.events
    assert inbox.events == [inside.received, sentinel.received]


async def test_leave_other_tenants_conversation_refused(connect: Connect, make_seat: Seats) -> None:
    acme, globex = await make_seat("Acme"), await make_seat("Globex")
    inbox = await connect(acme.token)

    ack = await inbox.call("leave", {"conversation_id": str(globex.conversation_id)})

    assert ack == {"ok": False, "error": {"code": "not_found", "message": "conversation not found"}}


NOT_A_DICT = "payload: Input should be a valid dictionary or instance of RoomRequest"


@pytest.mark.parametrize("event", ["join", "leave"])
@pytest.mark.parametrize(
    ("payload", "message"),
    [
        # The client sends no argument at all for None.
        pytest.param(None, 'expected one argument: {"conversation_id": "<uuid>"}', id="none"),
        pytest.param("abc", NOT_A_DICT, id="string"),
        pytest.param({}, "conversation_id: Field required", id="empty"),
        pytest.param(
            {"conversation_id": "nope"},
            "conversation_id: Input should be a valid UUID, invalid character: found `n` at 0",
            id="not_uuid",
        ),
    ],
)
async def test_join_malformed_payload_invalid_input(
    connect: Connect, make_seat: Seats, event: str, payload: Any, message: str
) -> None:
    seat = await make_seat("Acme")
    inbox = await connect(seat.token)

    ack = await inbox.call(event, payload)

    assert ack == {"ok": False, "error": {"code": "invalid_input", "message": message}}


# --- service -------------------------------------------------------------------------------


async def test_app_serves_health_and_metrics(hub: str) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{hub}/healthz") as resp:
            assert (resp.status, await resp.json()) == (200, {"status": "ok"})
        async with http.get(f"{hub}/readyz") as resp:
            assert (resp.status, await resp.json()) == (200, {"status": "ok", "failed": {}})
        async with http.get(f"{hub}/metrics") as resp:
            body = await resp.text()
    assert resp.status == 200
    assert "realtime_connected_clients " in body
    assert "realtime_events_relayed_total" in body


async def test_metrics_count_connected_clients(connect: Connect, make_seat: Seats) -> None:
    seat = await make_seat("Acme")
    before = sample("realtime_connected_clients")

    inbox = await connect(seat.token)
    assert sample("realtime_connected_clients") == before + 1
    await inbox.client.disconnect()

    await wait_for(
        lambda: sample("realtime_connected_clients") == before,
        timeout=TIMEOUT,
        what="the gauge to drop",
    )


class Proxy:
    """A TCP forwarder to Redis that the test can cut and restore, to play an outage."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.target_port = host, port
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._pipe, "127.0.0.1", self.port)

    async def cut(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(self.host, self.target_port)
        self._writers |= {writer, up_writer}

        async def copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except OSError:
                pass  # the other side went away: that is the outage being played
            finally:
                dst.close()

        await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))


@pytest.mark.parametrize("zero", ["0-0", "0"])
async def test_connect_from_zero_replays_everything_when_nothing_was_trimmed(
    connect: Connect, redis: Redis, make_seat: Seats, zero: str
) -> None:
    """Regression: "0-0" on an untrimmed stream used to get resync_required ("0" too)."""
    seat = await make_seat("Acme")
    sent = [await announce(redis, seat.tenant_id, n) for n in range(3)]
    client = await connect(seat.token, last_event_id=zero)
    await client.until(sent[-1].id)
    assert client.events == [s.received for s in sent]
