"""`/api/dlq`: entries a consumer gave up on, for an admin to inspect and replay.

Each tenant sees the entries whose event names it (`tenant_id`); an entry too broken to
name a tenant is no tenant's to see (operators read those with redis-cli).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query, status
from pydantic import BaseModel
from sqlalchemy import select

from wacrm_common.auth import Principal
from wacrm_common.errors import NotFound, PermissionDenied
from wacrm_common.models import User
from wacrm_gateway.deps import PrincipalDep, RedisDep, SessionDep

router = APIRouter(prefix="/api/dlq", tags=["dlq"])

Stream = Literal["wa:events"]
SCAN = 1000  # newest DLQ entries looked at per request


class DeadEntry(BaseModel):
    id: str
    stream: str
    entry_id: str
    group: str
    attempts: int
    error: str
    event: dict[str, Any]


class Replayed(BaseModel):
    id: str


async def _admin(session: SessionDep, principal: Principal) -> None:
    role = await session.scalar(select(User.role).where(User.id == principal.user_id))
    if role != "admin":
        raise PermissionDenied("only admins handle dead letters")


def _decode(entry_id: Any, fields: dict[bytes, bytes], stream: str) -> DeadEntry | None:
    try:
        event = orjson.loads(fields.get(b"e", b""))
    except orjson.JSONDecodeError:
        return None
    if not isinstance(event, dict):
        return None
    return DeadEntry(
        id=entry_id.decode(),
        stream=stream,
        entry_id=fields.get(b"entry_id", b"").decode(),
        group=fields.get(b"group", b"").decode(),
        attempts=int(fields.get(b"attempts", b"0") or 0),
        error=fields.get(b"error", b"").decode(errors="replace"),
        event=event,
    )


async def _tenant_entries(redis: RedisDep, stream: str, principal: Principal) -> list[DeadEntry]:
    raw: Any = await redis.xrevrange(f"{stream}:dlq", count=SCAN)  # loosely typed reply
    tenant = str(principal.tenant_id)
    entries = (_decode(i, f, stream) for i, f in raw)
    return [e for e in entries if e is not None and e.event.get("tenant_id") == tenant]


@router.get("")
async def list_dead(
    session: SessionDep,
    principal: PrincipalDep,
    redis: RedisDep,
    stream: Stream = "wa:events",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[DeadEntry]:
    """Newest first."""
    await _admin(session, principal)
    return (await _tenant_entries(redis, stream, principal))[:limit]


@router.post("/{dead_id}/replay", status_code=status.HTTP_202_ACCEPTED)
async def replay_dead(
    dead_id: str,
    session: SessionDep,
    principal: PrincipalDep,
    redis: RedisDep,
    stream: Stream = "wa:events",
) -> Replayed:
    """Put the entry back on its stream (after fixing what made it fail) and drop it here."""
    await _admin(session, principal)
    entry = next(
        (e for e in await _tenant_entries(redis, stream, principal) if e.id == dead_id), None
    )
    if entry is None:
        raise NotFound("no such dead letter")
    async with redis.pipeline(transaction=True) as pipe:
        pipe.xadd(stream, {"e": orjson.dumps(entry.event)})
        pipe.xdel(f"{stream}:dlq", dead_id)
        new_id, _ = await pipe.execute()
    return Replayed(id=new_id.decode())
