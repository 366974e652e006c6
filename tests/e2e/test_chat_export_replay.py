"""Replay every corpus chat export through the sim driver and check what the inbox shows."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import Product, corpus_dir
from tests.e2e.helpers import Recorder, all_pages, ingest_caught_up
from wacrm_common.chat_export import parse_chat_export
from wacrm_common.jid import phone_from_jid
from wacrm_common.testing.plugin import wait_for
from wacrm_connector.drivers.sim import author_jid, export_message_ids

EXPORTS = sorted(
    p.name
    for p in (Path(__file__).resolve().parents[2].parent / "shared/corpus/chat_export").glob(
        "*.txt"
    )
)
# The business side of the two pt-BR support chats; the other files are replayed all inbound.
OWNERS = {"ptBR_android_atendimento.txt": "Loja Casa Viva", "ptBR_ios_oficina.txt": "Oficina do Zé"}
ZONES = {
    "ptBR_android_atendimento.txt": "America/Sao_Paulo",
    "ptBR_ios_oficina.txt": "America/Sao_Paulo",
}


async def replay(
    product: Product, session_id: str, text: str, *, owner: str | None, tz: str
) -> int:
    params = {"speed": 0, "tz": tz} | ({"owner": owner} if owner else {})
    r = await product.http.post(
        f"/api/sessions/{session_id}/simulate/chat-export",
        params=params,
        content=text.encode(),
        headers=product.alice.headers | {"Content-Type": "text/plain; charset=utf-8"},
    )
    assert r.status_code == 202, r.text
    return r.json()["queued"]


@pytest.mark.skipif(
    not EXPORTS,
    reason="../shared/corpus/chat_export not found: corpus tests need the shared folder",
)
@pytest.mark.parametrize("name", EXPORTS)
async def test_replay_chat_export_stores_every_message_once(
    product: Product, redis, name: str
) -> None:
    text = (corpus_dir("chat_export") / name).read_text(encoding="utf-8")
    owner, tz = OWNERS.get(name), ZONES.get(name, "UTC")
    expected = parse_chat_export(text, tz=ZoneInfo(tz))
    session = await product.new_sim_session(product.alice)
    await wait_for(lambda: ingest_caught_up(redis), what="session start")
    client = Recorder()
    await client.connect(product.realtime, product.alice.token)
    try:
        await _replay_and_check(product, redis, client, session, text, name, owner, tz, expected)
    finally:
        await client.sio.disconnect()


async def _replay_and_check(
    product, redis, client, session, text, name, owner, tz, expected
) -> None:
    assert await replay(product, session["id"], text, owner=owner, tz=tz) == len(expected)
    conversations = await wait_for(
        lambda: _conversations_with(product, len(expected)),
        what=f"{len(expected)} messages of {name}",
    )
    assert len(conversations) == 1
    conv = conversations[0]
    others = list(dict.fromkeys(m.author for m in expected if m.author != owner))
    chat = conv["chat_jid"]
    if len(others) == 1:
        assert chat == author_jid(others[0])
        assert conv["contact"]["name"] == others[0]
        assert conv["contact"]["phone"] == phone_from_jid(chat)
        assert conv["is_group"] is False
    else:
        assert conv["is_group"] is True
        assert conv["contact"]["phone"] is None
        assert conv["contact"]["name"].startswith("Simulated group: ")
    assert conv["unread_count"] == sum(1 for m in expected if m.author != owner)

    messages = await all_pages(
        product, product.alice, f"/api/conversations/{conv['id']}/messages", limit=7
    )
    got = sorted(
        (m["sender"], m["text"], m["timestamp"], m["from_me"], m["kind"]) for m in messages
    )
    want = sorted(
        (
            m.author,
            m.text,
            m.timestamp.isoformat().replace("+00:00", "Z"),
            m.author == owner,
            "text",
        )
        for m in expected
    )
    assert got == want
    assert sorted(m["wa_message_id"] for m in messages) == sorted(
        export_message_ids(chat, expected)
    )
    # The Socket.IO client saw each message created exactly once.
    await wait_for(
        lambda: len(client.named("message.created")) >= len(expected), what="socket events"
    )
    assert sorted(d["text"] for d in client.named("message.created")) == sorted(
        m.text for m in expected
    )
    newest = max(expected, key=lambda m: m.timestamp)
    assert conv["last_message_at"] == newest.timestamp.isoformat().replace("+00:00", "Z")

    # The same file again (a redelivery of the whole replay) adds nothing.
    before = await redis.xlen("wa:events")
    assert await replay(product, session["id"], text, owner=owner, tz=tz) == len(expected)
    await wait_for(
        lambda: _stream_grew(redis, before + len(expected)), what="second replay published"
    )
    await wait_for(lambda: ingest_caught_up(redis), what="second replay ingested")
    again = await all_pages(
        product, product.alice, f"/api/conversations/{conv['id']}/messages", limit=50
    )
    assert len(again) == len(expected)
    after = await _conversations_with(product, len(expected))
    assert after[0]["unread_count"] == conv["unread_count"]
    # A sentinel after the redelivery: once it arrives, nothing more can be in flight.
    r = await product.http.post(
        f"/api/conversations/{conv['id']}/read", headers=product.alice.headers
    )
    assert r.status_code == 200
    await wait_for(
        lambda: any(d["unread_count"] == 0 for d in client.named("conversation.updated")),
        what="sentinel",
    )
    assert len(client.named("message.created")) == len(expected)


async def _conversations_with(product: Product, count: int) -> list[dict] | None:
    convs = await all_pages(product, product.alice, "/api/conversations")
    if not convs:
        return None
    total = 0
    for c in convs:
        r = await product.http.get(
            f"/api/conversations/{c['id']}/messages",
            params={"limit": 200},
            headers=product.alice.headers,
        )
        total += len(r.json()["items"])
    return convs if total >= count else None


async def _stream_grew(redis, length: int) -> bool:
    return await redis.xlen("wa:events") >= length
