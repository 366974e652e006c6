"""Session lifecycle through REST: start, pair code, QR, logout and restart, stop."""

from __future__ import annotations

import uuid

from tests.conftest import Product
from tests.e2e.helpers import Recorder
from wacrm_common.events.wa import SessionQr, SessionQrPayload
from wacrm_common.streams import publish
from wacrm_common.testing.plugin import wait_for


async def status_of(product: Product, session_id: str) -> str:
    r = await product.http.get(f"/api/sessions/{session_id}", headers=product.alice.headers)
    assert r.status_code == 200, r.text
    return r.json()["status"]


async def wait_status(product: Product, session_id: str, expected: str) -> None:
    async def reached() -> bool:
        return await status_of(product, session_id) == expected

    await wait_for(reached, what=f"session {expected}")


async def test_sim_session_lifecycle_with_pair_code_logout_and_restart(product: Product) -> None:
    h = product.alice.headers
    r = await product.http.post(
        "/api/sessions", json={"name": "Vendas", "driver": "sim"}, headers=h
    )
    created = r.json()
    assert (r.status_code, created["status"], created["simulator"], created["jid"]) == (
        201,
        "stopped",
        True,
        None,
    )
    sid = created["id"]
    watcher = Recorder()
    await watcher.connect(product.realtime, product.alice.token)
    try:
        r = await product.http.post(f"/api/sessions/{sid}/start", headers=h)
        assert (r.status_code, r.json()["status"]) == (200, "starting")
        await wait_status(product, sid, "connected")
        session = (await product.http.get(f"/api/sessions/{sid}", headers=h)).json()
        assert session["jid"].endswith("@s.whatsapp.net")
        assert session["jid"].startswith("5500")

        r = await product.http.get(f"/api/sessions/{sid}/qr", headers=h)
        assert (r.status_code, r.json()["error"]["code"]) == (409, "no_qr")
        r = await product.http.post(
            f"/api/sessions/{sid}/pair-code", json={"phone": "12"}, headers=h
        )
        assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_input")
        r = await product.http.post(
            f"/api/sessions/{sid}/pair-code", json={"phone": "+999 1234 5678"}, headers=h
        )
        assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_phone")
        r = await product.http.post(
            f"/api/sessions/{sid}/pair-code", json={"phone": "+55 11 98765-4321"}, headers=h
        )
        assert r.status_code == 202, r.text
        await wait_for(
            lambda: any(d["status"] == "pair_code" for d in watcher.named("session.updated")),
            what="pair code event",
        )
        pair = next(d for d in watcher.named("session.updated") if d["status"] == "pair_code")
        assert pair["qr"] == "SIMU-LATE"
        await wait_status(product, sid, "connected")

        r = await product.http.post(f"/api/sessions/{sid}/logout", headers=h)
        assert r.status_code == 200
        await wait_status(product, sid, "logged_out")
        r = await product.http.post(f"/api/sessions/{sid}/start", headers=h)
        assert r.json()["status"] == "starting"
        await wait_status(product, sid, "connected")  # restarted by its owner

        r = await product.http.post(f"/api/sessions/{sid}/stop", headers=h)
        assert (r.status_code, r.json()["status"]) == (200, "stopped")
        r = await product.http.post(f"/api/sessions/{sid}/start", headers=h)
        await wait_status(product, sid, "connected")
        listed = (await product.http.get("/api/sessions", headers=h)).json()
        assert [(s["id"], s["status"]) for s in listed] == [(sid, "connected")]
    finally:
        await watcher.sio.disconnect()


async def test_qr_code_reported_by_the_driver_is_served_as_svg(product: Product, redis) -> None:
    h = product.alice.headers
    r = await product.http.post(
        "/api/sessions", json={"name": "Loja", "driver": "neonize"}, headers=h
    )
    session = r.json()
    assert session["simulator"] is False
    code = "2@Kq0sS3xq1vVwq9ZyP5Lg8w==,pC8x3fJ1m0AqfW7b2K6w8mX9jv4=,ZXhhbXBsZQ=="
    event = SessionQr(
        tenant_id=uuid.UUID(product.alice.tenant_id),
        session_id=uuid.UUID(session["id"]),
        payload=SessionQrPayload(code=code),
    )
    await publish(redis, "wa:events", event, maxlen=1000)
    await wait_status(product, session["id"], "qr")
    r = await product.http.get(f"/api/sessions/{session['id']}/qr", headers=h)
    assert r.status_code == 200
    body = r.json()
    assert body["code"] == code
    assert body["svg"].startswith("<svg")
    assert body["svg"].rstrip().endswith("</svg>")
    r = await product.http.get(f"/api/sessions/{session['id']}/qr", headers=product.bob.headers)
    assert r.status_code == 404


async def test_chat_export_replay_is_refused_for_real_whatsapp_sessions(product: Product) -> None:
    h = product.alice.headers
    session = (
        await product.http.post(
            "/api/sessions", json={"name": "Real", "driver": "neonize"}, headers=h
        )
    ).json()
    r = await product.http.post(
        f"/api/sessions/{session['id']}/simulate/chat-export",
        content=b"03/12/2026 09:00 - Ana: oi\n",
        headers=h | {"Content-Type": "text/plain"},
    )
    assert (r.status_code, r.json()["error"]["code"]) == (409, "not_simulator")
