"""The SIMULATOR driver: its events go through the neonize mapping; commands run once."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from wacrm_common.events.commands import SendText, SimulateChatExport
from wacrm_common.events.wa import (
    ContactUpdate,
    MessageStatus,
    MessageUpsert,
    SessionConnected,
    WaEvent,
)
from wacrm_common.settings import Settings
from wacrm_common.testing.plugin import wait_for
from wacrm_connector.drivers.base import SessionContext
from wacrm_connector.drivers.sim import SimDriver, author_jid, export_message_ids
from wacrm_connector.manager import execute

GROUP_EXPORT = (
    "01/12/2026 18:03 - Ana Lima: Pessoal, vamos fechar os pedidos 🎄\n"
    "01/12/2026 18:05 - +55 11 98123-4567: Quero 2 cestas tipo B\n"
    "01/12/2026 18:06 - Loja: Anotado!\n"
)


def make(settings: Settings) -> tuple[SimDriver, list[WaEvent]]:
    events: list[WaEvent] = []

    async def emit(batch: Sequence[WaEvent]) -> None:
        events.extend(batch)

    ctx = SessionContext(
        tenant_id=uuid.uuid4(), session_id=uuid.uuid4(), settings=settings, emit=emit
    )
    return SimDriver(ctx), events


async def test_sim_start_announces_a_simulated_connection(settings) -> None:
    driver, events = make(settings)
    await driver.start()
    assert len(events) == 1
    assert isinstance(events[0], SessionConnected)
    assert events[0].payload.jid == driver.own_jid
    assert events[0].payload.push_name == "wacrm simulator"


async def test_sim_send_is_answered_sent_delivered_read_and_runs_once(settings, redis) -> None:
    driver, events = make(settings)
    ctx = driver.ctx
    cmd = SendText(
        tenant_id=ctx.tenant_id,
        session_id=ctx.session_id,
        message_id=uuid.uuid4(),
        wa_message_id="3EB0AAAABBBBCCCCDDDD",
        chat_jid="192234817380569@lid",
        text="Olá!",
    )
    await execute(driver, cmd, ctx, redis=redis)
    await execute(driver, cmd, ctx, redis=redis)  # a redelivered command
    await wait_for(lambda: len(events) >= 3, what="three receipts")
    await driver.stop()
    statuses = [e for e in events if isinstance(e, MessageStatus)]
    assert [s.payload.status for s in statuses] == ["sent", "delivered", "read"]
    assert {s.payload.message_ids for s in statuses} == {("3EB0AAAABBBBCCCCDDDD",)}
    assert {s.payload.chat_jid for s in statuses} == {"192234817380569@lid"}


async def test_sim_replays_a_group_export_through_the_mapping(settings) -> None:
    driver, events = make(settings)
    cmd = SimulateChatExport(
        tenant_id=driver.ctx.tenant_id,
        session_id=driver.ctx.session_id,
        text=GROUP_EXPORT,
        owner="Loja",
        speed=0,
        tz="America/Sao_Paulo",
    )
    assert await driver.simulate_chat_export(cmd) == 3
    await wait_for(lambda: len(events) == 4, what="contact update + 3 messages")
    update, *messages = events
    assert isinstance(update, ContactUpdate)
    chat = update.payload.jid
    assert chat.endswith("@g.us")
    assert update.payload.name == "Simulated group: Ana Lima, +55 11 98123-4567"
    assert all(isinstance(m, MessageUpsert) for m in messages)
    rows = [
        (
            m.payload.key.chat_jid,
            m.payload.key.from_me,
            m.payload.sender_jid,
            m.payload.push_name,
            m.payload.text,
            m.payload.timestamp.isoformat(),
            m.payload.is_group,
        )
        for m in messages
        if isinstance(m, MessageUpsert)
    ]
    assert rows == [
        (
            chat,
            False,
            author_jid("Ana Lima"),
            "Ana Lima",
            "Pessoal, vamos fechar os pedidos 🎄",
            "2026-12-01T21:03:00+00:00",
            True,
        ),
        (
            chat,
            False,
            "5511981234567@s.whatsapp.net",
            "+55 11 98123-4567",
            "Quero 2 cestas tipo B",
            "2026-12-01T21:05:00+00:00",
            True,
        ),
        (chat, True, driver.own_jid, "Loja", "Anotado!", "2026-12-01T21:06:00+00:00", True),
    ]
    assert author_jid("Ana Lima").endswith("@lid")
    assert all(m.payload.key.id.startswith("SIM") for m in messages if isinstance(m, MessageUpsert))


def test_export_message_ids_are_stable_and_content_derived() -> None:
    from wacrm_common.chat_export import parse_chat_export

    first = parse_chat_export(GROUP_EXPORT)
    ids = export_message_ids("1@g.us", first)
    assert ids == export_message_ids("1@g.us", parse_chat_export(GROUP_EXPORT))
    assert len(set(ids)) == 3
    assert all(len(i) == 20 and i.startswith("SIM") for i in ids)
    assert export_message_ids("2@g.us", first)[0] != ids[0]
    # A later export of the same chat starts elsewhere: the shared messages keep their ids.
    shifted = parse_chat_export("01/12/2026 18:00 - Ana Lima: primeira\n" + GROUP_EXPORT)
    assert export_message_ids("1@g.us", shifted)[1:] == ids
    # Two identical lines (same author, minute and text) are two messages.
    twice = parse_chat_export("01/12/2026 18:03 - Ana: oi\n01/12/2026 18:03 - Ana: oi\n")
    assert len(set(export_message_ids("1@g.us", twice))) == 2


async def test_sim_replay_at_a_speed_keeps_order_and_paces_messages(settings) -> None:
    driver, events = make(settings)
    cmd = SimulateChatExport(
        tenant_id=driver.ctx.tenant_id,
        session_id=driver.ctx.session_id,
        text=GROUP_EXPORT,
        owner="Loja",
        speed=12_000,
        tz="UTC",  # 2 and 1 minute gaps become 10 ms and 5 ms
    )
    await driver.simulate_chat_export(cmd)
    await wait_for(lambda: len(events) == 4, what="paced replay")
    texts = [e.payload.text for e in events if isinstance(e, MessageUpsert)]
    assert texts == ["Pessoal, vamos fechar os pedidos 🎄", "Quero 2 cestas tipo B", "Anotado!"]
