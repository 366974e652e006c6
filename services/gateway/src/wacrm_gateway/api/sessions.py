"""`/api/sessions`: WhatsApp sessions (create, start, stop, logout, status, simulator input)."""

from __future__ import annotations

import uuid
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import segno
from fastapi import APIRouter, Body, Query, status
from sqlalchemy import select

from wacrm_common import outbox
from wacrm_common.auth import Principal
from wacrm_common.chat_export import parse_chat_export
from wacrm_common.errors import Conflict, InvalidInput, NotFound
from wacrm_common.events import rt
from wacrm_common.events.commands import (
    LogoutSession,
    PairPhone,
    SimulateChatExport,
)
from wacrm_common.jid import jid_from_phone
from wacrm_common.models import WaSession
from wacrm_common.sessions import (
    current_generation,
    desire_session,
    forget_session,
    send_command,
)
from wacrm_gateway.deps import PrincipalDep, RedisDep, SessionDep, SessionsDep, SettingsDep
from wacrm_gateway.schemas import PairCodeIn, QrOut, QueuedOut, SessionIn
from wacrm_gateway.service import stage

router = APIRouter(prefix="/api/sessions", tags=["sessions"])

MAX_EXPORT_BYTES = 20 * 1024 * 1024
MIN_SPEED = 0.001


def session_view(ws: WaSession) -> rt.SessionView:
    return rt.SessionView.model_validate(ws)


async def _get(session: SessionDep, principal: Principal, session_id: uuid.UUID) -> WaSession:
    ws = await session.scalar(
        select(WaSession).where(
            WaSession.id == session_id, WaSession.tenant_id == principal.tenant_id
        )
    )
    if ws is None:
        raise NotFound("session not found")
    return ws


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_session(
    body: SessionIn, session: SessionDep, principal: PrincipalDep
) -> rt.SessionView:
    async with session.begin():
        ws = WaSession(
            tenant_id=principal.tenant_id, name=body.name, driver=body.driver, status="stopped"
        )
        session.add(ws)
    return session_view(ws)


@router.get("")
async def list_sessions(session: SessionDep, principal: PrincipalDep) -> list[rt.SessionView]:
    rows = await session.scalars(
        select(WaSession)
        .where(WaSession.tenant_id == principal.tenant_id)
        .order_by(WaSession.created_at)
    )
    return [session_view(ws) for ws in rows]


@router.get("/{session_id}")
async def get_session(
    session_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> rt.SessionView:
    return session_view(await _get(session, principal, session_id))


@router.post("/{session_id}/start")
async def start_session(
    session_id: uuid.UUID,
    session: SessionDep,
    principal: PrincipalDep,
    redis: RedisDep,
    settings: SettingsDep,
    sessions: SessionsDep,
) -> rt.SessionView:
    async with session.begin():
        ws = await _get(session, principal, session_id)
        if ws.status in ("stopped", "logged_out", "disconnected"):
            ws.status = "starting"
        view = session_view(ws)
        staged = await stage(session, settings, [rt.session_event(ws.tenant_id, view)])
    await desire_session(redis, session_id=ws.id, tenant_id=ws.tenant_id, driver=ws.driver)
    await outbox.publish(redis, sessions, staged)
    return view


@router.post("/{session_id}/stop")
async def stop_session(
    session_id: uuid.UUID,
    session: SessionDep,
    principal: PrincipalDep,
    redis: RedisDep,
    settings: SettingsDep,
    sessions: SessionsDep,
) -> rt.SessionView:
    async with session.begin():
        ws = await _get(session, principal, session_id)
        ws.status, ws.qr = "stopped", None
        view = session_view(ws)
        staged = await stage(session, settings, [rt.session_event(ws.tenant_id, view)])
    # Its connector notices within a second and stops the driver (no command: a queued
    # stop could outlive a quick restart and stop the new run).
    await forget_session(redis, session_id=ws.id)
    await outbox.publish(redis, sessions, staged)
    return view


@router.get("/{session_id}/qr")
async def get_qr(session_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> QrOut:
    """The code to scan in WhatsApp > Linked devices, as text and as an SVG image."""
    ws = await _get(session, principal, session_id)
    if ws.status != "qr" or not ws.qr:
        raise Conflict(f"no QR code to scan (session is {ws.status})", code="no_qr")
    svg = segno.make_qr(ws.qr, error="l").svg_inline(scale=6, border=2)
    return QrOut(code=ws.qr, svg=svg)


@router.post("/{session_id}/pair-code", status_code=status.HTTP_202_ACCEPTED)
async def request_pair_code(
    session_id: uuid.UUID,
    body: PairCodeIn,
    session: SessionDep,
    principal: PrincipalDep,
    redis: RedisDep,
) -> rt.SessionView:
    """Log in by typing a code on the phone; the code arrives as `session.updated`."""
    ws = await _get(session, principal, session_id)
    jid_from_phone(body.phone)  # 422 before anything is queued
    if ws.status in ("stopped", "logged_out"):
        raise Conflict("start the session first", code="session_not_started")
    generation = await current_generation(redis, session_id=ws.id)
    await send_command(
        redis,
        PairPhone(
            tenant_id=ws.tenant_id, session_id=ws.id, phone=body.phone, generation=generation
        ),
    )
    return session_view(ws)


@router.post("/{session_id}/logout")
async def logout_session(
    session_id: uuid.UUID, session: SessionDep, principal: PrincipalDep, redis: RedisDep
) -> rt.SessionView:
    ws = await _get(session, principal, session_id)
    if ws.status in ("stopped", "logged_out"):
        raise Conflict(f"session is {ws.status}: nothing to log out", code="session_not_running")
    generation = await current_generation(redis, session_id=ws.id)
    await send_command(
        redis, LogoutSession(tenant_id=ws.tenant_id, session_id=ws.id, generation=generation)
    )
    return session_view(ws)


@router.post("/{session_id}/simulate/chat-export", status_code=status.HTTP_202_ACCEPTED)
async def simulate_chat_export(
    session_id: uuid.UUID,
    session: SessionDep,
    principal: PrincipalDep,
    redis: RedisDep,
    body: Annotated[str, Body(media_type="text/plain", max_length=MAX_EXPORT_BYTES)],
    owner: Annotated[str | None, Query(max_length=200)] = None,
    speed: Annotated[float, Query(ge=0, le=10_000)] = 0.0,
    tz: Annotated[str, Query(max_length=64)] = "UTC",
) -> QueuedOut:
    """Simulator only: replay a WhatsApp chat export (.txt) as inbound traffic."""
    ws = await _get(session, principal, session_id)
    if ws.driver != "sim":
        raise Conflict("chat-export replay is for simulator sessions only", code="not_simulator")
    if ws.status in ("stopped", "logged_out"):
        raise Conflict("start the session first", code="session_not_started")
    if 0 < speed < MIN_SPEED:
        raise InvalidInput(f"speed must be 0 (all at once) or at least {MIN_SPEED}")
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"unknown time zone {tz!r}", code="invalid_tz") from exc
    messages = parse_chat_export(body, tz=zone)
    if not messages:
        raise InvalidInput("no messages found in this chat export", code="empty_export")
    if owner is not None and owner not in {m.author for m in messages}:
        raise InvalidInput(f"owner {owner!r} is not an author in this export", code="unknown_owner")
    await send_command(
        redis,
        SimulateChatExport(
            tenant_id=ws.tenant_id,
            session_id=ws.id,
            text=body,
            owner=owner,
            speed=speed,
            tz=tz,
        ),
    )
    return QueuedOut(queued=len(messages))
