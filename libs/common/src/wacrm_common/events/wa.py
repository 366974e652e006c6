"""The `wa:events` stream: what happened on a WhatsApp session (schema version 1)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, TypeAdapter

from wacrm_common.events.base import Frozen, UtcDatetime, utcnow

SCHEMA_VERSION = 1

# The database columns' sizes: longer is no WhatsApp JID or id, and is refused at parse.
Jid = Annotated[str, StringConstraints(min_length=1, max_length=100)]
WaId = Annotated[str, StringConstraints(min_length=1, max_length=128)]

MessageKind = Literal[
    "text",
    "image",
    "video",
    "audio",
    "voice",
    "document",
    "sticker",
    "location",
    "live_location",
    "contact",
    "contacts",
    "reaction",
    "poll",
    "poll_vote",
    "unsupported",
]
StatusName = Literal["pending", "sent", "delivered", "read", "played", "failed"]


class MessageKey(Frozen):
    """WhatsApp's identity of a message: unique per session + chat + id."""

    chat_jid: Jid
    id: WaId
    from_me: bool
    participant: Jid | None = None


class Quoted(Frozen):
    id: str
    sender_jid: str | None = None
    text: str | None = None


class MediaInfo(Frozen):
    mimetype: str | None = None
    size: int | None = None
    sha256: str | None = None
    file_name: str | None = None
    seconds: int | None = None
    width: int | None = None
    height: int | None = None
    object_key: str | None = None
    download_error: str | None = None


class Location(Frozen):
    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None


class MessagePayload(Frozen):
    key: MessageKey
    sender_jid: Jid
    sender_alt_jid: Jid | None = None
    push_name: str | None = None
    timestamp: UtcDatetime
    kind: MessageKind
    text: str | None = None
    quoted: Quoted | None = None
    mentions: tuple[str, ...] = ()
    media: MediaInfo | None = None
    location: Location | None = None
    vcards: tuple[str, ...] = ()
    is_group: bool = False
    chat_name: str | None = None
    raw: dict[str, Any] = Field(default_factory=dict)


class StatusPayload(Frozen):
    chat_jid: Jid
    message_ids: tuple[WaId, ...]
    status: StatusName
    timestamp: UtcDatetime
    error_code: str | None = None
    error_message: str | None = None


class EditPayload(Frozen):
    key: MessageKey
    text: str | None
    timestamp: UtcDatetime


class RevokePayload(Frozen):
    key: MessageKey
    timestamp: UtcDatetime


class ReactionPayload(Frozen):
    key: MessageKey
    sender_jid: str
    emoji: str
    timestamp: UtcDatetime


class SessionQrPayload(Frozen):
    code: str


class SessionPairCodePayload(Frozen):
    code: str


class SessionConnectedPayload(Frozen):
    jid: str | None = None
    push_name: str | None = None


class SessionDisconnectedPayload(Frozen):
    reason: str | None = None


class ContactUpdatePayload(Frozen):
    jid: Jid
    alt_jid: str | None = None
    name: str | None = None
    push_name: str | None = None


class PresencePayload(Frozen):
    jid: str
    available: bool
    last_seen: UtcDatetime | None = None


class _Envelope(Frozen):
    v: int = SCHEMA_VERSION
    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    tenant_id: uuid.UUID
    session_id: uuid.UUID
    occurred_at: UtcDatetime = Field(default_factory=utcnow)


class MessageUpsert(_Envelope):
    type: Literal["message.upsert"] = "message.upsert"
    payload: MessagePayload


class MessageStatus(_Envelope):
    type: Literal["message.status"] = "message.status"
    payload: StatusPayload


class MessageEdit(_Envelope):
    type: Literal["message.edit"] = "message.edit"
    payload: EditPayload


class MessageRevoke(_Envelope):
    type: Literal["message.revoke"] = "message.revoke"
    payload: RevokePayload


class MessageReaction(_Envelope):
    type: Literal["message.reaction"] = "message.reaction"
    payload: ReactionPayload


class SessionQr(_Envelope):
    type: Literal["session.qr"] = "session.qr"
    payload: SessionQrPayload


class SessionPairCode(_Envelope):
    type: Literal["session.pair_code"] = "session.pair_code"
    payload: SessionPairCodePayload


class SessionConnected(_Envelope):
    type: Literal["session.connected"] = "session.connected"
    payload: SessionConnectedPayload


class SessionDisconnected(_Envelope):
    type: Literal["session.disconnected"] = "session.disconnected"
    payload: SessionDisconnectedPayload


class SessionLoggedOut(_Envelope):
    type: Literal["session.logged_out"] = "session.logged_out"
    payload: SessionDisconnectedPayload


class ContactUpdate(_Envelope):
    type: Literal["contact.update"] = "contact.update"
    payload: ContactUpdatePayload


class Presence(_Envelope):
    type: Literal["presence"] = "presence"
    payload: PresencePayload


WaEvent = Annotated[
    MessageUpsert
    | MessageStatus
    | MessageEdit
    | MessageRevoke
    | MessageReaction
    | SessionQr
    | SessionPairCode
    | SessionConnected
    | SessionDisconnected
    | SessionLoggedOut
    | ContactUpdate
    | Presence,
    Field(discriminator="type"),
]
WA_EVENT = TypeAdapter[WaEvent](WaEvent)

STREAM = "wa:events"
