"""The `rt:events` stream and the views it carries (the same shapes REST returns)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, TypeAdapter

from wacrm_common.events.base import Frozen

STREAM = "rt:events"

RtName = Literal[
    "message.created",
    "message.updated",
    "conversation.updated",
    "session.updated",
    "media.ready",
]


class View(BaseModel):
    model_config = ConfigDict(from_attributes=True, frozen=True)


class ContactView(View):
    id: uuid.UUID
    name: str | None
    phone: str | None
    wa_id: str


class MessageView(View):
    id: uuid.UUID
    conversation_id: uuid.UUID
    wa_message_id: str | None
    from_me: bool
    sender: str | None
    sender_jid: str | None
    kind: str
    text: str | None
    quoted: dict[str, Any] | None
    timestamp: datetime
    status: str
    error: dict[str, Any] | None
    client_id: str | None


class ConversationView(View):
    id: uuid.UUID
    session_id: uuid.UUID
    chat_jid: str
    is_group: bool
    contact: ContactView
    last_message: str | None
    last_message_at: datetime | None
    unread_count: int
    status: str


class SessionView(View):
    id: uuid.UUID
    name: str
    driver: str
    status: str
    jid: str | None
    qr: str | None = None
    simulator: bool  # True for the `sim` driver: a simulated account, not WhatsApp


class RtEvent(Frozen):
    """One fan-out: delivered to every client in any of `rooms` (once per client)."""

    tenant_id: uuid.UUID
    rooms: tuple[str, ...]
    name: RtName
    payload: dict[str, Any]


RT_EVENT = TypeAdapter[RtEvent](RtEvent)


def tenant_room(tenant_id: uuid.UUID | str) -> str:
    return f"tenant:{tenant_id}"


def conversation_room(conversation_id: uuid.UUID | str) -> str:
    return f"conversation:{conversation_id}"


def message_event(tenant_id: uuid.UUID, view: MessageView, name: RtName) -> RtEvent:
    """A message change goes to the inbox (tenant) and to its conversation's room."""
    return RtEvent(
        tenant_id=tenant_id,
        rooms=(tenant_room(tenant_id), conversation_room(view.conversation_id)),
        name=name,
        payload=view.model_dump(mode="json"),
    )


def conversation_event(tenant_id: uuid.UUID, view: ConversationView) -> RtEvent:
    return RtEvent(
        tenant_id=tenant_id,
        rooms=(tenant_room(tenant_id),),
        name="conversation.updated",
        payload=view.model_dump(mode="json"),
    )


def session_event(tenant_id: uuid.UUID, view: SessionView) -> RtEvent:
    return RtEvent(
        tenant_id=tenant_id,
        rooms=(tenant_room(tenant_id),),
        name="session.updated",
        payload=view.model_dump(mode="json"),
    )
