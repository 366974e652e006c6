"""Inbox operations behind the routers; functions take `*, session` and never commit."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from wacrm_common import outbox
from wacrm_common.auth import Principal
from wacrm_common.errors import Conflict, NotFound
from wacrm_common.events import rt
from wacrm_common.events.commands import Command, MarkRead, command_stream
from wacrm_common.models import STATUS_RANK, Conversation, Message, User, WaSession
from wacrm_common.sessions import CMD_MAXLEN
from wacrm_common.settings import Settings

PREVIEW_CHARS = 160


def new_wa_message_id() -> str:
    """WhatsApp-Web-style id chosen before sending, so a receipt can never precede it (M09)."""
    return "3EB0" + secrets.token_hex(8).upper()


async def get_conversation(
    conversation_id: uuid.UUID, *, session: AsyncSession, principal: Principal, lock: bool = False
) -> Conversation:
    stmt = (
        select(Conversation)
        .where(Conversation.id == conversation_id, Conversation.tenant_id == principal.tenant_id)
        .options(selectinload(Conversation.contact))
    )
    if lock:
        stmt = stmt.with_for_update(of=Conversation)
    conv = await session.scalar(stmt)
    if conv is None:
        raise NotFound("conversation not found")
    return conv


def message_event(msg: Message, name: rt.RtName) -> rt.RtEvent:
    return rt.message_event(msg.tenant_id, rt.MessageView.model_validate(msg), name)


def conversation_event(conv: Conversation) -> rt.RtEvent:
    return rt.conversation_event(conv.tenant_id, rt.ConversationView.model_validate(conv))


async def stage(
    session: AsyncSession,
    settings: Settings,
    events: Sequence[rt.RtEvent],
    commands: Sequence[Command] = (),
) -> list[outbox.Staged]:
    """Write realtime events and connector commands in the caller's transaction."""
    staged = await outbox.stage(session, rt.STREAM, events, maxlen=settings.rt_stream_maxlen)
    for command in commands:
        staged += await outbox.stage(
            session, command_stream(command.session_id), [command], maxlen=CMD_MAXLEN
        )
    return staged


async def queue_text(
    conv: Conversation,
    *,
    session: AsyncSession,
    principal: Principal,
    text: str,
    client_id: str,
    quoted_id: str | None,
) -> tuple[Message, bool]:
    """Insert the pending outbound message once per client_id; return it and whether it is new."""
    ws = await session.get(WaSession, conv.session_id)
    agent = await session.get(User, principal.user_id)
    assert ws is not None  # FK
    quoted = None
    if quoted_id is not None:
        original = await session.scalar(
            select(Message).where(
                Message.conversation_id == conv.id, Message.wa_message_id == quoted_id
            )
        )
        if original is None:
            raise NotFound("quoted message not found in this conversation")
        quoted = {"id": quoted_id, "sender_jid": original.sender_jid, "text": original.text}
    now = datetime.now(UTC)
    stmt = (
        insert(Message)
        .values(
            id=uuid.uuid4(),
            tenant_id=principal.tenant_id,
            session_id=conv.session_id,
            conversation_id=conv.id,
            chat_jid=conv.chat_jid,
            wa_message_id=new_wa_message_id(),
            from_me=True,
            sender_jid=ws.jid,
            # Agents see which of them answered; the customer sees the business's name.
            sender_name=agent.name if agent else None,
            kind="text",
            text=text,
            quoted=quoted,
            timestamp=now,
            status_rank=STATUS_RANK["pending"],
            client_id=client_id,
        )
        .on_conflict_do_nothing(index_elements=[Message.conversation_id, Message.client_id])
        .returning(Message)
    )
    created = await session.scalar(stmt)
    if created is not None:
        conv.last_message = text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"
        conv.last_message_at = now
        await session.flush()
        return created, True
    existing = await session.scalar(
        select(Message).where(Message.conversation_id == conv.id, Message.client_id == client_id)
    )
    assert existing is not None  # the conflict proves it exists
    if existing.text != text or (existing.quoted or {}).get("id") != quoted_id:
        raise Conflict(
            "this client_id was already used for a different message",
            code="idempotency_conflict",
        )
    return existing, False


async def mark_read(conv: Conversation, *, session: AsyncSession) -> list[Message]:
    """Zero the unread count; inbound messages not yet read become read (returned)."""
    conv.unread_count = 0
    rows = await session.scalars(
        update(Message)
        .where(
            Message.conversation_id == conv.id,
            Message.from_me.is_(False),
            Message.status_rank < STATUS_RANK["read"],
            Message.status_rank >= 0,
        )
        .values(status_rank=STATUS_RANK["read"])
        .returning(Message)
    )
    read = list(rows)
    await session.flush()
    return read


def read_effects(conv: Conversation, read: list[Message]) -> tuple[list[rt.RtEvent], list[Command]]:
    """What marking `read` as read announces, and the read receipt for the customer."""
    events = [conversation_event(conv), *(message_event(m, "message.updated") for m in read)]
    if not read:
        return events, []
    receipt = MarkRead(
        tenant_id=conv.tenant_id,
        session_id=conv.session_id,
        chat_jid=conv.chat_jid,
        sender_jid=read[-1].sender_jid or conv.chat_jid,
        wa_message_ids=tuple(m.wa_message_id for m in read),
    )
    return events, [receipt]
