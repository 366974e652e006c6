"""Tests of the neonize driver without the network: real neonize objects, a collecting emit."""

from __future__ import annotations

import asyncio
import ctypes
import socket
import threading
import uuid
import warnings
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from wacrm_common.errors import Conflict, InvalidInput
from wacrm_common.events.commands import MarkRead, SendText, SimulateChatExport
from wacrm_common.events.wa import (
    ContactUpdatePayload,
    MessageKey,
    SessionConnectedPayload,
    SessionDisconnectedPayload,
    SessionQrPayload,
    StatusPayload,
    WaEvent,
)
from wacrm_common.settings import Settings
from wacrm_connector.drivers.base import SessionContext
from wacrm_connector.drivers.sim_events import receipt_ev, text_message_ev

# Importing neonize runs os.popen("uname -a") without closing the pipe
# (neonize/utils/platform.py); that ResourceWarning is neonize's, not this code's.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ResourceWarning)
    from neonize.aioze import events as neonize_events
    from neonize.proto.Neonize_pb2 import (
        Connected,
        ConnectFailure,
        ConnectFailureReason,
        Device,
        Disconnected,
        HistorySync,
        LoggedOut,
        MessageInfo,
        StreamReplaced,
        TemporaryBan,
        UndecryptableMessage,
    )
    from neonize.proto.waCommon.WACommon_pb2 import MessageKey as WaMessageKey
    from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import (
        ContextInfo,
        ExtendedTextMessage,
        Message,
        ReactionMessage,
    )
    from neonize.proto.waHistorySync.WAWebProtobufsHistorySync_pb2 import (
        Conversation,
        HistorySyncMsg,
    )
    from neonize.proto.waHistorySync.WAWebProtobufsHistorySync_pb2 import (
        HistorySync as HistorySyncData,
    )
    from neonize.proto.waWeb.WAWebProtobufsWeb_pb2 import WebMessageInfo

    from wacrm_connector.drivers.neonize import (
        NeonizeDriver,
        _QrCode,
        _SentIds,
        _ThreadPerCallExecutor,
        backoff_delay,
        history_message,
        server_time,
        session_file,
        text_message,
    )
    from wacrm_connector.drivers.neonize_mapping import map_message_event, str_to_jid

CUSTOMER = "5511988887777@s.whatsapp.net"
OWN_DEVICE = "5511987654321:7@s.whatsapp.net"
OWN = "5511987654321@s.whatsapp.net"
GROUP = "120363000000000001@g.us"
MEMBER = "5511977776666@s.whatsapp.net"
WHEN = datetime(2025, 11, 24, 15, 0, tzinfo=UTC)


def shape(events: Sequence[WaEvent]) -> list[tuple[str, Any]]:
    """Type and payload: the envelope's event id and time differ on every run."""
    return [(e.type, e.payload) for e in events]


async def eventually(check: Callable[[], bool], *, within: float = 15.0) -> None:
    for _ in range(int(within / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def own_device() -> Any:
    return Device(
        JID=str_to_jid(OWN_DEVICE),
        LID=str_to_jid("123456789012345:7@lid"),
        PushName="Loja Exemplo",
        Platform="android",
        BussinessName="",
        Initialized=True,
    )


def make_driver(tmp_path: Path, **kwargs: Any) -> tuple[NeonizeDriver, list[WaEvent]]:
    sent: list[WaEvent] = []

    async def collect(events: Sequence[WaEvent]) -> None:
        sent.extend(events)

    ctx = SessionContext(
        tenant_id=uuid.uuid4(),
        session_id=uuid.uuid4(),
        settings=Settings(neonize_data_dir=str(tmp_path)),
        emit=collect,
    )
    return NeonizeDriver(ctx, **kwargs), sent


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[tuple[NeonizeDriver, list[WaEvent]]]:
    driver, sent = make_driver(tmp_path)
    yield driver, sent
    await driver.stop()


def send_text(driver: NeonizeDriver, **fields: Any) -> SendText:
    defaults: dict[str, Any] = {
        "message_id": uuid.uuid4(),
        "wa_message_id": "3EB0CRM0000000001",
        "chat_jid": CUSTOMER,
        "text": "R$ 10",
    }
    return SendText(
        tenant_id=driver.ctx.tenant_id,
        session_id=driver.ctx.session_id,
        **(defaults | fields),
    )


def file_names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- pure helpers ---------------------------------------------------------------------


def test_session_file_is_one_sqlite_file_per_session(tmp_path: Path) -> None:
    session_id = uuid.uuid4()
    settings = Settings(neonize_data_dir=str(tmp_path / "neonize"))
    assert session_file(settings, session_id) == tmp_path / "neonize" / f"{session_id}.sqlite3"


def test_driver_session_path_uses_settings(tmp_path: Path) -> None:
    driver, _ = make_driver(tmp_path)
    assert driver.session_path == tmp_path / f"{driver.ctx.session_id}.sqlite3"


def test_backoff_delay_doubles_from_one_second_to_sixty() -> None:
    no_jitter = [backoff_delay(n, rand=lambda: 0.0) for n in range(9)]
    assert no_jitter == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]
    full_jitter = [backoff_delay(n, rand=lambda: 1.0) for n in range(8)]
    assert full_jitter == [0.75, 1.5, 3.0, 6.0, 12.0, 24.0, 45.0, 45.0]
    assert backoff_delay(10_000, rand=lambda: 0.5) == 52.5
    assert backoff_delay(2, base=0.01, rand=lambda: 0.0) == 0.04


def test_backoff_delay_jitter_stays_under_the_cap() -> None:
    delays = [backoff_delay(9) for _ in range(200)]
    assert all(45.0 <= d <= 60.0 for d in delays)
    assert len(set(delays)) > 1


def test_server_time_reads_seconds_milliseconds_and_nanoseconds() -> None:
    expected = datetime(2025, 11, 24, 15, 0, tzinfo=UTC)
    seconds = int(expected.timestamp())
    assert server_time(seconds) == expected
    assert server_time(seconds * 1000) == expected
    assert server_time(seconds * 1_000_000_000) == expected


def test_text_message_is_conversation_unless_quoting() -> None:
    assert text_message("Oi") == Message(conversation="Oi")
    context = ContextInfo(stanzaID="ABC", participant=CUSTOMER)
    assert text_message("Oi", context) == Message(
        extendedTextMessage=ExtendedTextMessage(text="Oi", contextInfo=context)
    )


def test_thread_per_call_executor_never_waits_for_parked_calls() -> None:
    executor = _ThreadPerCallExecutor()
    assert executor.submit(pow, 2, 10).result(timeout=5) == 1024
    release = threading.Event()
    parked = executor.submit(release.wait)
    executor.shutdown(wait=True)
    assert not parked.done()
    with pytest.raises(RuntimeError, match="after shutdown"):
        executor.submit(pow, 2, 2)
    release.set()
    assert parked.result(timeout=5) is True


def web_message(
    chat: str,
    message_id: str,
    *,
    from_me: bool = False,
    text: str | None = "Oi",
    participant: str = "",
    push_name: str = "",
    at: datetime = WHEN,
) -> Any:
    web = WebMessageInfo(
        key=WaMessageKey(remoteJID=chat, fromMe=from_me, ID=message_id, participant=participant),
        messageTimestamp=int(at.timestamp()),
        pushName=push_name,
    )
    if text is None:
        web.messageStubType = WebMessageInfo.E2E_ENCRYPTED
    else:
        web.message.CopyFrom(Message(conversation=text))
    return web


def test_history_message_rebuilds_the_live_event() -> None:
    ev = history_message(
        CUSTOMER, web_message(CUSTOMER, "H1", push_name="Cliente"), own_jid=OWN, own_lid=None
    )
    assert ev is not None
    source = ev.Info.MessageSource
    assert (source.Chat, source.Sender, source.IsFromMe, source.IsGroup) == (
        str_to_jid(CUSTOMER),
        str_to_jid(CUSTOMER),
        False,
        False,
    )
    assert (ev.Info.ID, ev.Info.Pushname, ev.Info.Timestamp) == (
        "H1",
        "Cliente",
        int(WHEN.timestamp()) * 1000,
    )
    assert ev.Message == Message(conversation="Oi")


def test_history_message_senders_of_own_lid_and_group_messages() -> None:
    mine = history_message(
        "99@lid", web_message("99@lid", "H2", from_me=True), own_jid=OWN, own_lid="123@lid"
    )
    assert mine is not None
    assert mine.Info.MessageSource.Sender == str_to_jid("123@lid")
    member = history_message(
        GROUP, web_message(GROUP, "G1", participant=MEMBER), own_jid=OWN, own_lid=None
    )
    assert member is not None
    assert (member.Info.MessageSource.Sender, member.Info.MessageSource.IsGroup) == (
        str_to_jid(MEMBER),
        True,
    )


def test_history_message_skips_stubs_and_unknown_senders() -> None:
    assert (
        history_message(CUSTOMER, web_message(CUSTOMER, "S", text=None), own_jid=OWN, own_lid=None)
        is None
    )
    assert history_message(GROUP, web_message(GROUP, "G"), own_jid=OWN, own_lid=None) is None
    assert (
        history_message(
            CUSTOMER, web_message(CUSTOMER, "M", from_me=True), own_jid=None, own_lid=None
        )
        is None
    )


# --- events from neonize ------------------------------------------------------------------


async def test_qr_code_is_emitted_until_a_pair_code_is_requested(
    harness: tuple[NeonizeDriver, list[WaEvent]],
) -> None:
    driver, sent = harness
    driver._run = driver._new_run()
    await driver._on_qr(_QrCode("2@abc,def,ghi,jkl"))
    assert shape(sent) == [("session.qr", SessionQrPayload(code="2@abc,def,ghi,jkl"))]
    driver._run.pair_code_requested = True
    await driver._on_qr(_QrCode("2@next,def,ghi,jkl"))
    assert len(sent) == 1
    assert driver._run.qr_count == 2


async def test_connected_reports_own_jid_and_push_name(
    harness: tuple[NeonizeDriver, list[WaEvent]],
) -> None:
    driver, sent = harness
    driver._run = driver._new_run()
    driver._run.client.me = own_device()
    await driver._on_connected(Connected(status=True))
    assert shape(sent) == [
        (
            "session.connected",
            SessionConnectedPayload(
                jid=OWN,
                push_name="Loja Exemplo",
            ),
        )
    ]
    assert driver._connected.is_set()
    assert driver._run.online is True


async def test_neonize_dispatch_reaches_the_driver_in_order(
    harness: tuple[NeonizeDriver, list[WaEvent]],
) -> None:
    """Drive neonize's own Event.execute, the entry point its Go library calls."""
    driver, sent = harness
    run = driver._new_run()
    driver._run = run
    driver._register(run)
    neonize_events.set_event_loop(asyncio.get_running_loop())  # what connect() does
    driver._pump_task = asyncio.create_task(driver._pump())
    message = text_message_ev(
        chat_jid=CUSTOMER,
        sender_jid=CUSTOMER,
        message_id="IN1",
        text="Oi",
        timestamp=WHEN,
        push_name="Cliente",
    )
    receipt = receipt_ev(
        chat_jid=CUSTOMER,
        sender_jid=CUSTOMER,
        message_ids=["OUT1"],
        kind="delivered",
        timestamp=WHEN,
    )
    # Event codes from neonize.events.EVENT_TO_INT: Device 0, Connected 3, Message 17, Receipt 18.
    for code, proto in (
        (0, own_device()),
        (3, Connected(status=True)),
        (17, message),
        (18, receipt),
    ):
        data = proto.SerializePartialToString()
        buffer = ctypes.create_string_buffer(data, len(data))
        run.client.event.execute(0, ctypes.addressof(buffer), len(data), code)
    await eventually(lambda: len(sent) == 3)
    assert run.client.me == own_device()
    assert [e.type for e in sent] == ["session.connected", "message.upsert", "message.status"]
    assert sent[0].payload == SessionConnectedPayload(jid=OWN, push_name="Loja Exemplo")
    assert sent[1].payload.key == MessageKey(chat_jid=CUSTOMER, id="IN1", from_me=False)
    assert sent[2].payload == StatusPayload(
        chat_jid=CUSTOMER,
        message_ids=("OUT1",),
        status="delivered",
        timestamp=WHEN,
    )


async def test_message_event_is_mapped_and_ignored_chats_are_skipped(
    harness: tuple[NeonizeDriver, list[WaEvent]],
) -> None:
    driver, sent = harness
    ev = text_message_ev(
        chat_jid=CUSTOMER,
        sender_jid=CUSTOMER,
        message_id="IN1",
        text="Quanto custa?",
        timestamp=WHEN,
        push_name="Cliente",
    )
    await driver._on_message(ev)
    expected = map_message_event(
        ev, tenant_id=driver.ctx.tenant_id, session_id=driver.ctx.session_id
    )
    assert expected is not None
    assert shape(sent) == [("message.upsert", expected.payload)]
    assert sent[0].payload.text == "Quanto custa?"
    status = text_message_ev(
        chat_jid="status@broadcast",
        sender_jid=CUSTOMER,
        message_id="ST1",
        text="story",
        timestamp=WHEN,
    )
    await driver._on_message(status)
    assert len(sent) == 1


async def test_receipt_names_our_sends_by_the_crm_id(
    harness: tuple[NeonizeDriver, list[WaEvent]],
) -> None:
    driver, sent = harness
    await driver._sent_ids.add(wa_id="3EB0WHATSAPP01", crm_id="3EB0CRM0000000001")
    receipt = receipt_ev(
        chat_jid=CUSTOMER,
        sender_jid=CUSTOMER,
        message_ids=["3EB0WHATSAPP01", "FROMPHONE1"],
        kind="read",
        timestamp=WHEN,
    )
    await driver._on_receipt(receipt)
    assert shape(sent) == [
        (
            "message.status",
            StatusPayload(
                chat_jid=CUSTOMER,
                message_ids=("3EB0CRM0000000001", "FROMPHONE1"),
                status="read",
                timestamp=WHEN,
            ),
        )
    ]


async def test_reaction_to_our_send_targets_the_crm_id(
    harness: tuple[NeonizeDriver, list[WaEvent]],
) -> None:
    driver, sent = harness
    await driver._sent_ids.add(wa_id="3EB0WHATSAPP01", crm_id="3EB0CRM0000000001")
    ev = text_message_ev(
        chat_jid=CUSTOMER, sender_jid=CUSTOMER, message_id="R1", text="x", timestamp=WHEN
    )
    reaction = Message(
        reactionMessage=ReactionMessage(
            key=WaMessageKey(remoteJID=CUSTOMER, fromMe=False, ID="3EB0WHATSAPP01"),
            text="👍",
            senderTimestampMS=int(WHEN.timestamp() * 1000),
        )
    )
    ev.Message.CopyFrom(reaction)
    ev.Raw.CopyFrom(reaction)
    await driver._on_message(ev)
    assert [e.type for e in sent] == ["message.reaction"]
    assert sent[0].payload.key == MessageKey(
        chat_jid=CUSTOMER, id="3EB0CRM0000000001", from_me=True
    )
    assert sent[0].payload.emoji == "👍"


async def test_sent_ids_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "ids.sqlite3"
    await _SentIds(path).add(wa_id="3EB0WHATSAPP01", crm_id="3EB0CRM0000000001")
    again = _SentIds(path)
    assert await again.crm_ids(["3EB0WHATSAPP01", "OTHER"]) == {
        "3EB0WHATSAPP01": "3EB0CRM0000000001"
    }
    assert await again.wa_id("3EB0CRM0000000001") == "3EB0WHATSAPP01"
    assert await _SentIds(path).wa_id("INBOUND1") == "INBOUND1"


async def test_disconnect_is_reported_and_blocks_sends(
    harness: tuple[NeonizeDriver, list[WaEvent]],
) -> None:
    driver, sent = harness
    await driver._on_connected(Connected(status=True))
    await driver._on_disconnected(Disconnected(status=True))
    assert shape(sent)[1:] == [
        (
            "session.disconnected",
            SessionDisconnectedPayload(
                reason="connection lost",
            ),
        )
    ]
    assert not driver._connected.is_set()


async def test_logged_out_deletes_the_session_files_once(
    harness: tuple[NeonizeDriver, list[WaEvent]],
    tmp_path: Path,
) -> None:
    driver, sent = harness
    session_id = driver.ctx.session_id
    for name in (
        f"{session_id}.sqlite3",
        f"{session_id}.sqlite3-journal",
        f"{session_id}.sent-ids.sqlite3",
    ):
        (tmp_path / name).write_bytes(b"state")
    other = tmp_path / f"{uuid.uuid4()}.sqlite3"
    other.write_bytes(b"another session")
    driver._run = driver._new_run()
    event = LoggedOut(OnConnect=True, Reason=ConnectFailureReason.Value("MAIN_DEVICE_GONE"))
    await driver._on_logged_out(event)
    await driver._on_logged_out(event)
    assert file_names(tmp_path) == [other.name]
    assert shape(sent) == [
        (
            "session.logged_out",
            SessionDisconnectedPayload(
                reason="logged out (main_device_gone)",
            ),
        )
    ]
    assert driver._run.end_reason == "logged_out"


async def test_logout_without_connection_still_forgets_the_session(
    harness: tuple[NeonizeDriver, list[WaEvent]],
    tmp_path: Path,
) -> None:
    driver, sent = harness
    driver.session_path.write_bytes(b"state")
    await driver.logout()
    assert not driver.session_path.exists()
    assert shape(sent) == [("session.logged_out", SessionDisconnectedPayload(reason="logged out"))]
    with pytest.raises(Conflict, match="not running"):
        await driver.send_text(send_text(driver))


async def test_undecryptable_message_emits_nothing(
    harness: tuple[NeonizeDriver, list[WaEvent]],
) -> None:
    driver, sent = harness
    info = text_message_ev(
        chat_jid=CUSTOMER, sender_jid=CUSTOMER, message_id="U1", text="", timestamp=WHEN
    ).Info
    await driver._on_undecryptable(
        UndecryptableMessage(
            Info=MessageInfo(**{f.name: v for f, v in info.ListFields()}),
            IsUnavailable=False,
            DecryptFailMode=UndecryptableMessage.DECRYPT_FAIL_SHOW,
        )
    )
    assert sent == []


@pytest.mark.parametrize(
    ("event", "reason", "end"),
    [
        (
            TemporaryBan(Code=TemporaryBan.SENT_TOO_MANY_SAME_MESSAGE, Expire=3600),
            "temporarily banned (sent_too_many_same_message)",
            "failure",
        ),
        (
            ConnectFailure(Reason=ConnectFailureReason.Value("SERVICE_UNAVAILABLE"), Message="503"),
            "connect failure (service_unavailable)",
            "failure",
        ),
        (StreamReplaced(), "replaced by another connection", "replaced"),
    ],
)
async def test_failures_whatsmeow_gives_up_on_end_the_run(
    harness: tuple[NeonizeDriver, list[WaEvent]],
    event: Any,
    reason: str,
    end: str,
) -> None:
    driver, sent = harness
    driver._run = driver._new_run()
    await driver._handlers[type(event)](event)
    assert shape(sent) == [("session.disconnected", SessionDisconnectedPayload(reason=reason))]
    assert driver._run.end_reason == end


async def test_history_sync_maps_web_messages_and_group_names(
    harness: tuple[NeonizeDriver, list[WaEvent]],
) -> None:
    driver, sent = harness
    driver._run = driver._new_run()
    driver._run.client.me = own_device()
    await driver._sent_ids.add(wa_id="3EB0WHATSAPP02", crm_id="3EB0CRM0000000002")
    data = HistorySyncData(
        syncType=HistorySyncData.INITIAL_BOOTSTRAP,
        conversations=[
            Conversation(
                ID=CUSTOMER,
                messages=[
                    HistorySyncMsg(message=web_message(CUSTOMER, "H1", push_name="Cliente")),
                    HistorySyncMsg(
                        message=web_message(CUSTOMER, "3EB0WHATSAPP02", from_me=True, text="Olá!")
                    ),
                    HistorySyncMsg(message=web_message(CUSTOMER, "STUB1", text=None)),
                ],
            ),
            Conversation(
                ID=GROUP,
                name="Equipe de vendas",
                messages=[
                    HistorySyncMsg(
                        message=web_message(GROUP, "G1", participant=MEMBER, text="Bom dia")
                    ),
                ],
            ),
        ],
    )
    await driver._on_history_sync(HistorySync(Data=data))
    assert [e.type for e in sent] == ["contact.update", *["message.upsert"] * 3]
    assert sent[0].payload == ContactUpdatePayload(jid=GROUP, name="Equipe de vendas")
    assert [
        (e.payload.key, e.payload.sender_jid, e.payload.text, e.payload.timestamp) for e in sent[1:]
    ] == [
        (MessageKey(chat_jid=CUSTOMER, id="H1", from_me=False), CUSTOMER, "Oi", WHEN),
        (MessageKey(chat_jid=CUSTOMER, id="3EB0CRM0000000002", from_me=True), OWN, "Olá!", WHEN),
        (
            MessageKey(chat_jid=GROUP, id="G1", from_me=False, participant=MEMBER),
            MEMBER,
            "Bom dia",
            WHEN,
        ),
    ]


# --- commands -----------------------------------------------------------------------------


async def test_quoted_reply_carries_the_quoted_message(
    harness: tuple[NeonizeDriver, list[WaEvent]],
) -> None:
    driver, _ = harness
    await driver._on_message(
        text_message_ev(
            chat_jid=CUSTOMER,
            sender_jid=CUSTOMER,
            message_id="IN1",
            text="Quanto custa?",
            timestamp=WHEN,
        )
    )
    assert await driver._outgoing(send_text(driver, quoted_id="IN1")) == Message(
        extendedTextMessage=ExtendedTextMessage(
            text="R$ 10",
            contextInfo=ContextInfo(
                stanzaID="IN1",
                participant=CUSTOMER,
                quotedMessage=Message(conversation="Quanto custa?"),
            ),
        )
    )
    # Our own send, quoted by the id the CRM chose: WhatsApp knows it by its own id.
    await driver._sent_ids.add(wa_id="3EB0WHATSAPP01", crm_id="3EB0CRM0000000009")
    driver._remember("3EB0WHATSAPP01", OWN, Message(conversation="Olá!"))
    quoted_own = await driver._outgoing(send_text(driver, quoted_id="3EB0CRM0000000009"))
    assert quoted_own.extendedTextMessage.contextInfo == ContextInfo(
        stanzaID="3EB0WHATSAPP01",
        participant=OWN,
        quotedMessage=Message(conversation="Olá!"),
    )
    assert await driver._outgoing(send_text(driver, quoted_id="UNSEEN")) == Message(
        conversation="R$ 10"
    )


async def test_commands_need_a_running_session(
    harness: tuple[NeonizeDriver, list[WaEvent]],
) -> None:
    driver, sent = harness
    with pytest.raises(Conflict, match="not running") as info:
        await driver.send_text(send_text(driver))
    assert info.value.code == "session_not_running"
    with pytest.raises(Conflict, match="not running"):
        await driver.mark_read(
            MarkRead(
                tenant_id=driver.ctx.tenant_id,
                session_id=driver.ctx.session_id,
                chat_jid=CUSTOMER,
                sender_jid=CUSTOMER,
                wa_message_ids=("IN1",),
            )
        )
    with pytest.raises(Conflict, match="not running"):
        await driver.pair_phone("+55 11 98765-4321")
    with pytest.raises(InvalidInput):
        await driver.pair_phone("not a phone")
    with pytest.raises(InvalidInput, match="malformed JID"):
        await driver.send_text(send_text(driver, chat_jid="abc:x@s.whatsapp.net"))
    assert sent == []


async def test_chat_export_replay_is_refused(
    harness: tuple[NeonizeDriver, list[WaEvent]],
) -> None:
    driver, _ = harness
    command = SimulateChatExport(
        tenant_id=driver.ctx.tenant_id,
        session_id=driver.ctx.session_id,
        text="x",
    )
    with pytest.raises(Conflict) as info:
        await driver.simulate_chat_export(command)
    assert info.value.message == "chat-export replay is for simulator sessions only"
    assert info.value.status == 409


async def test_start_returns_at_once_and_retries_without_network(tmp_path: Path) -> None:
    # A proxy on a closed local port fails every dial at once, whatever the network.
    driver, sent = make_driver(
        tmp_path / "data", proxy_address=f"socks5://127.0.0.1:{closed_port()}"
    )
    driver.retry_base_seconds = 0.01
    await driver.start()
    assert driver.connect_attempts == 0
    try:
        await eventually(lambda: driver.connect_attempts >= 3)
        # whatsmeow created the store before dialing: the state a restart resumes from.
        assert driver.session_path.is_file()
        assert driver.session_path.parent == tmp_path / "data"
    finally:
        await driver.stop()
    assert driver._supervisor is not None
    assert driver._supervisor.done()
    assert sent == []
