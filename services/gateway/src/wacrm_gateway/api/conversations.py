"""`/api/conversations`: the inbox (keyset pages, newest activity first), messages, replies."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy import and_, or_, select, tuple_
from sqlalchemy.orm import selectinload

from wacrm_common import outbox
from wacrm_common.errors import InvalidInput
from wacrm_common.events import rt
from wacrm_common.events.commands import SendText
from wacrm_common.models import Conversation, Message
from wacrm_gateway.deps import PrincipalDep, RedisDep, SessionDep, SessionsDep, SettingsDep
from wacrm_gateway.pagination import decode_cursor, encode_cursor
from wacrm_gateway.schemas import Page, SendTextIn
from wacrm_gateway.service import (
    get_conversation,
    mark_read,
    message_event,
    queue_text,
    read_effects,
    stage,
)

router = APIRouter(prefix="/api/conversations", tags=["conversations"])

MIN_CURSOR_YEAR, MAX_CURSOR_YEAR = 1970, 2200
Limit = Annotated[int, Query(ge=1, le=200)]
Status = Annotated[str | None, Query(pattern="^(pending|open|resolved|closed)$")]


def _parse_ts(value: object) -> datetime | None:
    """A cursor's timestamp: ISO 8601 with an offset, within years the database stores."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
        if parsed is None or parsed.tzinfo is None:
            raise ValueError(value)
        parsed = parsed.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise InvalidInput("malformed cursor", code="invalid_cursor") from exc
    if not MIN_CURSOR_YEAR <= parsed.year <= MAX_CURSOR_YEAR:
        raise InvalidInput("malformed cursor", code="invalid_cursor")
    return parsed


def _parse_seq(value: object) -> int:
    # bool is an int to Python, and bigint ends at 2**63 - 1.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise InvalidInput("malformed cursor", code="invalid_cursor")
    return value


def _parse_uuid(value: object) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise InvalidInput("malformed cursor", code="invalid_cursor") from exc


@router.get("")
async def list_conversations(
    session: SessionDep,
    principal: PrincipalDep,
    limit: Limit = 50,
    cursor: str | None = None,
    status: Status = None,
) -> Page[rt.ConversationView]:
    stmt = (
        select(Conversation)
        .where(Conversation.tenant_id == principal.tenant_id)
        .options(selectinload(Conversation.contact))
        .order_by(Conversation.last_message_at.desc().nulls_last(), Conversation.id.desc())
        .limit(limit + 1)
    )
    if status is not None:
        stmt = stmt.where(Conversation.status == status)
    if cursor:
        last_at_raw, last_id_raw = decode_cursor(cursor, size=2)
        last_at, last_id = _parse_ts(last_at_raw), _parse_uuid(last_id_raw)
        if last_at is None:  # already among the never-active conversations (NULLS LAST)
            stmt = stmt.where(Conversation.last_message_at.is_(None), Conversation.id < last_id)
        else:
            stmt = stmt.where(
                or_(
                    Conversation.last_message_at < last_at,
                    and_(Conversation.last_message_at == last_at, Conversation.id < last_id),
                    Conversation.last_message_at.is_(None),
                )
            )
    rows = list(await session.scalars(stmt))
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        next_cursor = encode_cursor(
            [last.last_message_at.isoformat() if last.last_message_at else None, str(last.id)]
        )
    return Page(
        items=[rt.ConversationView.model_validate(c) for c in rows], next_cursor=next_cursor
    )


@router.get("/{conversation_id}")
async def get_one(
    conversation_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> rt.ConversationView:
    conv = await get_conversation(conversation_id, session=session, principal=principal)
    return rt.ConversationView.model_validate(conv)


@router.get("/{conversation_id}/messages")
async def list_messages(
    conversation_id: uuid.UUID,
    session: SessionDep,
    principal: PrincipalDep,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Page[rt.MessageView]:
    await get_conversation(conversation_id, session=session, principal=principal)
    stmt = (
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.tenant_id == principal.tenant_id)
        .order_by(Message.timestamp.desc(), Message.seq.desc())
        .limit(limit + 1)
    )
    if cursor:
        ts_raw, seq_raw = decode_cursor(cursor, size=2)
        ts = _parse_ts(ts_raw)
        if ts is None:
            raise InvalidInput("malformed cursor", code="invalid_cursor")
        stmt = stmt.where(tuple_(Message.timestamp, Message.seq) < tuple_(ts, _parse_seq(seq_raw)))
    rows = list(await session.scalars(stmt))
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor([rows[-1].timestamp.isoformat(), rows[-1].seq]) if more else None
    return Page(items=[rt.MessageView.model_validate(m) for m in rows], next_cursor=next_cursor)


@router.post("/{conversation_id}/messages", status_code=status.HTTP_202_ACCEPTED)
async def send_message(
    conversation_id: uuid.UUID,
    body: SendTextIn,
    session: SessionDep,
    principal: PrincipalDep,
    redis: RedisDep,
    settings: SettingsDep,
    sessions: SessionsDep,
) -> rt.MessageView:
    """Queue a text reply; the same `client_id` again returns the same message, sent once."""
    async with session.begin():
        conv = await get_conversation(
            conversation_id, session=session, principal=principal, lock=True
        )
        msg, created = await queue_text(
            conv,
            session=session,
            principal=principal,
            text=body.text,
            client_id=body.client_id,
            quoted_id=body.quoted_id,
        )
        staged = []
        if created:
            # Answering a chat reads it, as on the phone: unread to zero, blue ticks sent.
            read = await mark_read(conv, session=session)
            read_events, read_commands = read_effects(conv, read)
            command = SendText(
                tenant_id=msg.tenant_id,
                session_id=msg.session_id,
                message_id=msg.id,
                wa_message_id=msg.wa_message_id,
                chat_jid=msg.chat_jid,
                text=msg.text or "",
                quoted_id=body.quoted_id,
            )
            events = [message_event(msg, "message.created"), *read_events]
            staged = await stage(session, settings, events, [*read_commands, command])
    await outbox.publish(redis, sessions, staged)
    return rt.MessageView.model_validate(msg)


@router.post("/{conversation_id}/read")
async def read_conversation(
    conversation_id: uuid.UUID,
    session: SessionDep,
    principal: PrincipalDep,
    redis: RedisDep,
    settings: SettingsDep,
    sessions: SessionsDep,
) -> rt.ConversationView:
    async with session.begin():
        conv = await get_conversation(
            conversation_id, session=session, principal=principal, lock=True
        )
        read = await mark_read(conv, session=session)
        events, commands = read_effects(conv, read)
        staged = await stage(session, settings, events, commands)
    await outbox.publish(redis, sessions, staged)
    return rt.ConversationView.model_validate(conv)
