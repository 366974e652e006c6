"""Tests of the pure neonize → `wa:events` mapping, on real protobuf objects."""

from __future__ import annotations

import json
import uuid
import warnings
from datetime import UTC, datetime

import pytest
from google.protobuf.json_format import MessageToDict

from wacrm_common.errors import InvalidInput
from wacrm_common.events.wa import (
    WA_EVENT,
    EditPayload,
    Location,
    MediaInfo,
    MessageKey,
    MessagePayload,
    MessageUpsert,
    Quoted,
    ReactionPayload,
    RevokePayload,
    StatusPayload,
)
from wacrm_common.jid import phone_from_jid

# Importing neonize runs os.popen("uname -a") without closing the pipe
# (neonize/utils/platform.py); that ResourceWarning is neonize's, not this code's.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ResourceWarning)
    from neonize.proto.Neonize_pb2 import (
        JID,
        AddressingMode,
        MessageInfo,
        MessageSource,
        Receipt,
    )
    from neonize.proto.Neonize_pb2 import Message as MessageEv
    from neonize.proto.waCommon.WACommon_pb2 import MessageKey as WaMessageKey
    from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import (
        AudioMessage,
        ContactMessage,
        ContactsArrayMessage,
        ContextInfo,
        DocumentMessage,
        ExtendedTextMessage,
        FutureProofMessage,
        GroupInviteMessage,
        ImageMessage,
        LocationMessage,
        Message,
        MessageContextInfo,
        PollCreationMessage,
        ProtocolMessage,
        ReactionMessage,
        SenderKeyDistributionMessage,
        StickerMessage,
    )

    from wacrm_connector.drivers.neonize_mapping import (
        jid_to_str,
        map_edit,
        map_message,
        map_message_event,
        map_reaction,
        map_receipt,
        map_revoke,
        str_to_jid,
        wa_timestamp,
    )
    from wacrm_connector.drivers.sim_events import receipt_ev, text_message_ev

TENANT = uuid.UUID("0b7f6a52-8a8e-4a63-9d3c-2f1b6f0c1a01")
SESSION = uuid.UUID("5d1c0e7e-3b5f-4c52-a1f9-9a4e7c6b2d02")
IDS = {"tenant_id": TENANT, "session_id": SESSION}

CUSTOMER = "5511987654321@s.whatsapp.net"
WHEN = datetime(2026, 9, 10, 4, 45, 3, tzinfo=UTC)
WHEN_MS = 1789015503000
PDF_SHA = bytes(range(32))


def _jid(user: str, server: str, *, device: int = 0) -> JID:
    return JID(User=user, Server=server, Device=device, RawAgent=0, Integrator=0, IsEmpty=False)


def _empty_jid() -> JID:
    return JID(User="", Server="", IsEmpty=True)


def _ev(
    message: Message,
    *,
    chat: JID | None = None,
    sender: JID | None = None,
    sender_alt: JID | None = None,
    is_group: bool = False,
    from_me: bool = False,
    push_name: str = "Maria",
    message_id: str = "3EB0C431C26A1916E07E",
    timestamp: int = WHEN_MS,
) -> MessageEv:
    """A message event shaped as neonize emits it (every field present, Go zero values)."""
    customer = _jid("5511987654321", "s.whatsapp.net")
    source = MessageSource(
        Chat=chat or customer,
        Sender=sender or _jid("5511987654321", "s.whatsapp.net", device=12),
        IsFromMe=from_me,
        IsGroup=is_group,
        SenderAlt=sender_alt or _empty_jid(),
        RecipientAlt=_empty_jid(),
        BroadcastListOwner=_empty_jid(),
    )
    info = MessageInfo(
        MessageSource=source, ID=message_id, Pushname=push_name, Timestamp=timestamp, Type="text"
    )
    return MessageEv(Info=info, Message=message, Raw=message)


def _payload(ev: MessageEv, **fields: object) -> MessagePayload:
    """The expected payload of a 1:1 message from CUSTOMER built by `_ev` defaults."""
    values: dict[str, object] = {
        "key": MessageKey(chat_jid=CUSTOMER, id="3EB0C431C26A1916E07E", from_me=False),
        "sender_jid": CUSTOMER,
        "push_name": "Maria",
        "timestamp": WHEN,
        "raw": MessageToDict(ev),
    }
    values.update(fields)
    return MessagePayload.model_validate(values)


def _upsert(ev: MessageEv) -> MessageUpsert:
    before = datetime.now(UTC)
    event = map_message(ev, **IDS)
    after = datetime.now(UTC)
    assert isinstance(event, MessageUpsert)
    assert (event.v, event.type, event.tenant_id, event.session_id) == (
        1,
        "message.upsert",
        TENANT,
        SESSION,
    )
    assert event.event_id.version == 4
    assert before <= event.occurred_at <= after
    # The whole event survives the stream encoding unchanged.
    assert WA_EVENT.validate_json(event.model_dump_json()) == event
    return event


def _pdf() -> DocumentMessage:
    return DocumentMessage(
        fileName="Orçamento 2024.pdf",
        mimetype="application/pdf",
        caption="segue o orçamento",
        fileLength=183456,
        fileSHA256=PDF_SHA,
        pageCount=2,
    )


def _pdf_payload(ev: MessageEv) -> MessagePayload:
    return _payload(
        ev,
        kind="document",
        text="segue o orçamento",
        media=MediaInfo(
            mimetype="application/pdf",
            size=183456,
            sha256=PDF_SHA.hex(),
            file_name="Orçamento 2024.pdf",
        ),
    )


def test_map_message_plain_conversation_is_text() -> None:
    ev = _ev(Message(conversation="oi"))

    event = _upsert(ev)

    assert event.payload == _payload(ev, kind="text", text="oi")


def test_map_message_extended_text_with_quoted_reply_and_mentions() -> None:
    context = ContextInfo(
        stanzaID="3EB0AAAA0000000000A1",
        participant="5511912345678@s.whatsapp.net",
        quotedMessage=Message(conversation="qual o preço?"),
        mentionedJID=["5511912345678@s.whatsapp.net", "98765432101234@lid"],
    )
    ev = _ev(Message(extendedTextMessage=ExtendedTextMessage(text="R$ 50", contextInfo=context)))

    event = _upsert(ev)

    assert event.payload == _payload(
        ev,
        kind="text",
        text="R$ 50",
        quoted=Quoted(
            id="3EB0AAAA0000000000A1",
            sender_jid="5511912345678@s.whatsapp.net",
            text="qual o preço?",
        ),
        mentions=("5511912345678@s.whatsapp.net", "98765432101234@lid"),
    )


def test_map_message_ephemeral_wrapped_extended_text_is_unwrapped() -> None:
    inner = Message(extendedTextMessage=ExtendedTextMessage(text="Oi, tudo bem?"))
    wrapped = _ev(Message(ephemeralMessage=FutureProofMessage(message=inner)))
    already_unwrapped = _ev(inner)
    already_unwrapped.IsEphemeral = True

    assert _upsert(wrapped).payload == _payload(wrapped, kind="text", text="Oi, tudo bem?")
    assert _upsert(already_unwrapped).payload == _payload(
        already_unwrapped, kind="text", text="Oi, tudo bem?"
    )


def test_map_message_view_once_v2_image_keeps_media() -> None:
    image = ImageMessage(
        caption="foto",
        mimetype="image/jpeg",
        fileLength=48213,
        fileSHA256=b"\xab" * 32,
        width=1080,
        height=1920,
        mediaKey=b"\x01" * 32,
        directPath="/v/t62.7118-24/abc",
    )
    ev = _ev(Message(viewOnceMessageV2=FutureProofMessage(message=Message(imageMessage=image))))
    ev.IsViewOnceV2 = True

    event = _upsert(ev)

    assert event.payload == _payload(
        ev,
        kind="image",
        text="foto",
        media=MediaInfo(
            mimetype="image/jpeg", size=48213, sha256="ab" * 32, width=1080, height=1920
        ),
    )


def test_map_message_document_with_caption_pdf() -> None:
    ev = _ev(
        Message(
            documentWithCaptionMessage=FutureProofMessage(message=Message(documentMessage=_pdf()))
        )
    )

    event = _upsert(ev)

    assert event.payload == _pdf_payload(ev)


def test_map_message_document_with_caption_inside_ephemeral_gives_same_result() -> None:
    doc = Message(
        documentWithCaptionMessage=FutureProofMessage(message=Message(documentMessage=_pdf()))
    )
    ev = _ev(Message(ephemeralMessage=FutureProofMessage(message=doc)))

    event = _upsert(ev)

    assert event.payload == _pdf_payload(ev)


def test_map_message_ptt_audio_is_voice() -> None:
    audio = AudioMessage(
        mimetype="audio/ogg; codecs=opus",
        PTT=True,
        seconds=7,
        fileLength=11940,
        fileSHA256=b"\x10" * 32,
    )
    ev = _ev(Message(audioMessage=audio))

    event = _upsert(ev)

    assert event.payload == _payload(
        ev,
        kind="voice",
        media=MediaInfo(mimetype="audio/ogg; codecs=opus", size=11940, sha256="10" * 32, seconds=7),
    )


def test_map_message_audio_without_ptt_is_audio() -> None:
    ev = _ev(Message(audioMessage=AudioMessage(mimetype="audio/mpeg", seconds=184)))

    event = _upsert(ev)

    assert event.payload == _payload(
        ev, kind="audio", media=MediaInfo(mimetype="audio/mpeg", seconds=184)
    )


def test_map_message_lottie_wrapped_sticker() -> None:
    sticker = StickerMessage(
        mimetype="image/webp",
        isAnimated=True,
        width=512,
        height=512,
        fileLength=30112,
        fileSHA256=b"\x5a" * 32,
    )
    ev = _ev(
        Message(lottieStickerMessage=FutureProofMessage(message=Message(stickerMessage=sticker)))
    )

    event = _upsert(ev)

    assert event.payload == _payload(
        ev,
        kind="sticker",
        media=MediaInfo(mimetype="image/webp", size=30112, sha256="5a" * 32, width=512, height=512),
    )


def test_map_message_location_inside_ephemeral() -> None:
    location = LocationMessage(
        degreesLatitude=-23.55,
        degreesLongitude=-46.63,
        name="Av. Paulista",
        address="São Paulo - SP",
    )
    ev = _ev(
        Message(ephemeralMessage=FutureProofMessage(message=Message(locationMessage=location)))
    )

    event = _upsert(ev)

    assert event.payload == _payload(
        ev,
        kind="location",
        location=Location(
            latitude=-23.55, longitude=-46.63, name="Av. Paulista", address="São Paulo - SP"
        ),
    )


def test_map_message_contacts_carry_vcards() -> None:
    ana = "BEGIN:VCARD\nVERSION:3.0\nFN:Ana\nTEL;waid=5531988887777:+55 31 98888-7777\nEND:VCARD"
    bia = "BEGIN:VCARD\nVERSION:3.0\nFN:Bia\nEND:VCARD"
    one = _ev(Message(contactMessage=ContactMessage(displayName="Ana", vcard=ana)))
    many = _ev(
        Message(
            contactsArrayMessage=ContactsArrayMessage(
                displayName="2 contatos",
                contacts=[
                    ContactMessage(displayName="Ana", vcard=ana),
                    ContactMessage(displayName="Bia", vcard=bia),
                ],
            )
        )
    )

    assert _upsert(one).payload == _payload(one, kind="contact", text="Ana", vcards=(ana,))
    assert _upsert(many).payload == _payload(
        many, kind="contacts", text="2 contatos", vcards=(ana, bia)
    )


def test_map_message_poll_creation_keeps_question_as_text() -> None:
    poll = PollCreationMessage(
        name="Melhor horário?",
        selectableOptionsCount=1,
        options=[
            PollCreationMessage.Option(optionName="Manhã"),
            PollCreationMessage.Option(optionName="Tarde"),
        ],
    )
    ev = _ev(Message(pollCreationMessageV3=poll))

    event = _upsert(ev)

    assert event.payload == _payload(ev, kind="poll", text="Melhor horário?")
    assert event.payload.raw["Message"]["pollCreationMessageV3"]["options"] == [
        {"optionName": "Manhã"},
        {"optionName": "Tarde"},
    ]


def test_map_message_unknown_content_is_unsupported_without_text() -> None:
    invite = GroupInviteMessage(
        groupJID="120363151623077576@g.us", inviteCode="AbCd", groupName="Clientes VIP"
    )
    ev = _ev(Message(groupInviteMessage=invite))

    event = _upsert(ev)

    assert event.payload == _payload(ev, kind="unsupported")


def test_map_message_view_once_without_content_is_unsupported_not_dropped() -> None:
    ev = _ev(Message())
    ev.IsViewOnce = True

    event = _upsert(ev)

    assert event.payload == _payload(ev, kind="unsupported")


def test_map_message_context_info_only_is_unsupported_not_dropped() -> None:
    ev = _ev(Message(messageContextInfo=MessageContextInfo(messageSecret=b"\x07" * 32)))
    ev.IsViewOnceV2 = True

    event = _upsert(ev)

    assert event.payload == _payload(ev, kind="unsupported")


def test_map_message_key_distribution_only_is_ignored() -> None:
    skdm = SenderKeyDistributionMessage(
        groupID="120363151623077576@g.us", axolotlSenderKeyDistributionMessage=b"\x33" * 8
    )
    ev = _ev(
        Message(senderKeyDistributionMessage=skdm),
        chat=_jid("120363151623077576", "g.us"),
        is_group=True,
    )

    assert map_message(ev, **IDS) is None
    assert map_message_event(ev, **IDS) is None


def test_map_message_status_broadcast_is_ignored() -> None:
    ev = _ev(
        Message(imageMessage=ImageMessage(caption="promo", mimetype="image/jpeg")),
        chat=_jid("status", "broadcast"),
        sender=_jid("128123286851838", "lid"),
        is_group=True,
    )

    assert map_message(ev, **IDS) is None
    assert map_message_event(ev, **IDS) is None


def test_map_message_newsletter_is_ignored() -> None:
    ev = _ev(
        Message(conversation="Novidades da semana"),
        chat=_jid("120363168033477807", "newsletter"),
        sender=_jid("120363168033477807", "newsletter"),
    )

    assert map_message(ev, **IDS) is None
    assert map_message_event(ev, **IDS) is None


def test_map_message_group_lid_sender_with_phone_alt() -> None:
    ev = _ev(
        Message(conversation="bom dia grupo"),
        chat=_jid("120363151623077576", "g.us"),
        sender=_jid("98765432101234", "lid", device=3),
        sender_alt=_jid("5531988887777", "s.whatsapp.net"),
        is_group=True,
        push_name="Ana",
    )

    event = _upsert(ev)

    assert event.payload == _payload(
        ev,
        key=MessageKey(
            chat_jid="120363151623077576@g.us",
            id="3EB0C431C26A1916E07E",
            from_me=False,
            participant="98765432101234@lid",
        ),
        sender_jid="98765432101234@lid",
        sender_alt_jid="5531988887777@s.whatsapp.net",
        push_name="Ana",
        kind="text",
        text="bom dia grupo",
        is_group=True,
    )


def test_map_message_lid_only_chat_keeps_lid_and_no_phone() -> None:
    lid = _jid("192234817380569", "lid")
    ev = _ev(Message(conversation="quero orçamento"), chat=lid, sender=lid, push_name="")

    event = _upsert(ev)

    assert event.payload == _payload(
        ev,
        key=MessageKey(chat_jid="192234817380569@lid", id="3EB0C431C26A1916E07E", from_me=False),
        sender_jid="192234817380569@lid",
        push_name=None,
        kind="text",
        text="quero orçamento",
    )
    assert phone_from_jid(event.payload.key.chat_jid) is None


def test_map_message_from_me_on_phone_keeps_direction() -> None:
    ev = _ev(
        Message(conversation="Olá! Como posso ajudar?"),
        sender=_jid("5511955554444", "s.whatsapp.net"),
        from_me=True,
        push_name="Loja",
    )

    event = _upsert(ev)

    assert event.payload == _payload(
        ev,
        key=MessageKey(chat_jid=CUSTOMER, id="3EB0C431C26A1916E07E", from_me=True),
        sender_jid="5511955554444@s.whatsapp.net",
        push_name="Loja",
        kind="text",
        text="Olá! Como posso ajudar?",
    )


@pytest.mark.parametrize("timestamp", [1789015503000, 1789015503])
def test_map_message_timestamp_milliseconds_or_seconds(timestamp: int) -> None:
    ev = _ev(Message(conversation="oi"), timestamp=timestamp)

    event = _upsert(ev)

    assert event.payload.timestamp == datetime(2026, 9, 10, 4, 45, 3, tzinfo=UTC)
    assert event.payload.timestamp.isoformat() == "2026-09-10T04:45:03+00:00"


def test_wa_timestamp_keeps_milliseconds_exactly() -> None:
    assert wa_timestamp(1789015503123) == datetime(2026, 9, 10, 4, 45, 3, 123000, tzinfo=UTC)


def test_map_message_emoji_text_byte_for_byte() -> None:
    text = "👍🏽 Olá, família 👨‍👩‍👧! ✅"
    ev = _ev(Message(conversation=text))

    event = _upsert(ev)

    assert event.payload == _payload(ev, kind="text", text=text)
    assert (event.payload.text or "").encode("utf-8") == text.encode("utf-8")


def test_map_message_raw_is_json_serialisable() -> None:
    ev = _ev(Message(documentMessage=_pdf()))

    event = _upsert(ev)

    decoded = json.loads(json.dumps(event.payload.raw))
    assert decoded["Info"]["ID"] == "3EB0C431C26A1916E07E"
    assert decoded["Info"]["Timestamp"] == "1789015503000"
    assert decoded["Message"]["documentMessage"]["fileSHA256"] == (
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
    )


def test_map_reaction_targets_the_reacted_message() -> None:
    reaction = ReactionMessage(
        key=WaMessageKey(remoteJID=CUSTOMER, fromMe=False, ID="3EB0BBBB0000000000B2"),
        text="❤️",
        senderTimestampMS=1789015560000,
    )
    ev = _ev(Message(reactionMessage=reaction))

    event = map_reaction(ev, **IDS)

    assert map_message(ev, **IDS) is None
    assert event is not None
    assert (event.type, event.tenant_id, event.session_id) == (
        "message.reaction",
        TENANT,
        SESSION,
    )
    assert event.payload == ReactionPayload(
        key=MessageKey(chat_jid=CUSTOMER, id="3EB0BBBB0000000000B2", from_me=True),
        sender_jid=CUSTOMER,
        emoji="❤️",
        timestamp=datetime(2026, 9, 10, 4, 46, 0, tzinfo=UTC),
    )
    dispatched = map_message_event(ev, **IDS)
    assert dispatched is not None
    assert (dispatched.type, dispatched.payload) == ("message.reaction", event.payload)


def test_map_edit_from_edited_message_wrapper() -> None:
    protocol = ProtocolMessage(
        type=ProtocolMessage.MESSAGE_EDIT,
        key=WaMessageKey(remoteJID=CUSTOMER, fromMe=True, ID="3A39EDCAADA4107FA4A4"),
        editedMessage=Message(conversation="novo texto"),
        timestampMS=1789015600000,
    )
    ev = _ev(Message(editedMessage=FutureProofMessage(message=Message(protocolMessage=protocol))))
    ev.IsEdit = True

    event = map_edit(ev, **IDS)

    assert map_message(ev, **IDS) is None
    assert map_revoke(ev, **IDS) is None
    assert event is not None
    assert (event.type, event.tenant_id, event.session_id) == ("message.edit", TENANT, SESSION)
    assert event.payload == EditPayload(
        key=MessageKey(chat_jid=CUSTOMER, id="3A39EDCAADA4107FA4A4", from_me=False),
        text="novo texto",
        timestamp=datetime(2026, 9, 10, 4, 46, 40, tzinfo=UTC),
    )


def test_map_revoke_by_group_admin_names_the_original_sender() -> None:
    protocol = ProtocolMessage(
        type=ProtocolMessage.REVOKE,
        key=WaMessageKey(
            remoteJID="120363151623077576@g.us",
            fromMe=False,
            ID="3EB0CCCC0000000000C3",
            participant="98765432101234@lid",
        ),
    )
    ev = _ev(
        Message(protocolMessage=protocol),
        chat=_jid("120363151623077576", "g.us"),
        sender=_jid("11122233344455", "lid"),
        is_group=True,
    )

    event = map_message_event(ev, **IDS)

    assert map_message(ev, **IDS) is None
    assert event is not None
    assert event.type == "message.revoke"
    assert event.payload == RevokePayload(
        key=MessageKey(
            chat_jid="120363151623077576@g.us",
            id="3EB0CCCC0000000000C3",
            from_me=False,
            participant="98765432101234@lid",
        ),
        timestamp=WHEN,
    )


def test_map_receipt_read_updates_every_id() -> None:
    ev = Receipt(
        MessageSource=MessageSource(
            Chat=_jid("5511987654321", "s.whatsapp.net"),
            Sender=_jid("5511987654321", "s.whatsapp.net", device=4),
            IsFromMe=False,
            IsGroup=False,
            SenderAlt=_empty_jid(),
        ),
        MessageIDs=["3EB0A", "3EB0B", "3EB0C"],
        Timestamp=1789015563,
        Type=Receipt.READ,
    )

    event = map_receipt(ev, **IDS)

    assert event is not None
    assert (event.type, event.tenant_id, event.session_id) == ("message.status", TENANT, SESSION)
    assert event.payload == StatusPayload(
        chat_jid=CUSTOMER,
        message_ids=("3EB0A", "3EB0B", "3EB0C"),
        status="read",
        timestamp=datetime(2026, 9, 10, 4, 46, 3, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("receipt_type", "status"),
    [
        (Receipt.DELIVERED, "delivered"),
        (Receipt.READ, "read"),
        (Receipt.PLAYED, "played"),
        (Receipt.READ_SELF, None),
        (Receipt.PLAYED_SELF, None),
        (Receipt.SENDER, None),
        (Receipt.RETRY, None),
        (Receipt.SERVER_ERROR, None),
        (Receipt.INACTIVE, None),
    ],
)
def test_map_receipt_maps_only_tick_types(
    receipt_type: Receipt.ReceiptType.ValueType, status: str | None
) -> None:
    ev = Receipt(
        MessageSource=MessageSource(Chat=_jid("5511987654321", "s.whatsapp.net")),
        MessageIDs=["3EB0A"],
        Timestamp=1789015503,
        Type=receipt_type,
    )

    event = map_receipt(ev, **IDS)

    assert (event.payload.status if event else None) == status


def test_map_receipt_without_type_is_not_read_as_delivered() -> None:
    ev = Receipt(
        MessageSource=MessageSource(Chat=_jid("5511987654321", "s.whatsapp.net")),
        MessageIDs=["3EB0A"],
        Timestamp=1789015503,
    )

    assert map_receipt(ev, **IDS) is None


def test_sim_text_message_round_trips_through_mapping() -> None:
    ev = text_message_ev(
        chat_jid="120363151623077576@g.us",
        sender_jid="98765432101234:2@lid",
        message_id="SIM-0001",
        text="bom dia grupo",
        timestamp=WHEN,
        push_name="Ana",
        is_group=True,
        sender_alt_jid="5531988887777@s.whatsapp.net",
        quoted=("SIM-0000", "5511987654321@s.whatsapp.net", "oi"),
    )

    event = _upsert(ev)

    assert ev.Info.Timestamp == WHEN_MS
    assert ev.Info.MessageSource.AddressingMode == AddressingMode.LID
    assert event.payload == _payload(
        ev,
        key=MessageKey(
            chat_jid="120363151623077576@g.us",
            id="SIM-0001",
            from_me=False,
            participant="98765432101234@lid",
        ),
        sender_jid="98765432101234@lid",
        sender_alt_jid="5531988887777@s.whatsapp.net",
        push_name="Ana",
        kind="text",
        text="bom dia grupo",
        quoted=Quoted(id="SIM-0000", sender_jid="5511987654321@s.whatsapp.net", text="oi"),
        is_group=True,
    )


def test_sim_plain_text_message_uses_conversation() -> None:
    ev = text_message_ev(
        chat_jid=CUSTOMER, sender_jid=CUSTOMER, message_id="SIM-0002", text="oi", timestamp=WHEN
    )

    event = _upsert(ev)

    assert ev.Message == Message(conversation="oi")
    assert event.payload == _payload(
        ev,
        key=MessageKey(chat_jid=CUSTOMER, id="SIM-0002", from_me=False),
        push_name=None,
        kind="text",
        text="oi",
    )


def test_sim_builders_refuse_naive_timestamps() -> None:
    with pytest.raises(ValueError, match="timezone"):
        text_message_ev(
            chat_jid=CUSTOMER,
            sender_jid=CUSTOMER,
            message_id="SIM-0003",
            text="oi",
            timestamp=datetime(2026, 9, 10, 4, 45, 3),
        )


def test_sim_receipt_round_trips_through_mapping() -> None:
    ev = receipt_ev(
        chat_jid=CUSTOMER,
        sender_jid=CUSTOMER,
        message_ids=["SIM-0001", "SIM-0002", "SIM-0003"],
        kind="played",
        timestamp=WHEN,
    )

    event = map_receipt(ev, **IDS)

    assert ev.Timestamp == 1789015503
    assert event is not None
    assert event.payload == StatusPayload(
        chat_jid=CUSTOMER,
        message_ids=("SIM-0001", "SIM-0002", "SIM-0003"),
        status="played",
        timestamp=WHEN,
    )


@pytest.mark.parametrize(
    "text",
    [
        "5511987654321@s.whatsapp.net",
        "5511987654321:12@s.whatsapp.net",
        "5511987654321.1:2@s.whatsapp.net",
        "98765432101234@lid",
        "120363151623077576@g.us",
        "status@broadcast",
        "s.whatsapp.net",
    ],
)
def test_jid_to_str_inverts_str_to_jid(text: str) -> None:
    assert jid_to_str(str_to_jid(text)) == text


def test_str_to_jid_parts() -> None:
    assert str_to_jid("5511987654321.1:2@s.whatsapp.net") == JID(
        User="5511987654321",
        RawAgent=1,
        Device=2,
        Integrator=0,
        Server="s.whatsapp.net",
        IsEmpty=False,
    )
    assert str_to_jid("") == JID(User="", Server="", IsEmpty=True)


@pytest.mark.parametrize(
    "text",
    [
        "5511987654321:x@s.whatsapp.net",
        "5511987654321:-1@s.whatsapp.net",
        "5511987654321.a:1@s.whatsapp.net",
    ],
)
def test_str_to_jid_rejects_malformed_parts(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        str_to_jid(text)
    assert caught.value.code == "invalid_jid"
