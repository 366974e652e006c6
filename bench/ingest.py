"""`make bench`: ingest throughput of the stream worker against the naive per-message writes.

Starts real servers (embedded unless DATABASE_URL / REDIS_URL / S3_ENDPOINT_URL are set),
migrates a fresh `wacrm_bench` schema, then measures on the same schema and servers:

  A  the product: N inbound `message.upsert` events already in `wa:events`, consumed by
     `wacrm_ingest.worker` (batched upserts, one transaction per batch) until every message
     row is committed and the group has nothing pending;
  B  the naive way: one transaction per message with separate statements (upsert contact,
     upsert conversation, insert message, bump conversation, commit).

Progress goes to stderr; the last line on stdout is one JSON object with the results.

    .venv/bin/python bench/ingest.py [--messages 20000] [--chats 500] [--repeat 1]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import logging
import os
import platform
import random
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import structlog
from redis.asyncio import Redis
from sqlalchemy import func, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from wacrm_common.db import create_engine, session_factory
from wacrm_common.devstack import start_stack
from wacrm_common.events.wa import STREAM, MessageKey, MessagePayload, MessageUpsert
from wacrm_common.jid import is_group, phone_from_jid
from wacrm_common.migrate import reset
from wacrm_common.models import Contact, Conversation, Message, Tenant, WaSession
from wacrm_common.settings import Settings
from wacrm_common.streams import publish_many
from wacrm_ingest.handlers import preview
from wacrm_ingest.worker import GROUP, build_worker

DATABASE = "wacrm_bench"
DEFAULT_BATCH: int = Settings.model_fields["consumer_batch"].default
POLL_SECONDS = 0.02
# Per-phase ceiling: a stuck worker ends the run with an error instead of hanging `make bench`.
PHASE_TIMEOUT = 300.0

FIRST_NAMES = (
    "Mariana",
    "João",
    "Ana Clara",
    "Pedro",
    "Beatriz",
    "Lucas",
    "Fernanda",
    "Rafael",
    "Juliana",
    "Gabriel",
    "Camila",
    "Thiago",
    "Larissa",
    "Felipe",
    "Patrícia",
    "Rodrigo",
    "Aline",
    "Bruno",
    "Letícia",
    "Gustavo",
    "Vitória",
    "Matheus",
    "Luíza",
    "Caio",
)
LAST_NAMES = (
    "Souza",
    "Silva",
    "Oliveira",
    "Santos",
    "Pereira",
    "Costa",
    "Rodrigues",
    "Almeida",
    "Nascimento",
    "Lima",
    "Araújo",
    "Fernandes",
    "Carvalho",
    "Gomes",
    "Ribeiro",
    "Conceição",
)
DDDS = ("11", "21", "31", "41", "47", "48", "51", "61", "62", "71", "81", "85", "91")
GREETINGS = ("Oi", "Olá", "Bom dia", "Boa tarde", "Boa noite", "Oi, tudo bem?", "Opa")
BODIES = (
    "vocês ainda têm o sofá retrátil de 3 lugares em cinza? 🛋️",
    "qual o prazo de entrega pra {cidade}? 🚚",
    "consigo parcelar em 10x sem juros no cartão? 💳",
    "o pedido #{pedido} chegou com a caixa amassada 😕 dá pra trocar?",
    "vi o anúncio no Instagram, a promoção ainda está valendo? 😍",
    "tem nota fiscal? preciso pra empresa",
    "a mesa de jantar vem montada ou preciso de montador? 🔧",
    "quero mudar o endereço de entrega do pedido #{pedido}",
    "aceitam Pix? se sim, tem desconto? 💸",
    "qual o horário de funcionamento da loja física em {cidade}?",
    "o rastreio não atualiza desde ontem 😬",
    "pode me mandar foto do tecido de perto? 📸",
    "perfeito, obrigada pelo atendimento! 🙏",
    "ainda não recebi o boleto por e-mail",
    "quanto fica o frete do guarda-roupa pra CEP {cep}?",
    "tem na cor off-white também? 🤍",
)
CLOSINGS = ("", "", "", " Obrigado!", " Aguardo retorno 🙂", " Valeu! 👍", " 😊", " Abraço!")
CITIES = (
    "São Paulo",
    "Belo Horizonte",
    "Curitiba",
    "Porto Alegre",
    "Recife",
    "Salvador",
    "Florianópolis",
    "Goiânia",
    "Fortaleza",
    "Belém",
    "Niterói",
    "Joinville",
)
WA_ID_MASK = (1 << 72) - 1
WA_ID_MULT = 0x9E3779B97F4A7C15  # odd, so i -> i * M mod 2**72 is a bijection: ids stay unique


@dataclass(frozen=True)
class Chat:
    jid: str
    push_name: str


def stderr(event: str, **fields: Any) -> None:
    line = " ".join(f"{k}={v}" for k, v in fields.items())
    sys.stderr.write(f"[bench] {event} {line}\n".rstrip() + "\n")
    sys.stderr.flush()


def make_chats(count: int, rng: random.Random) -> list[Chat]:
    chats: list[Chat] = []
    numbers: set[str] = set()
    while len(chats) < count:
        number = f"55{rng.choice(DDDS)}9{rng.randint(6000_0000, 9999_9999)}"
        if number in numbers:
            continue
        numbers.add(number)
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        chats.append(Chat(jid=f"{number}@s.whatsapp.net", push_name=name))
    return chats


def make_text(rng: random.Random) -> str:
    body = rng.choice(BODIES).format(
        cidade=rng.choice(CITIES),
        pedido=rng.randint(100_000, 999_999),
        cep=f"{rng.randint(10_000, 99_999)}-{rng.randint(0, 999):03d}",
    )
    roll = rng.random()
    if roll < 0.35:
        return f"{rng.choice(GREETINGS)}! {body[0].upper()}{body[1:]}{rng.choice(CLOSINGS)}"
    if roll < 0.9:
        return f"{body[0].upper()}{body[1:]}{rng.choice(CLOSINGS)}"
    # A long one now and then, past the conversation preview's length.
    extra = " ".join(
        rng.choice(BODIES).format(cidade="SP", pedido=1, cep="01000-000") for _ in range(4)
    )
    return f"{body[0].upper()}{body[1:]} {extra}"


def make_events(
    n: int, chats: Sequence[Chat], *, tenant_id: uuid.UUID, session_id: uuid.UUID, seed: int
) -> list[MessageUpsert]:
    """Inbound text messages; every chat gets one, the rest skew towards busy chats."""
    rng = random.Random(seed)
    weights = [1.0 / (rank + 1) ** 0.8 for rank in range(len(chats))]
    picks = list(range(min(n, len(chats))))
    picks += rng.choices(range(len(chats)), weights=weights, k=n - len(picks))
    start = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
    seconds = 0
    events: list[MessageUpsert] = []
    for i, c in enumerate(picks):
        chat = chats[c]
        seconds += rng.randint(1, 5)
        wa_id = f"3EB0{(i * WA_ID_MULT) & WA_ID_MASK:018X}"
        payload = MessagePayload(
            key=MessageKey(chat_jid=chat.jid, id=wa_id, from_me=False),
            sender_jid=chat.jid,
            push_name=chat.push_name,
            timestamp=start + timedelta(seconds=seconds),
            kind="text",
            text=make_text(rng),
        )
        events.append(MessageUpsert(tenant_id=tenant_id, session_id=session_id, payload=payload))
    return events


# --- set-up --------------------------------------------------------------------------------


async def create_owner(sessions: async_sessionmaker[AsyncSession]) -> tuple[uuid.UUID, uuid.UUID]:
    async with sessions() as s, s.begin():
        tenant = Tenant(name="Bench Móveis")
        s.add(tenant)
        await s.flush()
        ws = WaSession(tenant_id=tenant.id, name="bench", driver="sim", status="connected")
        s.add(ws)
        await s.flush()
        return tenant.id, ws.id


async def clear_rows(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("TRUNCATE messages, conversations, contacts RESTART IDENTITY"))
    async with engine.connect() as conn:
        # Start each timed run from the same place: no pending WAL flush, fresh statistics.
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("CHECKPOINT"))
        await conn.execute(text("ANALYZE"))


async def table_counts(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text("""
            SELECT (SELECT count(*) FROM messages),
                   (SELECT count(*) FROM conversations),
                   (SELECT count(*) FROM contacts),
                   (SELECT coalesce(sum(unread_count), 0) FROM conversations)
        """)
            )
        ).one()
    return {"messages": row[0], "conversations": row[1], "contacts": row[2], "unread": int(row[3])}


def check_counts(counts: dict[str, int], *, messages: int, chats: int) -> str | None:
    want = {"messages": messages, "conversations": chats, "contacts": chats, "unread": messages}
    bad = {k: (counts[k], v) for k, v in want.items() if counts[k] != v}
    if not bad:
        return None
    return "counts (got, want): " + ", ".join(f"{k}={g},{w}" for k, (g, w) in bad.items())


# --- A: the product ------------------------------------------------------------------------


async def run_ingest(
    *,
    settings: Settings,
    engine: AsyncEngine,
    redis: Redis,
    events: Sequence[MessageUpsert],
    workers: int,
    profile: cProfile.Profile | None,
) -> float:
    """Seconds from starting the worker(s) to every row committed and nothing pending."""
    await clear_rows(engine)
    await redis.flushdb()
    for i in range(0, len(events), 2000):
        await publish_many(redis, STREAM, events[i : i + 2000], maxlen=settings.stream_maxlen)
    sessions = session_factory(engine)
    n = len(events)
    stop = asyncio.Event()
    built = [
        build_worker(settings, redis=redis, sessions=sessions, consumer=f"bench-{w}")
        for w in range(workers)
    ]
    for worker in built:  # outside the clock: creating the group is a one-off in production
        await worker.ensure_group()

    if profile is not None:
        profile.enable()
    started = time.perf_counter()
    tasks = [asyncio.create_task(worker.run(stop)) for worker in built]
    try:
        async with engine.connect() as conn:
            while True:
                count = (await conn.execute(text("SELECT count(*) FROM messages"))).scalar_one()
                await conn.commit()
                if count >= n:
                    pending = await redis.xpending(STREAM, GROUP)
                    if pending["pending"] == 0:
                        break
                if time.perf_counter() - started > PHASE_TIMEOUT:
                    raise TimeoutError(f"ingest stalled at {count}/{n} rows")
                if any(t.done() for t in tasks):
                    raise RuntimeError("an ingest worker stopped early")
                await asyncio.sleep(POLL_SECONDS)
        elapsed = time.perf_counter() - started
    finally:
        if profile is not None:
            profile.disable()
        stop.set()
        for task in tasks:
            try:
                await asyncio.wait_for(task, timeout=settings.consumer_block_ms / 1000 + 5)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    return elapsed


# --- B: the naive per-message way ----------------------------------------------------------


async def naive_one(s: AsyncSession, event: MessageUpsert) -> None:
    p = event.payload
    chat = p.key.chat_jid
    group = is_group(chat)
    name = p.chat_name if group else (None if p.key.from_me else p.push_name)
    cstmt = insert(Contact).values(
        id=uuid.uuid4(),
        tenant_id=event.tenant_id,
        wa_id=chat,
        name=name,
        phone=phone_from_jid(chat),
        is_group=group,
    )
    contact_id = (
        await s.execute(
            cstmt.on_conflict_do_update(
                index_elements=[Contact.tenant_id, Contact.wa_id],
                set_={"name": func.coalesce(Contact.name, cstmt.excluded.name)},
            ).returning(Contact.id)
        )
    ).scalar_one()
    conv_id = (
        await s.execute(
            insert(Conversation)
            .values(
                id=uuid.uuid4(),
                tenant_id=event.tenant_id,
                session_id=event.session_id,
                contact_id=contact_id,
                chat_jid=chat,
                is_group=group,
            )
            .on_conflict_do_update(
                index_elements=[Conversation.session_id, Conversation.chat_jid],
                set_={"updated_at": func.now()},
            )
            .returning(Conversation.id)
        )
    ).scalar_one()
    created = (
        await s.execute(
            insert(Message)
            .values(
                id=uuid.uuid4(),
                tenant_id=event.tenant_id,
                session_id=event.session_id,
                conversation_id=conv_id,
                chat_jid=chat,
                wa_message_id=p.key.id,
                from_me=p.key.from_me,
                sender_jid=p.sender_jid,
                sender_name=p.push_name,
                kind=p.kind,
                text=p.text,
                quoted=p.quoted.model_dump(mode="json") if p.quoted else None,
                timestamp=p.timestamp,
                status_rank=1 if p.key.from_me else 2,
                raw=p.raw or None,
            )
            .on_conflict_do_nothing(
                index_elements=[Message.session_id, Message.chat_jid, Message.wa_message_id]
            )
            .returning(Message.id)
        )
    ).scalar_one_or_none()
    if created is None:  # a redelivery: nothing new to count
        return
    await s.execute(
        update(Conversation)
        .where(Conversation.id == conv_id)
        .values(
            unread_count=Conversation.unread_count + (0 if p.key.from_me else 1),
            last_message=preview(p),
            last_message_at=p.timestamp,
            updated_at=func.now(),
        )
    )


async def run_naive(*, engine: AsyncEngine, events: Sequence[MessageUpsert]) -> float:
    await clear_rows(engine)
    sessions = session_factory(engine)
    started = time.perf_counter()
    for event in events:
        async with sessions() as s, s.begin():
            await naive_one(s, event)
        if time.perf_counter() - started > PHASE_TIMEOUT:
            raise TimeoutError("naive path took too long")
    return time.perf_counter() - started


# --- driver --------------------------------------------------------------------------------


async def measure(args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    settings = Settings(
        database_url=env["DATABASE_URL"],
        redis_url=env["REDIS_URL"],
        consumer_batch=args.batch,
        instance_id="bench",
    )
    engine = create_engine(settings.database_url)
    redis = Redis.from_url(settings.redis_url)
    result: dict[str, Any] = {}
    try:
        await redis.flushdb()
        tenant_id, session_id = await create_owner(session_factory(engine))
        rng = random.Random(args.seed)
        chats = make_chats(args.chats, rng)
        started = time.perf_counter()
        events = make_events(
            args.messages, chats, tenant_id=tenant_id, session_id=session_id, seed=args.seed
        )
        stderr(
            "events_generated",
            n=len(events),
            chats=len(chats),
            seconds=f"{time.perf_counter() - started:.2f}",
        )
        naive_n = min(args.messages, args.naive_messages)
        naive_events = events[:naive_n]
        naive_chats = len({e.payload.key.chat_jid for e in naive_events})

        profile = cProfile.Profile() if args.profile else None
        ingest_runs: list[float] = []
        for r in range(args.repeat):
            seconds = await run_ingest(
                settings=settings,
                engine=engine,
                redis=redis,
                events=events,
                workers=args.workers,
                profile=profile,
            )
            ingest_runs.append(seconds)
            counts = await table_counts(engine)
            stderr(
                "ingest_run",
                run=r + 1,
                seconds=f"{seconds:.3f}",
                msgs_per_s=f"{len(events) / seconds:.0f}",
                **counts,
            )
            error = check_counts(counts, messages=len(events), chats=len(chats))
            if error:
                result["error"] = f"ingest run {r + 1}: {error}"
                break
        if profile is not None:
            profile.dump_stats(args.profile)
            stderr("profile_written", path=args.profile)

        naive_runs: list[float] = []
        if "error" not in result:
            for r in range(args.repeat):
                seconds = await run_naive(engine=engine, events=naive_events)
                naive_runs.append(seconds)
                counts = await table_counts(engine)
                stderr(
                    "naive_run",
                    run=r + 1,
                    seconds=f"{seconds:.3f}",
                    msgs_per_s=f"{naive_n / seconds:.0f}",
                    **counts,
                )
                error = check_counts(counts, messages=naive_n, chats=naive_chats)
                if error:
                    result["error"] = f"naive run {r + 1}: {error}"
                    break
    finally:
        await redis.aclose()
        await engine.dispose()

    n = args.messages
    result.update(
        {
            "messages": n,
            "naive_messages": naive_n,
            "chats": args.chats,
            "batch_size": args.batch,
            "workers": args.workers,
            "repeat": args.repeat,
        }
    )
    if ingest_runs:
        best = min(ingest_runs)
        result.update(
            {
                "ingest_msgs_per_s": round(n / best, 1),
                "ingest_msgs_per_s_median": round(n / statistics.median(ingest_runs), 1),
                "ingest_seconds": round(best, 3),
                "ingest_runs_seconds": [round(s, 3) for s in ingest_runs],
            }
        )
    if naive_runs:
        best = min(naive_runs)
        result.update(
            {
                "naive_msgs_per_s": round(naive_n / best, 1),
                "naive_msgs_per_s_median": round(naive_n / statistics.median(naive_runs), 1),
                "naive_seconds": round(best, 3),
                "naive_runs_seconds": [round(s, 3) for s in naive_runs],
            }
        )
    if ingest_runs and naive_runs:
        result["ratio"] = round(result["ingest_msgs_per_s"] / result["naive_msgs_per_s"], 2)
        result["ratio_median"] = round(
            result["ingest_msgs_per_s_median"] / result["naive_msgs_per_s_median"], 2
        )
    return result


def quiet_logs() -> None:
    """Worker logs (structlog, stdout by default) go to stderr, warnings and up only."""
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(message)s")
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(serializer=lambda o, **_: orjson.dumps(o).decode()),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/ingest.py", description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000, help="events for the worker (N)")
    parser.add_argument("--chats", type=int, default=500, help="distinct chats (C)")
    parser.add_argument(
        "--naive-messages",
        type=int,
        default=3_000,
        help="events for the naive path (min with N); rates are comparable",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs of each measurement")
    parser.add_argument(
        "--batch",
        type=int,
        default=DEFAULT_BATCH,
        help="worker batch size (settings.consumer_batch)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="ingest workers (consumers of one group) in this process",
    )
    parser.add_argument("--seed", type=int, default=20260302)
    parser.add_argument(
        "--data", type=Path, default=Path(".data/bench"), help="folder of the embedded servers"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="write a cProfile of the ingest phase here (pstats format)",
    )
    args = parser.parse_args(argv)
    if args.messages < args.chats:
        parser.error("--messages must be at least --chats (every chat gets a message)")
    counts = (args.messages, args.chats, args.naive_messages, args.repeat, args.batch, args.workers)
    if min(counts) < 1:
        parser.error("counts must be positive")
    return args


def main() -> int:
    args = parse_args()
    quiet_logs()
    environ = {k: v for k, v in os.environ.items() if k.endswith("_URL")}
    started = time.perf_counter()
    stack = start_stack(args.data, environ=environ, database=DATABASE)
    try:
        stderr("stack_ready", seconds=f"{time.perf_counter() - started:.1f}")
        reset(stack.env["DATABASE_URL"])
        stderr("schema_ready")
        result = asyncio.run(measure(args, stack.env))
    finally:
        stack.stop()
    result["python"] = platform.python_version()
    result["cpu_count"] = os.cpu_count()
    result["total_seconds"] = round(time.perf_counter() - started, 1)
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    sys.stdout.flush()
    return 1 if "error" in result else 0


if __name__ == "__main__":
    sys.exit(main())
