"""Batch handlers for `wa:events`: idempotent writes, one round-trip per table per batch.

Nothing here knows Redis: `handle_batch` takes parsed events and a session inside an open
transaction, and returns the realtime events to announce once the transaction commits.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import DateTime, Integer, Row, Text, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from wacrm_common.events import rt
from wacrm_common.events.wa import (
    ContactUpdate,
    MessagePayload,
    MessageStatus,
    MessageUpsert,
    SessionConnected,
    SessionDisconnected,
    SessionLoggedOut,
    SessionPairCode,
    SessionQr,
    WaEvent,
)
from wacrm_common.jid import is_group, phone_from_jid
from wacrm_common.logging import get_logger
from wacrm_common.models import RANK_STATUS, STATUS_RANK, Contact, Conversation, Message, WaSession
from wacrm_common.streams import Entry, Rejects

log = get_logger(__name__)

PREVIEW_CHARS = 160
NAME_CHARS = 200  # contacts.name, messages.sender_name
_SESSION_EVENTS = (
    SessionQr,
    SessionPairCode,
    SessionConnected,
    SessionDisconnected,
    SessionLoggedOut,
)


@dataclass
class Outcome:
    """What a batch produced: realtime events to publish after commit, and refused entries."""

    rt_events: list[rt.RtEvent] = field(default_factory=list)
    rejects: Rejects = field(default_factory=dict)


def preview(payload: MessagePayload) -> str:
    body = payload.text or f"[{payload.kind}]"
    return body if len(body) <= PREVIEW_CHARS else body[: PREVIEW_CHARS - 1] + "…"


async def handle_batch(entries: list[Entry[WaEvent]], *, session: AsyncSession) -> Outcome:
    """Apply a batch of events; the caller owns the transaction and commits."""
    out = Outcome()
    owners = await _session_owners(session, {e.value.session_id for e in entries})
    valid: list[Entry[WaEvent]] = []
    for entry in entries:
        if owners.get(entry.value.session_id) != entry.value.tenant_id:
            out.rejects[entry.id] = "unknown session for this tenant"
        else:
            valid.append(entry)
    upserts = [e.value for e in valid if isinstance(e.value, MessageUpsert)]
    statuses = [e.value for e in valid if isinstance(e.value, MessageStatus)]
    session_events = [e.value for e in valid if isinstance(e.value, _SESSION_EVENTS)]
    contact_updates = [e.value for e in valid if isinstance(e.value, ContactUpdate)]
    if contact_updates:
        # Before messages: a chat's name is known before its first message creates it.
        out.rt_events += await handle_contact_updates(contact_updates, session=session)
    if upserts:
        out.rt_events += await handle_upserts(upserts, session=session)
    if statuses:
        out.rt_events += await handle_statuses(statuses, session=session)
    for event in session_events:
        out.rt_events += await handle_session_event(event, session=session)
    return out


async def _session_owners(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    rows = await session.execute(
        select(WaSession.id, WaSession.tenant_id).where(WaSession.id.in_(ids))
    )
    return dict(rows.all())


def _chat_contact_values(event: MessageUpsert) -> dict[str, Any]:
    p = event.payload
    chat = p.key.chat_jid
    # In a 1:1 chat the push name is the customer's only when they wrote the message.
    name = p.chat_name if is_group(chat) else (None if p.key.from_me else p.push_name)
    return {
        "id": uuid.uuid4(),
        "tenant_id": event.tenant_id,
        "wa_id": chat,
        "name": name,
        "phone": phone_from_jid(chat),
        "is_group": is_group(chat),
    }


async def handle_upserts(events: list[MessageUpsert], *, session: AsyncSession) -> list[rt.RtEvent]:
    # Contacts: one per chat; the first known name sticks (agents may rename later).
    contacts: dict[tuple[uuid.UUID, str], dict[str, Any]] = {}
    for ev in events:
        values = _chat_contact_values(ev)
        key = (ev.tenant_id, values["wa_id"])
        if key not in contacts or (contacts[key]["name"] is None and values["name"]):
            contacts[key] = values
    contact_rows = list(contacts.values())
    result = await session.execute(
        _UPSERT_CONTACTS,
        {
            "ids": [c["id"] for c in contact_rows],
            "tenants": [c["tenant_id"] for c in contact_rows],
            "wa_ids": [c["wa_id"] for c in contact_rows],
            "names": [pg_text(c["name"], NAME_CHARS) for c in contact_rows],
            "phones": [c["phone"] for c in contact_rows],
            "groups": [c["is_group"] for c in contact_rows],
        },
    )
    contact_ids = {(t, w): i for i, t, w in result}

    # Conversations: one per session + chat.
    convs: dict[tuple[uuid.UUID, str], uuid.UUID] = {}
    for ev in events:
        convs.setdefault((ev.session_id, ev.payload.key.chat_jid), ev.tenant_id)
    result = await session.execute(
        _UPSERT_CONVERSATIONS,
        {
            "ids": [uuid.uuid4() for _ in convs],
            "tenants": list(convs.values()),
            "sessions": [s for s, _ in convs],
            "contacts": [contact_ids[(t, c)] for (_, c), t in convs.items()],
            "chats": [c for _, c in convs],
            "groups": [is_group(c) for _, c in convs],
        },
    )
    conv_ids = {(s, c): i for i, s, c in result}

    # Messages: insert-or-ignore on the WhatsApp key; RETURNING yields only the new rows.
    firsts: dict[tuple[uuid.UUID, str, str], MessageUpsert] = {}
    for ev in events:
        firsts.setdefault((ev.session_id, ev.payload.key.chat_jid, ev.payload.key.id), ev)
    batch = list(firsts.values())
    result = await session.execute(
        _INSERT_MESSAGES,
        {
            "ids": [uuid.uuid4() for _ in batch],
            "tenants": [ev.tenant_id for ev in batch],
            "sessions": [ev.session_id for ev in batch],
            "convs": [conv_ids[(ev.session_id, ev.payload.key.chat_jid)] for ev in batch],
            "chats": [ev.payload.key.chat_jid for ev in batch],
            "wa_ids": [ev.payload.key.id for ev in batch],
            "from_me": [ev.payload.key.from_me for ev in batch],
            "sender_jids": [ev.payload.sender_jid for ev in batch],
            "sender_names": [pg_text(ev.payload.push_name, NAME_CHARS) for ev in batch],
            "kinds": [ev.payload.kind for ev in batch],
            "texts": [pg_text(ev.payload.text) for ev in batch],
            "quoted": [
                _json_or_none(ev.payload.quoted.model_dump(mode="json"))
                if ev.payload.quoted
                else None
                for ev in batch
            ],
            "timestamps": [ev.payload.timestamp for ev in batch],
            # A message we sent from the phone is at least sent; an inbound one has arrived.
            "ranks": [
                STATUS_RANK["sent"] if ev.payload.key.from_me else STATUS_RANK["delivered"]
                for ev in batch
            ],
            "raws": [_json_or_none(ev.payload.raw) for ev in batch],
        },
    )
    created = sorted(result, key=lambda m: m.seq)
    if not created:
        return []
    bumped = await _bump_conversations(created, session=session)
    out = [rt.message_event(m.tenant_id, message_view(m), "message.created") for m in created]
    out += [_conversation_event(c) for c in bumped]
    return out


def _json_or_none(value: dict[str, Any]) -> str | None:
    return orjson.dumps(scrub(value)).decode() if value else None


def pg_text(value: str | None, limit: int | None = None) -> str | None:
    """Text PostgreSQL stores: NUL (which it refuses) becomes U+FFFD, and a name longer
    than its column is cut rather than losing the message it came with."""
    if not value:
        return value
    if "\x00" in value:
        value = value.replace("\x00", "\ufffd")
    return value[:limit] if limit is not None else value


def scrub(value: Any) -> Any:
    """pg_text through a JSON-shaped value (jsonb refuses \u0000 as well)."""
    if isinstance(value, str):
        return pg_text(value)
    if isinstance(value, dict):
        return {scrub(k): scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value


def message_view(row: Row[Any]) -> rt.MessageView:
    return rt.MessageView(
        id=row.id,
        conversation_id=row.conversation_id,
        wa_message_id=row.wa_message_id,
        from_me=row.from_me,
        sender=row.sender_name,
        sender_jid=row.sender_jid,
        kind=row.kind,
        text=row.text,
        quoted=row.quoted,
        timestamp=row.timestamp,
        status=RANK_STATUS[row.status_rank],
        error=row.error,
        client_id=row.client_id,
    )


# Column arrays through unnest(): one fixed SQL text per statement, so the statement is
# compiled and prepared once, whatever the batch size (multi-row VALUES is not).
_UPSERT_CONTACTS = text("""
    INSERT INTO contacts (id, tenant_id, wa_id, name, phone, is_group)
    SELECT * FROM unnest(
        CAST(:ids AS uuid[]), CAST(:tenants AS uuid[]), CAST(:wa_ids AS text[]),
        CAST(:names AS text[]), CAST(:phones AS text[]), CAST(:groups AS boolean[]))
    ON CONFLICT (tenant_id, wa_id) DO UPDATE SET name = COALESCE(contacts.name, EXCLUDED.name)
    RETURNING id, tenant_id, wa_id
""")
_UPSERT_CONVERSATIONS = text("""
    INSERT INTO conversations (id, tenant_id, session_id, contact_id, chat_jid, is_group,
                               status, unread_count)
    SELECT u.*, 'open', 0 FROM unnest(
        CAST(:ids AS uuid[]), CAST(:tenants AS uuid[]), CAST(:sessions AS uuid[]),
        CAST(:contacts AS uuid[]), CAST(:chats AS text[]), CAST(:groups AS boolean[])) AS u
    ON CONFLICT (session_id, chat_jid) DO UPDATE SET updated_at = now()
    RETURNING id, session_id, chat_jid
""")
_INSERT_MESSAGES = text("""
    INSERT INTO messages (id, tenant_id, session_id, conversation_id, chat_jid, wa_message_id,
                          from_me, sender_jid, sender_name, kind, text, quoted, timestamp,
                          status_rank, raw)
    SELECT u.id, u.tenant_id, u.session_id, u.conversation_id, u.chat_jid, u.wa_message_id,
           u.from_me, u.sender_jid, u.sender_name, u.kind, u.text, CAST(u.quoted AS jsonb),
           u.timestamp, u.status_rank, CAST(u.raw AS jsonb)
    FROM unnest(
        CAST(:ids AS uuid[]), CAST(:tenants AS uuid[]), CAST(:sessions AS uuid[]),
        CAST(:convs AS uuid[]), CAST(:chats AS text[]), CAST(:wa_ids AS text[]),
        CAST(:from_me AS boolean[]), CAST(:sender_jids AS text[]), CAST(:sender_names AS text[]),
        CAST(:kinds AS text[]), CAST(:texts AS text[]), CAST(:quoted AS text[]),
        CAST(:timestamps AS timestamptz[]), CAST(:ranks AS smallint[]), CAST(:raws AS text[])
    ) AS u(id, tenant_id, session_id, conversation_id, chat_jid, wa_message_id, from_me,
           sender_jid, sender_name, kind, text, quoted, timestamp, status_rank, raw)
    ON CONFLICT (session_id, chat_jid, wa_message_id) DO NOTHING
    RETURNING id, seq, tenant_id, conversation_id, wa_message_id, from_me, sender_jid,
              sender_name, kind, text, quoted, timestamp, status_rank, error, client_id
""")


async def _bump_conversations(
    created: list[Row[Any]], *, session: AsyncSession
) -> list[Conversation]:
    """Unread count and last message for every touched conversation, in one statement."""
    per_conv: dict[uuid.UUID, list[Row[Any]]] = defaultdict(list)
    for msg in created:
        per_conv[msg.conversation_id].append(msg)
    ids, unread, previews, lasts = [], [], [], []
    for conv_id, msgs in per_conv.items():
        newest = max(msgs, key=lambda m: (m.timestamp, m.seq))
        ids.append(conv_id)
        unread.append(sum(1 for m in msgs if not m.from_me))
        previews.append(newest.text if newest.text is not None else f"[{newest.kind}]")
        lasts.append(newest.timestamp)
    previews = [p if len(p) <= PREVIEW_CHARS else p[: PREVIEW_CHARS - 1] + "…" for p in previews]
    stmt = text("""
        UPDATE conversations AS c SET
            unread_count = c.unread_count + v.unread,
            last_message = CASE WHEN c.last_message_at IS NULL OR v.last_at >= c.last_message_at
                                THEN v.preview ELSE c.last_message END,
            last_message_at = GREATEST(c.last_message_at, v.last_at),
            updated_at = now()
        FROM unnest(:ids, :unread, :previews, :lasts) AS v(id, unread, preview, last_at)
        WHERE c.id = v.id
        RETURNING c.id
    """).bindparams(
        bindparam("ids", type_=UUIDS),
        bindparam("unread", type_=INTS),
        bindparam("previews", type_=TEXTS),
        bindparam("lasts", type_=TIMESTAMPS),
    )
    await session.execute(
        stmt, {"ids": ids, "unread": unread, "previews": previews, "lasts": lasts}
    )
    return await load_conversations(ids, session=session)


async def load_conversations(ids: list[uuid.UUID], *, session: AsyncSession) -> list[Conversation]:
    rows = await session.execute(
        select(Conversation)
        .where(Conversation.id.in_(ids))
        .options(selectinload(Conversation.contact))
        .execution_options(populate_existing=True)
    )
    return list(rows.scalars())


def _conversation_event(conv: Conversation) -> rt.RtEvent:
    return rt.conversation_event(conv.tenant_id, rt.ConversationView.model_validate(conv))


async def handle_contact_updates(
    events: list[ContactUpdate], *, session: AsyncSession
) -> list[rt.RtEvent]:
    """A name learned from WhatsApp (group subject, contact card) replaces the stored one."""
    latest: dict[tuple[uuid.UUID, str], dict[str, Any]] = {}
    for ev in events:
        p = ev.payload
        name = p.name or p.push_name
        if name is None:
            continue
        latest[(ev.tenant_id, p.jid)] = {
            "id": uuid.uuid4(),
            "tenant_id": ev.tenant_id,
            "wa_id": p.jid,
            "name": pg_text(name, NAME_CHARS),
            "phone": phone_from_jid(p.jid),
            "is_group": is_group(p.jid),
        }
    if not latest:
        return []
    stmt = insert(Contact).values(list(latest.values()))
    stmt = stmt.on_conflict_do_update(
        index_elements=[Contact.tenant_id, Contact.wa_id],
        set_={"name": stmt.excluded.name, "updated_at": func.now()},
    )
    await session.execute(stmt)
    return []


async def handle_statuses(
    events: list[MessageStatus], *, session: AsyncSession
) -> list[rt.RtEvent]:
    """Statuses only move forward; `failed` overrides pending/sent and is attached otherwise."""
    best: dict[tuple[uuid.UUID, str], int] = {}
    failures: dict[tuple[uuid.UUID, str], dict[str, Any]] = {}
    for ev in events:
        p = ev.payload
        for wa_id in p.message_ids:
            key = (ev.session_id, wa_id)
            if p.status == "failed":
                failures[key] = {"code": p.error_code, "message": p.error_message}
            else:
                best[key] = max(best.get(key, -1), STATUS_RANK[p.status])
    changed: set[uuid.UUID] = set()
    if best:
        stmt = text("""
            UPDATE messages AS m SET status_rank = v.rank, updated_at = now()
            FROM unnest(:sessions, :wa_ids, :ranks) AS v(session_id, wa_id, rank)
            WHERE m.session_id = v.session_id AND m.wa_message_id = v.wa_id
              AND m.status_rank < v.rank
            RETURNING m.id
        """).bindparams(
            bindparam("sessions", type_=UUIDS),
            bindparam("wa_ids", type_=TEXTS),
            bindparam("ranks", type_=INTS),
        )
        keys = list(best)
        result = await session.execute(
            stmt,
            {
                "sessions": [k[0] for k in keys],
                "wa_ids": [k[1] for k in keys],
                "ranks": [best[k] for k in keys],
            },
        )
        changed.update(mid for (mid,) in result)
    if failures:
        keys = list(failures)
        result = await session.execute(
            _MARK_FAILED,
            {
                "sessions": [k[0] for k in keys],
                "wa_ids": [k[1] for k in keys],
                "errors": [_json_or_none(failures[k]) for k in keys],
                "sent": STATUS_RANK["sent"],
                "failed": STATUS_RANK["failed"],
            },
        )
        changed.update(mid for (mid,) in result)
    if not changed:
        return []
    rows = await session.execute(
        select(Message)
        .where(Message.id.in_(list(changed)))
        .order_by(Message.seq)
        .execution_options(populate_existing=True)
    )
    return [
        rt.message_event(m.tenant_id, rt.MessageView.model_validate(m), "message.updated")
        for m in rows.scalars()
    ]


# M07: failed overrides pending and sent; after delivered it only attaches the error.
_MARK_FAILED = text("""
    UPDATE messages AS m SET error = CAST(v.error AS jsonb), updated_at = now(),
        status_rank = CASE WHEN m.status_rank <= :sent THEN :failed ELSE m.status_rank END
    FROM unnest(CAST(:sessions AS uuid[]), CAST(:wa_ids AS text[]), CAST(:errors AS text[]))
        AS v(session_id, wa_id, error)
    WHERE m.session_id = v.session_id AND m.wa_message_id = v.wa_id
    RETURNING m.id
""")


async def handle_session_event(event: WaEvent, *, session: AsyncSession) -> list[rt.RtEvent]:
    ws = await session.get(WaSession, event.session_id)
    if ws is None:
        return []
    if isinstance(event, SessionQr):
        ws.status, ws.qr = "qr", event.payload.code
    elif isinstance(event, SessionPairCode):
        ws.status, ws.qr = "pair_code", event.payload.code
    elif isinstance(event, SessionConnected):
        ws.status, ws.qr = "connected", None
        ws.jid = event.payload.jid or ws.jid
    elif isinstance(event, SessionDisconnected):
        # An operator's stop is final; only an unexpected drop reads as "disconnected".
        if ws.status != "stopped":
            ws.status = "disconnected"
    elif isinstance(event, SessionLoggedOut):
        ws.status, ws.qr, ws.jid = "logged_out", None, None
    await session.flush()
    return [session_event(ws)]


def session_event(ws: WaSession) -> rt.RtEvent:
    return rt.session_event(ws.tenant_id, rt.SessionView.model_validate(ws))


UUIDS = ARRAY(UUID(as_uuid=True))
INTS = ARRAY(Integer)
TEXTS = ARRAY(Text)
TIMESTAMPS = ARRAY(DateTime(timezone=True))
