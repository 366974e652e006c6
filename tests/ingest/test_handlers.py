"""Ingest handlers against real PostgreSQL: idempotent upserts, counters, monotonic status."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select

from wacrm_common.events.wa import (
    MessageKey,
    MessagePayload,
    MessageStatus,
    MessageUpsert,
    StatusPayload,
)
from wacrm_common.models import Contact, Conversation, Message, Tenant, WaSession
from wacrm_common.streams import Entry
from wacrm_ingest.handlers import handle_batch

CUSTOMER = "5511987654321@s.whatsapp.net"


async def make_session(sessions) -> tuple[uuid.UUID, uuid.UUID]:
    async with sessions() as s, s.begin():
        tenant = Tenant(name="Loja")
        s.add(tenant)
        await s.flush()
        ws = WaSession(tenant_id=tenant.id, name="s", driver="sim", status="connected")
        s.add(ws)
        await s.flush()
        return tenant.id, ws.id


def upsert(
    tid, sid, wa_id: str, text: str, *, ts: int, from_me: bool = False, chat: str = CUSTOMER
):
    return MessageUpsert(
        tenant_id=tid,
        session_id=sid,
        payload=MessagePayload(
            key=MessageKey(chat_jid=chat, id=wa_id, from_me=from_me),
            sender_jid="5500111@s.whatsapp.net" if from_me else chat,
            push_name="Loja" if from_me else "Mariana Souza",
            timestamp=datetime.fromtimestamp(ts, UTC),
            kind="text",
            text=text,
        ),
    )


def status(tid, sid, ids: tuple[str, ...], name: str, *, ts: int = 1_800_000_000):
    return MessageStatus(
        tenant_id=tid,
        session_id=sid,
        payload=StatusPayload(
            chat_jid=CUSTOMER,
            message_ids=ids,
            status=name,
            timestamp=datetime.fromtimestamp(ts, UTC),
        ),
    )


async def apply(sessions, events) -> tuple[list, dict]:
    entries = [Entry(f"1-{i}", e) for i, e in enumerate(events)]
    async with sessions() as s, s.begin():
        out = await handle_batch(entries, session=s)
    return out.rt_events, out.rejects


async def test_handle_batch_upserts_contact_conversation_messages_once(sessions) -> None:
    tid, sid = await make_session(sessions)
    batch = [
        upsert(tid, sid, "A1", "Bom dia! 🛋️", ts=1_800_000_000),
        upsert(tid, sid, "A2", "Tem o sofá?", ts=1_800_000_060),
        upsert(tid, sid, "A1", "Bom dia! 🛋️", ts=1_800_000_000),  # duplicate inside the batch
        upsert(tid, sid, "B1", "Temos sim", ts=1_800_000_120, from_me=True),
    ]
    first, rejects = await apply(sessions, batch)
    again, _ = await apply(sessions, batch)  # redelivery
    assert rejects == {}
    assert [e.name for e in first] == ["message.created"] * 3 + ["conversation.updated"]
    assert again == []
    async with sessions() as s:
        contact = (await s.scalars(select(Contact))).one()
        assert (contact.wa_id, contact.name, contact.phone) == (
            CUSTOMER,
            "Mariana Souza",
            "+5511987654321",
        )
        conv = (await s.scalars(select(Conversation))).one()
        assert (conv.unread_count, conv.last_message) == (2, "Temos sim")
        assert conv.last_message_at == datetime.fromtimestamp(1_800_000_120, UTC)
        rows = (
            await s.execute(
                select(Message.wa_message_id, Message.text, Message.from_me).order_by(Message.seq)
            )
        ).all()
        assert rows == [
            ("A1", "Bom dia! 🛋️", False),
            ("A2", "Tem o sofá?", False),
            ("B1", "Temos sim", True),
        ]
    view = first[-1].payload
    assert (view["unread_count"], view["contact"]["phone"]) == (2, "+5511987654321")


async def test_handle_batch_older_message_does_not_replace_last_message(sessions) -> None:
    tid, sid = await make_session(sessions)
    await apply(sessions, [upsert(tid, sid, "N", "new", ts=1_800_000_100)])
    await apply(sessions, [upsert(tid, sid, "O", "old", ts=1_800_000_000)])
    async with sessions() as s:
        conv = (await s.scalars(select(Conversation))).one()
    assert (conv.last_message, conv.unread_count) == ("new", 2)
    assert conv.last_message_at == datetime.fromtimestamp(1_800_000_100, UTC)


async def test_handle_batch_status_only_moves_forward(sessions) -> None:
    """M06: read, then late delivered/sent, stays read; a receipt with several ids moves each."""
    tid, sid = await make_session(sessions)
    await apply(
        sessions,
        [
            upsert(tid, sid, wa, "x", ts=1_800_000_000 + i, from_me=True)
            for i, wa in enumerate("ABC")
        ],
    )
    changed, _ = await apply(sessions, [status(tid, sid, ("A", "B", "C"), "read")])
    assert sorted(e.payload["status"] for e in changed) == ["read", "read", "read"]
    late, _ = await apply(
        sessions,
        [
            status(tid, sid, ("A",), "delivered"),
            status(tid, sid, ("A",), "sent"),
            status(tid, sid, ("A",), "delivered"),
        ],
    )
    assert late == []  # no socket event for a backwards or duplicate status
    async with sessions() as s:
        ranks = dict((await s.execute(select(Message.wa_message_id, Message.status_rank))).all())
    assert ranks == {"A": 3, "B": 3, "C": 3}


async def test_handle_batch_failed_overrides_sent_but_not_delivered(sessions) -> None:
    tid, sid = await make_session(sessions)
    await apply(sessions, [upsert(tid, sid, w, "x", ts=1_800_000_000, from_me=True) for w in "PQ"])
    await apply(sessions, [status(tid, sid, ("Q",), "delivered")])
    fail = [
        MessageStatus(
            tenant_id=tid,
            session_id=sid,
            payload=StatusPayload(
                chat_jid=CUSTOMER,
                message_ids=("P", "Q"),
                status="failed",
                timestamp=datetime.fromtimestamp(1_800_000_001, UTC),
                error_code="131026",
                error_message="Message undeliverable",
            ),
        )
    ]
    await apply(sessions, fail)
    async with sessions() as s:
        rows = {m.wa_message_id: (m.status, m.error) for m in await s.scalars(select(Message))}
    error = {"code": "131026", "message": "Message undeliverable"}
    assert rows == {"P": ("failed", error), "Q": ("delivered", error)}


async def test_handle_batch_rejects_events_of_unknown_or_foreign_sessions(sessions) -> None:
    tid, sid = await make_session(sessions)
    other_tid, _ = await make_session(sessions)
    events = [
        upsert(tid, uuid.uuid4(), "X", "unknown session", ts=1_800_000_000),
        upsert(other_tid, sid, "Y", "tenant does not own the session", ts=1_800_000_000),
        upsert(tid, sid, "Z", "fine", ts=1_800_000_000),
    ]
    created, rejects = await apply(sessions, events)
    assert rejects == {
        "1-0": "unknown session for this tenant",
        "1-1": "unknown session for this tenant",
    }
    assert [e.payload["text"] for e in created if e.name == "message.created"] == ["fine"]
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Message)) == 1
