"""The inbox end to end: replies and their ticks, DLQ, tenant isolation, errors as JSON."""

from __future__ import annotations

import uuid
from typing import Any

from tests.conftest import Account, Product
from tests.e2e.helpers import Recorder, all_pages, ingest_caught_up
from wacrm_common.testing.plugin import wait_for

EXPORT = (
    "03/12/2026 09:00 - Juliana Prado: Oi! A bicicleta aro 29 🚲 ainda está disponível?\n"
    "03/12/2026 09:02 - Bike Center: Está sim 😊\n"
    "03/12/2026 09:04 - Juliana Prado: Tenho 1,68 m. Qual vocês indicam?\nE dá pra parcelar?\n"
)


async def replay(product: Product, account: Account, session_id: str, text: str = EXPORT) -> None:
    r = await product.http.post(
        f"/api/sessions/{session_id}/simulate/chat-export",
        params={"owner": "Bike Center", "speed": 0, "tz": "America/Sao_Paulo"},
        content=text.encode(),
        headers=account.headers | {"Content-Type": "text/plain"},
    )
    assert r.status_code == 202, r.text
    assert r.json() == {"queued": 3}


async def first_conversation(product: Product, account: Account) -> dict[str, Any]:
    async def one() -> dict[str, Any] | None:
        items = await all_pages(product, account, "/api/conversations")
        return items[0] if items and items[0]["last_message"] else None

    return await wait_for(one, what="a conversation")


async def test_reply_reaches_sim_and_ticks_go_sent_delivered_read(product: Product) -> None:
    session = await product.new_sim_session(product.alice)
    await replay(product, product.alice, session["id"])
    conv = await first_conversation(product, product.alice)
    client = Recorder()
    await client.connect(product.realtime, product.alice.token)
    try:
        body = {
            "text": "Segue o link: https://pagamento.example.com/c/8f3k2 ✅",
            "client_id": "c-1",
        }
        r = await product.http.post(
            f"/api/conversations/{conv['id']}/messages", json=body, headers=product.alice.headers
        )
        assert r.status_code == 202, r.text
        sent = r.json()
        assert (sent["status"], sent["from_me"], sent["text"], sent["client_id"]) == (
            "pending",
            True,
            body["text"],
            "c-1",
        )
        assert sent["wa_message_id"].startswith("3EB0")
        assert len(sent["wa_message_id"]) == 20

        again = await product.http.post(
            f"/api/conversations/{conv['id']}/messages", json=body, headers=product.alice.headers
        )
        assert again.status_code == 202
        assert again.json()["id"] == sent["id"]

        def statuses() -> list[str]:
            return [
                d["status"]
                for n, d in client.events
                if n in ("message.created", "message.updated") and d["id"] == sent["id"]
            ]

        await wait_for(lambda: statuses()[-1:] == ["read"], what="read tick")
        assert statuses() == ["pending", "sent", "delivered", "read"]
        messages = await all_pages(
            product, product.alice, f"/api/conversations/{conv['id']}/messages"
        )
        mine = [m for m in messages if m["id"] == sent["id"]]
        assert [(m["status"], m["text"]) for m in mine] == [("read", body["text"])]
        assert len([m for m in messages if m["client_id"] == "c-1"]) == 1
        convs = await all_pages(product, product.alice, "/api/conversations")
        assert convs[0]["last_message"] == body["text"]
    finally:
        await client.sio.disconnect()


async def test_mark_read_zeroes_unread_and_marks_inbound_read(product: Product) -> None:
    session = await product.new_sim_session(product.alice)
    await replay(product, product.alice, session["id"])
    conv = await first_conversation(product, product.alice)
    assert conv["unread_count"] == 2
    r = await product.http.post(
        f"/api/conversations/{conv['id']}/read", headers=product.alice.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["unread_count"] == 0
    messages = await all_pages(product, product.alice, f"/api/conversations/{conv['id']}/messages")
    assert sorted((m["from_me"], m["status"]) for m in messages) == [
        (False, "read"),
        (False, "read"),
        (True, "sent"),
    ]


async def test_socket_client_gets_every_replayed_message_and_resumes_without_gaps(
    product: Product, redis
) -> None:
    session = await product.new_sim_session(product.alice)
    first = Recorder()
    await first.connect(product.realtime, product.alice.token)
    await replay(product, product.alice, session["id"])
    await wait_for(lambda: len(first.named("message.created")) == 3, what="3 message.created")
    assert [d["text"] for d in first.named("message.created")] == [
        "Oi! A bicicleta aro 29 🚲 ainda está disponível?",
        "Está sim 😊",
        "Tenho 1,68 m. Qual vocês indicam?\nE dá pra parcelar?",
    ]
    last_id = first.events[-1][1]["event_id"]
    await first.sio.disconnect()

    # While the client is away, another chat arrives (4 messages, 2 of them new senders).
    more = (
        "04/12/2026 10:00 - Rafael Lima: Bom dia, vocês consertam freio a disco?\n"
        "04/12/2026 10:01 - Bike Center: Consertamos sim!\n"
        "04/12/2026 10:02 - Rafael Lima: Ótimo 👍\n"
    )
    r = await product.http.post(
        f"/api/sessions/{session['id']}/simulate/chat-export",
        params={"owner": "Bike Center", "speed": 0, "tz": "America/Sao_Paulo"},
        content=more.encode(),
        headers=product.alice.headers | {"Content-Type": "text/plain"},
    )
    assert r.status_code == 202
    await wait_for(lambda: ingest_caught_up(redis), what="ingest caught up")
    missed = [(eid.decode(), f) for eid, f in await redis.xrange("rt:events", f"({last_id}", "+")]
    assert len(missed) >= 4

    second = Recorder()
    await second.connect(product.realtime, product.alice.token, last_event_id=last_id)
    try:
        await wait_for(lambda: len(second.events) >= len(missed), what="missed events replayed")
        assert [d["event_id"] for _, d in second.events] == [eid for eid, _ in missed]
        assert [d["text"] for d in second.named("message.created")] == [
            "Bom dia, vocês consertam freio a disco?",
            "Consertamos sim!",
            "Ótimo 👍",
        ]
        # Live events keep flowing after the replay, each exactly once.
        conv = await first_conversation(product, product.alice)
        r = await product.http.post(
            f"/api/conversations/{conv['id']}/messages",
            json={"text": "oi", "client_id": "live-1"},
            headers=product.alice.headers,
        )
        assert r.status_code == 202
        await wait_for(
            lambda: any(d.get("client_id") == "live-1" for d in second.named("message.created")),
            what="live event",
        )
        ids = [d["event_id"] for _, d in second.events]
        assert len(ids) == len(set(ids))
        assert ids == sorted(ids, key=lambda i: tuple(int(p) for p in i.split("-")))
    finally:
        await second.sio.disconnect()


async def test_malformed_wa_event_goes_to_dlq_and_later_entries_are_ingested(
    product: Product, redis
) -> None:
    session = await product.new_sim_session(product.alice)
    await wait_for(lambda: ingest_caught_up(redis), what="session start ingested")
    await redis.xadd("wa:events", {"e": b'{"type": "message.upsert", "payload": 42}'})
    await redis.xadd("wa:events", {"garbage": b"1"})
    await replay(product, product.alice, session["id"])
    conv = await first_conversation(product, product.alice)
    await wait_for(lambda: ingest_caught_up(redis), what="ingest caught up")
    dead = await redis.xrange("wa:events:dlq")
    assert [f[b"e"] for _, f in dead] == [b'{"type": "message.upsert", "payload": 42}', b""]
    assert all(f[b"group"] == b"ingest" for _, f in dead)
    messages = await all_pages(product, product.alice, f"/api/conversations/{conv['id']}/messages")
    assert len(messages) == 3


async def test_second_tenant_sees_nothing_of_the_first(product: Product) -> None:
    session = await product.new_sim_session(product.alice)
    spy = Recorder()
    await spy.connect(product.realtime, product.bob.token)
    try:
        await replay(product, product.alice, session["id"])
        conv = await first_conversation(product, product.alice)
        bob = product.bob.headers
        assert (await product.http.get("/api/conversations", headers=bob)).json() == {
            "items": [],
            "next_cursor": None,
        }
        for method, path in [
            ("GET", f"/api/conversations/{conv['id']}"),
            ("GET", f"/api/conversations/{conv['id']}/messages"),
            ("POST", f"/api/conversations/{conv['id']}/read"),
            ("GET", f"/api/sessions/{session['id']}"),
            ("POST", f"/api/sessions/{session['id']}/start"),
        ]:
            r = await product.http.request(method, path, headers=bob)
            assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found"), path
        r = await product.http.post(
            f"/api/conversations/{conv['id']}/messages",
            json={"text": "x", "client_id": "b"},
            headers=bob,
        )
        assert r.status_code == 404
        assert (await product.http.get("/api/sessions", headers=bob)).json() == []
        ack = await spy.sio.call("join", {"conversation_id": conv["id"]}, timeout=10)
        assert ack["ok"] is False
        assert ack["error"]["code"] == "not_found"
        # Alice's own client sees her events; Bob's saw none of them.
        watcher = Recorder()
        await watcher.connect(product.realtime, product.alice.token)
        r = await product.http.post(
            f"/api/conversations/{conv['id']}/messages",
            json={"text": "só pra Alice", "client_id": "a"},
            headers=product.alice.headers,
        )
        assert r.status_code == 202
        await wait_for(lambda: watcher.named("message.created"), what="alice's event")
        await watcher.sio.disconnect()
        # A sentinel in Bob's own tenant, published after Alice's events: once it arrives,
        # the relay (which keeps stream order) has handled everything before it.
        bobs = await product.new_sim_session(product.bob, name="Bob")
        await wait_for(lambda: spy.named("session.updated"), what="bob's sentinel")
        assert {n for n, _ in spy.events} == {"session.updated"}
        assert {d["id"] for _, d in spy.events} == {bobs["id"]}
    finally:
        await spy.sio.disconnect()


async def test_errors_are_json_with_4xx(product: Product) -> None:
    h = product.alice.headers
    http = product.http
    cases = [
        (await http.get("/api/conversations"), 401, "unauthenticated"),
        (
            await http.get("/api/conversations", headers={"Authorization": "Bearer nope"}),
            401,
            "unauthenticated",
        ),
        (
            await http.post(
                "/api/auth/login", json={"email": product.alice.email, "password": "wrong"}
            ),
            401,
            "invalid_credentials",
        ),
        (
            await http.post(
                "/api/auth/login",
                content=b"{not json",
                headers={"Content-Type": "application/json"},
            ),
            422,
            "invalid_input",
        ),
        (await http.get(f"/api/conversations/{uuid.uuid4()}", headers=h), 404, "not_found"),
        (await http.get("/api/conversations/not-a-uuid", headers=h), 422, "invalid_input"),
        (
            await http.get("/api/conversations", params={"cursor": "%%%"}, headers=h),
            422,
            "invalid_cursor",
        ),
        (
            await http.get("/api/conversations", params={"cursor": "WzEsMiwzXQ"}, headers=h),
            422,
            "invalid_cursor",
        ),
        (
            await http.get("/api/conversations", params={"limit": 0}, headers=h),
            422,
            "invalid_input",
        ),
        (
            await http.post("/api/sessions", json={"name": "x", "driver": "baileys"}, headers=h),
            422,
            "invalid_input",
        ),
        (await http.get("/api/nowhere", headers=h), 404, "not_found"),
    ]
    for response, status, code in cases:
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), (
            response.text
        )

    r = await http.post("/api/sessions", json={"name": "parada", "driver": "sim"}, headers=h)
    stopped = r.json()["id"]
    r = await http.post(
        f"/api/sessions/{stopped}/simulate/chat-export",
        content=EXPORT.encode(),
        headers=h | {"Content-Type": "text/plain"},
    )
    assert (r.status_code, r.json()["error"]["code"]) == (409, "session_not_started")
    started = (await product.new_sim_session(product.alice))["id"]
    for params, code in [
        ({"tz": "Mars/Olympus"}, "invalid_tz"),
        ({"owner": "Ninguém"}, "unknown_owner"),
    ]:
        r = await http.post(
            f"/api/sessions/{started}/simulate/chat-export",
            params=params,
            content=EXPORT.encode(),
            headers=h | {"Content-Type": "text/plain"},
        )
        assert (r.status_code, r.json()["error"]["code"]) == (422, code)
    r = await http.post(
        f"/api/sessions/{started}/simulate/chat-export",
        content=b"no dates here",
        headers=h | {"Content-Type": "text/plain"},
    )
    assert (r.status_code, r.json()["error"]["code"]) == (422, "empty_export")
    await replay(product, product.alice, started)
    conv = await first_conversation(product, product.alice)
    for body in (
        {"text": "", "client_id": "x"},
        {"text": "hi"},
        {"text": "hi", "client_id": "x", "extra": 1},
    ):
        r = await http.post(f"/api/conversations/{conv['id']}/messages", json=body, headers=h)
        assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_input"), body


async def test_conversations_page_newest_activity_first_without_gaps(
    product: Product, redis
) -> None:
    session = await product.new_sim_session(product.alice)
    chats = {
        "Ana": "01/12/2026 10:00 - Ana: oi\n",
        "Bruno": "03/12/2026 10:00 - Bruno: olá\n",
        "Carla": "02/12/2026 10:00 - Carla: bom dia\n",
        "Davi": "02/12/2026 10:00 - Davi: boa tarde\n",  # same instant as Carla: id breaks the tie
    }
    for text in chats.values():
        r = await product.http.post(
            f"/api/sessions/{session['id']}/simulate/chat-export",
            params={"speed": 0},
            content=text.encode(),
            headers=product.alice.headers | {"Content-Type": "text/plain"},
        )
        assert r.status_code == 202

    async def four() -> list[dict[str, Any]] | None:
        items = await all_pages(product, product.alice, "/api/conversations", limit=50)
        return items if len(items) == 4 else None

    full = await wait_for(four, what="four conversations")
    paged = await all_pages(product, product.alice, "/api/conversations", limit=1)
    assert [c["id"] for c in paged] == [c["id"] for c in full]
    names = [c["contact"]["name"] for c in paged]
    assert names[0] == "Bruno"
    assert names[-1] == "Ana"
    assert sorted(names[1:3]) == ["Carla", "Davi"]
    tied = [c for c in paged if c["contact"]["name"] in ("Carla", "Davi")]
    assert [c["id"] for c in tied] == sorted((c["id"] for c in tied), reverse=True)
    assert [c["last_message_at"] for c in paged] == [
        "2026-12-03T10:00:00Z",
        "2026-12-02T10:00:00Z",
        "2026-12-02T10:00:00Z",
        "2026-12-01T10:00:00Z",
    ]


def _cursor(value: object) -> str:
    import base64

    import orjson

    return base64.urlsafe_b64encode(orjson.dumps(value)).decode().rstrip("=")


async def test_hand_made_cursors_and_nul_text_get_422_not_500(product: Product) -> None:
    """Regressions found by a newcomer: each of these used to answer 500."""
    session = await product.new_sim_session(product.alice)
    await replay(product, product.alice, session["id"])
    conv = await first_conversation(product, product.alice)
    h = product.alice.headers
    messages = f"/api/conversations/{conv['id']}/messages"
    for cursor in (
        ["2026-11-13T11:30:00+00:00", True],
        ["2026-11-13T11:30:00+00:00", 9223372036854775808],
        ["2026-11-13T11:30:00+00:00", -1],
        ["0001-01-01T00:00:00+14:00", 1],
        ["9999-12-31T23:59:59-05:00", 1],
        ["2026-11-13T11:30:00", 1],
        [12, 1],
    ):
        r = await product.http.get(messages, params={"cursor": _cursor(cursor)}, headers=h)
        assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_cursor"), cursor
    r = await product.http.get(
        "/api/conversations",
        params={"cursor": _cursor(["0001-01-01T00:00:00+14:00", conv["id"]])},
        headers=h,
    )
    assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_cursor")
    r = await product.http.post(messages, json={"text": "\u0000nul", "client_id": "nul"}, headers=h)
    assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_input")


async def test_reused_client_id_with_other_text_conflicts_and_agent_is_named(
    product: Product,
) -> None:
    session = await product.new_sim_session(product.alice)
    await replay(product, product.alice, session["id"])
    conv = await first_conversation(product, product.alice)
    path = f"/api/conversations/{conv['id']}/messages"
    r = await product.http.post(
        path, json={"text": "primeira", "client_id": "k"}, headers=product.alice.headers
    )
    assert (r.status_code, r.json()["sender"], r.json()["from_me"]) == (202, "Admin", True)
    r = await product.http.post(
        path, json={"text": "outra", "client_id": "k"}, headers=product.alice.headers
    )
    assert (r.status_code, r.json()["error"]["code"]) == (409, "idempotency_conflict")
    texts = [
        m["text"] for m in await all_pages(product, product.alice, path) if m["client_id"] == "k"
    ]
    assert texts == ["primeira"]


async def test_nul_in_an_inbound_message_is_kept_visible_not_lost(product: Product, redis) -> None:
    session = await product.new_sim_session(product.alice)
    text = "03/12/2026 09:00 - Juliana Prado: antes\u0000depois\n03/12/2026 09:01 - Juliana Prado: ok\n"
    r = await product.http.post(
        f"/api/sessions/{session['id']}/simulate/chat-export",
        params={"speed": 0},
        content=text.encode(),
        headers=product.alice.headers | {"Content-Type": "text/plain"},
    )
    assert r.status_code == 202
    await wait_for(lambda: ingest_caught_up(redis), what="ingested")
    conv = await first_conversation(product, product.alice)
    texts = [
        m["text"]
        for m in await all_pages(
            product, product.alice, f"/api/conversations/{conv['id']}/messages"
        )
    ]
    assert texts == ["ok", "antes\ufffddepois"]
    assert await redis.xlen("wa:events:dlq") == 0


async def test_breaker_findings_answer_4xx(product: Product) -> None:
    """Regressions from a break-it session: each of these used to answer 500 or 200."""
    import jwt

    h = product.alice.headers
    http = product.http
    session = await product.new_sim_session(product.alice)
    export = "/api/sessions/{}/simulate/chat-export".format(session["id"])
    plain = h | {"Content-Type": "text/plain"}
    r = await http.post(export, params={"speed": 1e-300}, content=EXPORT.encode(), headers=plain)
    assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_input")
    r = await http.post(
        export, content=b"0001-01-01 00:00 - Ana: hi\n", params={"tz": "Asia/Tokyo"}, headers=plain
    )
    assert (r.status_code, r.json()["error"]["code"]) == (422, "empty_export")
    r = await http.post(
        "/api/auth/login",
        content=b"x" * (26 * 1024 * 1024),
        headers={"Content-Type": "application/json"},
    )
    assert (r.status_code, r.json()["error"]["code"]) == (413, "payload_too_large")
    for body in (
        {"email": "admin\u0000@x.example", "password": "p"},
        {"email": "a@b.example", "password": "\u0000"},
    ):
        r = await http.post("/api/auth/login", json=body)
        assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_input")
    r = await http.post("/api/sessions", json={"name": "a\u0000b", "driver": "sim"}, headers=h)
    assert r.status_code == 422
    stopped = (
        await http.post("/api/sessions", json={"name": "parada", "driver": "sim"}, headers=h)
    ).json()
    r = await http.post(f"/api/sessions/{stopped['id']}/logout", headers=h)
    assert (r.status_code, r.json()["error"]["code"]) == (409, "session_not_running")
    # A well-signed token for a user that does not exist is refused.
    claims = {"sub": str(uuid.uuid4()), "tid": product.alice.tenant_id, "exp": 4102444800}
    forged = jwt.encode(claims, product.settings.jwt_key(), algorithm="HS256")
    r = await http.get("/api/sessions", headers={"Authorization": f"Bearer {forged}"})
    assert (r.status_code, r.json()["error"]["code"]) == (401, "unauthenticated")
    odd = jwt.encode({**claims, "tid": ["x"]}, product.settings.jwt_key(), algorithm="HS256")
    r = await http.get("/api/sessions", headers={"Authorization": f"Bearer {odd}"})
    assert r.status_code == 401
    await replay(product, product.alice, session["id"])
    conv = await first_conversation(product, product.alice)
    r = await http.post(
        f"/api/conversations/{conv['id']}/messages",
        json={"text": "  \n ", "client_id": "w"},
        headers=h,
    )
    assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_input")


async def test_overlong_author_name_is_cut_not_lost(product: Product, redis) -> None:
    session = await product.new_sim_session(product.alice)
    author = "A" * 300
    r = await product.http.post(
        f"/api/sessions/{session['id']}/simulate/chat-export",
        params={"speed": 0},
        content=f"03/12/2026 09:00 - {author}: oi\n".encode(),
        headers=product.alice.headers | {"Content-Type": "text/plain"},
    )
    assert r.status_code == 202
    conv = await first_conversation(product, product.alice)
    assert conv["contact"]["name"] == "A" * 200
    messages = await all_pages(product, product.alice, f"/api/conversations/{conv['id']}/messages")
    assert [(m["text"], m["sender"]) for m in messages] == [("oi", "A" * 200)]
    assert await redis.xlen("wa:events:dlq") == 0


async def test_dead_letters_are_listed_per_tenant_and_replayed(
    product: Product, redis, sessions
) -> None:
    from sqlalchemy import select

    from wacrm_common.events.wa import MessageKey, MessagePayload, MessageUpsert
    from wacrm_common.models import User
    from wacrm_common.streams import publish

    await product.new_sim_session(product.alice)
    await wait_for(lambda: ingest_caught_up(redis), what="start ingested")
    orphan = MessageUpsert(  # names a session that does not exist: ingest refuses it
        tenant_id=uuid.UUID(product.alice.tenant_id),
        session_id=uuid.uuid4(),
        payload=MessagePayload(
            key=MessageKey(chat_jid="5511987654321@s.whatsapp.net", id="ORPHAN1", from_me=False),
            sender_jid="5511987654321@s.whatsapp.net",
            timestamp="2026-12-03T12:00:00Z",
            kind="text",
            text="perdida",
        ),
    )
    await publish(redis, "wa:events", orphan, maxlen=1000)
    await redis.xadd("wa:events", {"e": b"not json"})

    async def two_dead() -> bool:
        return await redis.xlen("wa:events:dlq") == 2

    await wait_for(two_dead, what="two dead letters")
    r = await product.http.get("/api/dlq", headers=product.alice.headers)
    assert r.status_code == 200, r.text
    [dead] = r.json()
    assert (dead["stream"], dead["group"], dead["attempts"], dead["error"]) == (
        "wa:events",
        "ingest",
        1,
        "unknown session for this tenant",
    )
    assert dead["event"]["payload"]["text"] == "perdida"
    assert (await product.http.get("/api/dlq", headers=product.bob.headers)).json() == []
    r = await product.http.post(f"/api/dlq/{dead['id']}/replay", headers=product.bob.headers)
    assert r.status_code == 404

    r = await product.http.post(f"/api/dlq/{dead['id']}/replay", headers=product.alice.headers)
    assert r.status_code == 202
    # Still unfixable, so it comes back as a new dead letter; the old one is gone.
    await wait_for(lambda: ingest_caught_up(redis), what="replay ingested")
    ids = [
        d["id"] for d in (await product.http.get("/api/dlq", headers=product.alice.headers)).json()
    ]
    assert len(ids) == 1
    assert ids[0] != dead["id"]

    async with sessions() as s, s.begin():
        user = (await s.scalars(select(User).where(User.email == product.alice.email))).one()
        user.role = "agent"
    r = await product.http.get("/api/dlq", headers=product.alice.headers)
    assert (r.status_code, r.json()["error"]["code"]) == (403, "permission_denied")


async def test_reply_reads_the_chat_and_chunked_oversize_is_413(product: Product) -> None:
    session = await product.new_sim_session(product.alice)
    await replay(product, product.alice, session["id"])
    conv = await first_conversation(product, product.alice)
    assert conv["unread_count"] == 2
    path = f"/api/conversations/{conv['id']}/messages"
    r = await product.http.post(
        path, json={"text": "Oi Juliana!", "client_id": "r1"}, headers=product.alice.headers
    )
    assert r.status_code == 202
    convs = await all_pages(product, product.alice, "/api/conversations")
    assert convs[0]["unread_count"] == 0
    inbound = [
        m["status"] for m in await all_pages(product, product.alice, path) if not m["from_me"]
    ]
    assert inbound == ["read", "read"]

    async def chunks():
        for _ in range(27):
            yield b"x" * (1024 * 1024)

    r = await product.http.post(
        "/api/auth/login", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert (r.status_code, r.json()["error"]["code"]) == (413, "payload_too_large")
