"""Pure mapping of neonize protobuf events to `wa:events` models: no I/O, no client."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final
from uuid import UUID

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message as Proto
from neonize.proto.Neonize_pb2 import JID, MessageSource, Receipt
from neonize.proto.Neonize_pb2 import Message as MessageEv
from neonize.proto.waCommon.WACommon_pb2 import MessageKey as WaMessageKey
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import ContextInfo, Message, ProtocolMessage

from wacrm_common.errors import InvalidInput
from wacrm_common.events.wa import (
    EditPayload,
    Location,
    MediaInfo,
    MessageEdit,
    MessageKey,
    MessageKind,
    MessagePayload,
    MessageReaction,
    MessageRevoke,
    MessageStatus,
    MessageUpsert,
    Quoted,
    ReactionPayload,
    RevokePayload,
    StatusName,
    StatusPayload,
)
from wacrm_common.jid import bare_jid, is_ignored_chat

MessageEvent = MessageUpsert | MessageEdit | MessageRevoke | MessageReaction

# whatsmeow encodes MessageInfo.Timestamp with UnixMilli() but Receipt.Timestamp with
# Unix(); other sources mix both, so the unit is decided by magnitude (M26): 10**11 s
# is the year 5138, 10**11 ms is 1973.
_MS_THRESHOLD: Final = 10**11

# The containers whatsmeow's events.Message.UnwrapRaw opens; history sync and raw
# payloads still carry them, so they are opened again here, outermost first (M10, M11).
_WRAPPERS: Final = (
    "deviceSentMessage",
    "ephemeralMessage",
    "viewOnceMessage",
    "viewOnceMessageV2",
    "viewOnceMessageV2Extension",
    "documentWithCaptionMessage",
    "editedMessage",
    "lottieStickerMessage",
)
_MAX_UNWRAP_DEPTH: Final = 8

# Group key distribution rides along with the first message a device sends to a group;
# alone it is plumbing, not something a person sent.
_KEY_DISTRIBUTION: Final = frozenset(
    {"senderKeyDistributionMessage", "fastRatchetKeySenderKeyDistributionMessage"}
)
# Fields that accompany content without being content.
_CONTROL_FIELDS: Final = _KEY_DISTRIBUTION | {"messageContextInfo"}

# Content that changes another message or is not a chat bubble at all; edits, revokes
# and reactions have their own mappers below, the rest has no event in the schema.
_NOT_A_MESSAGE: Final = frozenset(
    {
        "protocolMessage",
        "reactionMessage",
        "encReactionMessage",
        "keepInChatMessage",
        "pinInChatMessage",
    }
)

_RECEIPT_STATUS: Final[dict[int, StatusName]] = {
    Receipt.DELIVERED: "delivered",
    Receipt.READ: "read",
    Receipt.PLAYED: "played",
}


@dataclass(frozen=True, slots=True)
class _Body:
    kind: MessageKind
    text: str | None = None
    media: MediaInfo | None = None
    location: Location | None = None
    vcards: tuple[str, ...] = ()


# --- JIDs -------------------------------------------------------------------------


def jid_to_str(j: JID) -> str:
    """The `User[.Agent][:Device]@Server` form of whatsmeow's JID.String()."""
    if j.RawAgent > 0:
        return f"{j.User}.{j.RawAgent}:{j.Device}@{j.Server}"
    if j.Device > 0:
        return f"{j.User}:{j.Device}@{j.Server}"
    if j.User:
        return f"{j.User}@{j.Server}"
    return str(j.Server)


def str_to_jid(s: str) -> JID:
    """Parse a JID string as whatsmeow's ParseJID does; "" gives the empty JID."""
    text = s.strip()
    if not text:
        return JID(User="", Server="", IsEmpty=True)
    user, sep, server = text.partition("@")
    if not sep:
        return JID(User="", Server=user, IsEmpty=False)
    agent = device = 0
    try:
        if "." in user:
            user, _, rest = user.partition(".")
            agent_part, _, device_part = rest.partition(":")
            agent = int(agent_part)
            device = int(device_part) if device_part else 0
        elif ":" in user:
            user, _, device_part = user.partition(":")
            device = int(device_part)
        # The proto fields are unsigned, so a negative part fails here too.
        return JID(
            User=user, RawAgent=agent, Device=device, Integrator=0, Server=server, IsEmpty=False
        )
    except ValueError as exc:
        raise InvalidInput(f"malformed JID: {s!r}", code="invalid_jid") from exc


def _bare_or_none(jid: str) -> str | None:
    return bare_jid(jid) if jid.strip() else None


def _jid_or_none(j: JID) -> str | None:
    return None if j.IsEmpty else _bare_or_none(jid_to_str(j))


def _chat_of(source: MessageSource) -> str:
    return bare_jid(jid_to_str(source.Chat))


def _sender_of(source: MessageSource, chat: str) -> str:
    # Sender is a device JID (":12"); contacts are per account, so the device is dropped.
    return _jid_or_none(source.Sender) or chat


# --- time -------------------------------------------------------------------------


def wa_timestamp(value: int) -> datetime:
    """Seconds or milliseconds since the epoch, decided by magnitude, as aware UTC."""
    if value > _MS_THRESHOLD:
        seconds, millis = divmod(value, 1000)
        return datetime.fromtimestamp(seconds, UTC) + timedelta(milliseconds=millis)
    return datetime.fromtimestamp(value, UTC)


# --- content ----------------------------------------------------------------------


def unwrap(message: Message) -> Message:
    """The innermost content of nested containers (ephemeral, view once, edited …)."""
    for _ in range(_MAX_UNWRAP_DEPTH):
        wrapper = next((name for name in _WRAPPERS if message.HasField(name)), None)
        if wrapper is None:
            break
        message = getattr(message, wrapper).message
    return message


def _content_of(ev: MessageEv) -> Message:
    # neonize fills Message with whatsmeow's unwrapped content; Raw is only a fallback.
    source = ev.Message if ev.HasField("Message") else ev.Raw
    return unwrap(source)


def _content_fields(message: Message) -> list[str]:
    return [f.name for f, _ in message.ListFields() if f.name not in _CONTROL_FIELDS]


def _has(proto: Proto, name: str) -> bool:
    return name in proto.DESCRIPTOR.fields_by_name and proto.HasField(name)


def _opt_str(proto: Proto, name: str) -> str | None:
    if not _has(proto, name):
        return None
    return str(getattr(proto, name)) or None


def _opt_int(proto: Proto, name: str) -> int | None:
    return int(getattr(proto, name)) if _has(proto, name) else None


def _media(proto: Proto) -> MediaInfo:
    sha256 = bytes(getattr(proto, "fileSHA256", b""))
    return MediaInfo(
        mimetype=_opt_str(proto, "mimetype"),
        size=_opt_int(proto, "fileLength"),
        sha256=sha256.hex() or None,
        file_name=_opt_str(proto, "fileName"),
        seconds=_opt_int(proto, "seconds"),
        width=_opt_int(proto, "width"),
        height=_opt_int(proto, "height"),
    )


def _media_body(kind: MessageKind, proto: Proto) -> _Body:
    return _Body(kind, text=_opt_str(proto, "caption"), media=_media(proto))


def _audio_body(message: Message) -> _Body:
    audio = message.audioMessage
    return _Body("voice" if audio.PTT else "audio", media=_media(audio))


def _location_body(message: Message) -> _Body:
    loc = message.locationMessage
    return _Body(
        "live_location" if loc.isLive else "location",
        text=_opt_str(loc, "comment"),
        location=Location(
            latitude=loc.degreesLatitude,
            longitude=loc.degreesLongitude,
            name=_opt_str(loc, "name"),
            address=_opt_str(loc, "address"),
        ),
    )


def _live_location_body(message: Message) -> _Body:
    loc = message.liveLocationMessage
    return _Body(
        "live_location",
        text=_opt_str(loc, "caption"),
        location=Location(latitude=loc.degreesLatitude, longitude=loc.degreesLongitude),
    )


def _contact_body(message: Message) -> _Body:
    card = message.contactMessage
    return _Body("contact", text=_opt_str(card, "displayName"), vcards=(card.vcard,))


def _contacts_body(message: Message) -> _Body:
    cards = message.contactsArrayMessage
    return _Body(
        "contacts",
        text=_opt_str(cards, "displayName"),
        vcards=tuple(card.vcard for card in cards.contacts),
    )


def _poll_body(field: str) -> Callable[[Message], _Body]:
    # Options have no schema field yet; they stay in `raw`.
    return lambda message: _Body("poll", text=_opt_str(getattr(message, field), "name"))


_BODIES: Final[dict[str, Callable[[Message], _Body]]] = {
    "conversation": lambda m: _Body("text", text=m.conversation or None),
    "extendedTextMessage": lambda m: _Body("text", text=m.extendedTextMessage.text or None),
    "imageMessage": lambda m: _media_body("image", m.imageMessage),
    "videoMessage": lambda m: _media_body("video", m.videoMessage),
    "ptvMessage": lambda m: _media_body("video", m.ptvMessage),
    "audioMessage": _audio_body,
    "documentMessage": lambda m: _media_body("document", m.documentMessage),
    "stickerMessage": lambda m: _Body("sticker", media=_media(m.stickerMessage)),
    "locationMessage": _location_body,
    "liveLocationMessage": _live_location_body,
    "contactMessage": _contact_body,
    "contactsArrayMessage": _contacts_body,
    "pollCreationMessage": _poll_body("pollCreationMessage"),
    "pollCreationMessageV2": _poll_body("pollCreationMessageV2"),
    "pollCreationMessageV3": _poll_body("pollCreationMessageV3"),
    "pollCreationMessageV5": _poll_body("pollCreationMessageV5"),
    "pollCreationMessageV6": _poll_body("pollCreationMessageV6"),
    # Votes are encrypted; ingest resolves them against the stored poll (M14).
    "pollUpdateMessage": lambda m: _Body("poll_vote"),
}


def _body(fields: list[str], message: Message) -> _Body:
    # An empty content (view once opened elsewhere, M12) still becomes a visible row.
    handler = next((_BODIES[name] for name in fields if name in _BODIES), None)
    return handler(message) if handler else _Body("unsupported")


def _context(message: Message, fields: list[str]) -> ContextInfo | None:
    for name in fields:
        field = getattr(message, name)
        if not isinstance(field, Proto):
            continue
        for descriptor, value in field.ListFields():
            if descriptor.name == "contextInfo" and isinstance(value, ContextInfo):
                return value
    return None


def plain_text(message: Message) -> str | None:
    """The text or caption a person would read in this content, if any."""
    inner = unwrap(message)
    if inner.conversation:
        return str(inner.conversation)
    if inner.HasField("extendedTextMessage"):
        return inner.extendedTextMessage.text or None
    for name in ("imageMessage", "videoMessage", "documentMessage"):
        if inner.HasField(name):
            return _opt_str(getattr(inner, name), "caption")
    return None


def _quoted(context: ContextInfo | None) -> Quoted | None:
    if context is None or not context.stanzaID:
        return None
    return Quoted(
        id=context.stanzaID,
        sender_jid=_bare_or_none(context.participant),
        text=plain_text(context.quotedMessage),
    )


def _mentions(context: ContextInfo | None) -> tuple[str, ...]:
    return tuple(bare_jid(j) for j in context.mentionedJID) if context else ()


# --- events -----------------------------------------------------------------------


def map_message(ev: MessageEv, *, tenant_id: UUID, session_id: UUID) -> MessageUpsert | None:
    """A new message (inbound, sent from the phone, or history) as `message.upsert`.

    None for ignored chats (status, broadcast, channels) and for content that is not a
    bubble: protocol messages (edits and revokes, see `map_edit` / `map_revoke`),
    reactions (`map_reaction`), pins, keep-in-chat and key-distribution-only messages.
    Content with no usable body (an empty view-once, a type we do not read) becomes
    kind "unsupported" without text, so nothing the customer sent is silently lost.
    """
    source = ev.Info.MessageSource
    chat = _chat_of(source)
    if is_ignored_chat(chat):
        return None
    message = _content_of(ev)
    fields = _content_fields(message)
    if any(name in _NOT_A_MESSAGE for name in fields):
        return None
    if not fields and any(_has(message, name) for name in _KEY_DISTRIBUTION):
        return None
    body = _body(fields, message)
    context = _context(message, fields)
    sender = _sender_of(source, chat)
    payload = MessagePayload(
        key=MessageKey(
            chat_jid=chat,
            id=ev.Info.ID,
            from_me=source.IsFromMe,
            participant=sender if source.IsGroup else None,
        ),
        sender_jid=sender,
        sender_alt_jid=_jid_or_none(source.SenderAlt),
        push_name=ev.Info.Pushname or None,
        timestamp=wa_timestamp(ev.Info.Timestamp),
        kind=body.kind,
        text=body.text,
        quoted=_quoted(context),
        mentions=_mentions(context),
        media=body.media,
        location=body.location,
        vcards=body.vcards,
        is_group=source.IsGroup,
        raw=MessageToDict(ev),
    )
    return MessageUpsert(tenant_id=tenant_id, session_id=session_id, payload=payload)


def _target_key(source: MessageSource, key: WaMessageKey, chat: str) -> MessageKey:
    """The key of the message an edit, revoke or reaction points at, from our side.

    WhatsApp writes `key.fromMe` from the actor's point of view. When the actor's own
    message is meant, it is ours exactly when the actor is us. Otherwise, in a 1:1 chat
    it is ours exactly when the actor is not us; in a group it could be anyone's and
    our own JID is not known here, so from_me is False: ingest finds the target by
    (session, chat, id), which does not need it.
    """
    actor = _sender_of(source, chat)
    if key.fromMe:
        return MessageKey(
            chat_jid=chat,
            id=key.ID,
            from_me=source.IsFromMe,
            participant=actor if source.IsGroup else None,
        )
    if source.IsGroup:
        return MessageKey(
            chat_jid=chat, id=key.ID, from_me=False, participant=_bare_or_none(key.participant)
        )
    return MessageKey(chat_jid=chat, id=key.ID, from_me=not source.IsFromMe)


def _protocol(ev: MessageEv, kind: int) -> tuple[str, ProtocolMessage] | None:
    chat = _chat_of(ev.Info.MessageSource)
    if is_ignored_chat(chat):
        return None
    message = _content_of(ev)
    if not message.HasField("protocolMessage") or message.protocolMessage.type != kind:
        return None
    return chat, message.protocolMessage


def map_edit(ev: MessageEv, *, tenant_id: UUID, session_id: UUID) -> MessageEdit | None:
    """A MESSAGE_EDIT protocol message as `message.edit`; text None when unreadable (M13)."""
    found = _protocol(ev, ProtocolMessage.MESSAGE_EDIT)
    if found is None:
        return None
    chat, proto = found
    # The sender's own edit time orders competing edits, not the arrival time (M13).
    sent_at = proto.timestampMS if proto.HasField("timestampMS") else ev.Info.Timestamp
    payload = EditPayload(
        key=_target_key(ev.Info.MessageSource, proto.key, chat),
        text=plain_text(proto.editedMessage),
        timestamp=wa_timestamp(sent_at),
    )
    return MessageEdit(tenant_id=tenant_id, session_id=session_id, payload=payload)


def map_revoke(ev: MessageEv, *, tenant_id: UUID, session_id: UUID) -> MessageRevoke | None:
    """A REVOKE protocol message ("deleted for everyone") as `message.revoke`."""
    found = _protocol(ev, ProtocolMessage.REVOKE)
    if found is None:
        return None
    chat, proto = found
    payload = RevokePayload(
        key=_target_key(ev.Info.MessageSource, proto.key, chat),
        timestamp=wa_timestamp(ev.Info.Timestamp),
    )
    return MessageRevoke(tenant_id=tenant_id, session_id=session_id, payload=payload)


def map_reaction(ev: MessageEv, *, tenant_id: UUID, session_id: UUID) -> MessageReaction | None:
    """A reaction as `message.reaction` on its target; an empty emoji removes it."""
    source = ev.Info.MessageSource
    chat = _chat_of(source)
    if is_ignored_chat(chat):
        return None
    message = _content_of(ev)
    if not message.HasField("reactionMessage"):
        return None
    reaction = message.reactionMessage
    sent_at = reaction.senderTimestampMS or ev.Info.Timestamp
    payload = ReactionPayload(
        key=_target_key(source, reaction.key, chat),
        sender_jid=_sender_of(source, chat),
        emoji=reaction.text,
        timestamp=wa_timestamp(sent_at),
    )
    return MessageReaction(tenant_id=tenant_id, session_id=session_id, payload=payload)


def map_message_event(ev: MessageEv, *, tenant_id: UUID, session_id: UUID) -> MessageEvent | None:
    """The one event a neonize message event becomes, or None when it is ignored."""
    return (
        map_edit(ev, tenant_id=tenant_id, session_id=session_id)
        or map_revoke(ev, tenant_id=tenant_id, session_id=session_id)
        or map_reaction(ev, tenant_id=tenant_id, session_id=session_id)
        or map_message(ev, tenant_id=tenant_id, session_id=session_id)
    )


def map_receipt(ev: Receipt, *, tenant_id: UUID, session_id: UUID) -> MessageStatus | None:
    """Delivered / read / played ticks for every id in the receipt (M06).

    Receipts about our own other devices (READ_SELF, PLAYED_SELF, SENDER) and
    transport receipts (RETRY, SERVER_ERROR, INACTIVE …) are no tick: None. An unset
    Type would read as DELIVERED (the proto2 default), so presence is checked first.
    """
    status = _RECEIPT_STATUS.get(ev.Type) if ev.HasField("Type") else None
    chat = _chat_of(ev.MessageSource)
    if status is None or not ev.MessageIDs or is_ignored_chat(chat):
        return None
    payload = StatusPayload(
        chat_jid=chat,
        message_ids=tuple(ev.MessageIDs),
        status=status,
        timestamp=wa_timestamp(ev.Timestamp),
    )
    return MessageStatus(tenant_id=tenant_id, session_id=session_id, payload=payload)
