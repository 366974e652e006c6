"""The Socket.IO default namespace: authenticated connect, tenant-checked conversation rooms."""

from __future__ import annotations

import uuid
from typing import Any

import socketio
from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wacrm_common.auth import Principal, decode_token
from wacrm_common.errors import Unauthenticated
from wacrm_common.events.rt import conversation_room
from wacrm_common.logging import get_logger
from wacrm_common.models import Conversation
from wacrm_realtime.metrics import CONNECTED
from wacrm_realtime.relay import Relay
from wacrm_realtime.replay import go_live

log = get_logger(__name__)

Ack = dict[str, Any]


class RoomRequest(BaseModel):
    """Payload of `join` / `leave`."""

    model_config = ConfigDict(frozen=True)

    conversation_id: uuid.UUID


def failure(code: str, message: str) -> Ack:
    return {"ok": False, "error": {"code": code, "message": message}}


def credentials(auth: object) -> tuple[str | None, object]:
    """The token (None unless a non-empty string) and last_event_id from the connect auth."""
    if not isinstance(auth, dict):
        return None, None
    token = auth.get("token")
    return (token if isinstance(token, str) and token else None), auth.get("last_event_id")


class HubNamespace(socketio.AsyncNamespace):  # type: ignore[misc]  # socketio ships no types
    """Handlers of the default namespace; the caller's Principal lives in the socket session."""

    def __init__(
        self,
        *,
        relay: Relay,
        sessions: async_sessionmaker[AsyncSession],
        jwt_secret: str,
        namespace: str = "/",
    ) -> None:
        super().__init__(namespace)
        self.relay = relay
        self.sessions = sessions
        self.jwt_secret = jwt_secret

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: object = None) -> None:
        token, last_event_id = credentials(auth)
        if token is None:
            raise socketio.exceptions.ConnectionRefusedError(
                "missing token", {"code": "unauthenticated"}
            )
        try:
            principal = decode_token(token, secret=self.jwt_secret)
        except Unauthenticated as exc:
            raise socketio.exceptions.ConnectionRefusedError(
                exc.message, {"code": exc.code}
            ) from None
        await self.save_session(sid, {"principal": principal})
        await go_live(
            self.relay, sid=sid, tenant_id=principal.tenant_id, last_event_id=last_event_id
        )
        CONNECTED.inc()
        log.info(
            "client_connected",
            sid=sid,
            tenant_id=str(principal.tenant_id),
            user_id=str(principal.user_id),
            resumed=last_event_id is not None,
        )

    async def on_disconnect(self, sid: str, reason: str) -> None:
        CONNECTED.dec()
        log.info("client_disconnected", sid=sid, reason=reason)

    async def on_join(self, sid: str, *args: object) -> Ack:
        return await self._room_request(sid, args, join=True)

    async def on_leave(self, sid: str, *args: object) -> Ack:
        return await self._room_request(sid, args, join=False)

    async def _room_request(self, sid: str, args: tuple[object, ...], *, join: bool) -> Ack:
        if len(args) != 1:
            return failure("invalid_input", 'expected one argument: {"conversation_id": "<uuid>"}')
        try:
            request = RoomRequest.model_validate(args[0])
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            where = ".".join(str(part) for part in error["loc"]) or "payload"
            return failure("invalid_input", f"{where}: {error['msg']}")
        principal = await self._principal(sid)
        try:
            owned = await self._owns_conversation(principal, request.conversation_id)
        except (SQLAlchemyError, OSError) as exc:
            log.warning("room_check_failed", sid=sid, error=repr(exc))
            return failure("unavailable", "could not check the conversation; try again")
        if not owned:
            return failure("not_found", "conversation not found")
        room = conversation_room(request.conversation_id)
        if join:
            await self.enter_room(sid, room)
        else:
            await self.leave_room(sid, room)
        log.info("room_joined" if join else "room_left", sid=sid, room=room)
        return {"ok": True}

    async def _principal(self, sid: str) -> Principal:
        session = await self.get_session(sid)
        principal: Principal = session["principal"]
        return principal

    async def _owns_conversation(self, principal: Principal, conversation_id: uuid.UUID) -> bool:
        async with self.sessions() as session:
            found = await session.scalar(
                select(Conversation.id).where(
                    Conversation.id == conversation_id,
                    Conversation.tenant_id == principal.tenant_id,
                )
            )
        return found is not None
