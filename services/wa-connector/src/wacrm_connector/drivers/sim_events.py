"""SIMULATOR ONLY: builds the neonize protobuf events a real session would receive."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

from neonize.proto.Neonize_pb2 import (
    JID,
    AddressingMode,
    MessageInfo,
    MessageSource,
    Receipt,
)
from neonize.proto.Neonize_pb2 import Message as MessageEv
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import ContextInfo, ExtendedTextMessage, Message

from wacrm_common.jid import is_group as is_group_jid
from wacrm_common.jid import is_lid
from wacrm_connector.drivers.neonize_mapping import str_to_jid

ReceiptKind = Literal["delivered", "read", "played"]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_RECEIPT_TYPES: Final = {
    "delivered": Receipt.DELIVERED,
    "read": Receipt.READ,
    "played": Receipt.PLAYED,
}


def _since_epoch(when: datetime, unit: timedelta) -> int:
    if when.tzinfo is None:
        raise ValueError("simulated timestamps must carry a timezone")
    # Integer division of timedeltas is exact, unlike float seconds * 1000.
    return (when - _EPOCH) // unit


def _jid(value: str | None) -> JID:
    # Go zero JIDs reach Python as IsEmpty=True, never as an absent field.
    return str_to_jid(value or "")


def _source(
    *, chat_jid: str, sender_jid: str, from_me: bool, group: bool, sender_alt_jid: str | None
) -> MessageSource:
    source = MessageSource(
        Chat=_jid(chat_jid),
        Sender=_jid(sender_jid),
        IsFromMe=from_me,
        IsGroup=group,
        SenderAlt=_jid(sender_alt_jid),
        RecipientAlt=_jid(None),
        BroadcastListOwner=_jid(None),
    )
    # whatsmeow only reports an addressing mode for groups.
    if group:
        source.AddressingMode = AddressingMode.LID if is_lid(sender_jid) else AddressingMode.PN
    return source


def _text_content(text: str, quoted: tuple[str, str, str] | None) -> Message:
    # WhatsApp sends plain text as `conversation`; a reply needs the extended form.
    if quoted is None:
        return Message(conversation=text)
    quoted_id, quoted_sender, quoted_text = quoted
    context = ContextInfo(
        stanzaID=quoted_id,
        participant=quoted_sender,
        quotedMessage=Message(conversation=quoted_text),
    )
    return Message(extendedTextMessage=ExtendedTextMessage(text=text, contextInfo=context))


def text_message_ev(
    *,
    chat_jid: str,
    sender_jid: str,
    message_id: str,
    text: str,
    timestamp: datetime,
    push_name: str | None = None,
    from_me: bool = False,
    is_group: bool = False,
    sender_alt_jid: str | None = None,
    quoted: tuple[str, str, str] | None = None,
) -> MessageEv:
    """A text message event; `quoted` is (message id, sender JID, text) of a reply.

    Info.Timestamp is in milliseconds, as neonize encodes it (Timestamp.UnixMilli()).
    """
    content = _text_content(text, quoted)
    info = MessageInfo(
        MessageSource=_source(
            chat_jid=chat_jid,
            sender_jid=sender_jid,
            from_me=from_me,
            group=is_group,
            sender_alt_jid=sender_alt_jid,
        ),
        ID=message_id,
        ServerID=0,
        Type="text",
        Pushname=push_name or "",
        Timestamp=_since_epoch(timestamp, timedelta(milliseconds=1)),
        Category="",
        Multicast=False,
        MediaType="",
        Edit="",
    )
    # neonize fills both Message and Raw with whatsmeow's content.
    return MessageEv(
        Info=info,
        Message=content,
        Raw=content,
        IsEphemeral=False,
        IsViewOnce=False,
        IsViewOnceV2=False,
        IsEdit=False,
    )


def receipt_ev(
    *,
    chat_jid: str,
    sender_jid: str,
    message_ids: Sequence[str],
    kind: ReceiptKind,
    timestamp: datetime,
) -> Receipt:
    """A delivered / read / played receipt from `sender_jid` for our messages.

    Receipt.Timestamp is in seconds, as neonize encodes it (Timestamp.Unix()).
    """
    source = _source(
        chat_jid=chat_jid,
        sender_jid=sender_jid,
        from_me=False,
        group=is_group_jid(chat_jid),
        sender_alt_jid=None,
    )
    return Receipt(
        MessageSource=source,
        MessageIDs=list(message_ids),
        Timestamp=_since_epoch(timestamp, timedelta(seconds=1)),
        Type=_RECEIPT_TYPES[kind],
    )
