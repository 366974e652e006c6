"""The Redis contract between gateway and connectors about which sessions should run.

`wa:sessions:desired` is the set of session ids that should be connected; the hash
`wa:session:{id}` says whose it is, with which driver, and its start generation `gen`:
every start bumps it, and a connector running an older generation restarts the session
(a start right after a stop, or after a logout, always gets a fresh run). Connectors
compete for a lease `wa:lease:{id}` (SET NX PX, renewed) so exactly one replica owns a
session at a time.
"""

from __future__ import annotations

import uuid

from redis.asyncio import Redis

from wacrm_common.events.commands import Command, command_stream
from wacrm_common.streams import encode

DESIRED = "wa:sessions:desired"
CMD_MAXLEN = 100_000
GENERATION = "gen"


def session_key(session_id: uuid.UUID | str) -> str:
    return f"wa:session:{session_id}"


def lease_key(session_id: uuid.UUID | str) -> str:
    return f"wa:lease:{session_id}"


async def desire_session(
    redis: Redis, *, session_id: uuid.UUID, tenant_id: uuid.UUID, driver: str
) -> None:
    """Ask the connectors to run this session afresh."""
    key = session_key(session_id)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hset(key, mapping={"tenant_id": str(tenant_id), "driver": driver})
        pipe.hincrby(key, GENERATION, 1)
        pipe.sadd(DESIRED, str(session_id))
        await pipe.execute()


async def current_generation(redis: Redis, *, session_id: uuid.UUID) -> int:
    value = await redis.hget(session_key(session_id), GENERATION)
    return int(value or 0)


async def forget_session(redis: Redis, *, session_id: uuid.UUID) -> None:
    await redis.srem(DESIRED, str(session_id))


async def send_command(redis: Redis, command: Command) -> str:
    entry_id = await redis.xadd(
        command_stream(command.session_id),
        encode(command),  # type: ignore[arg-type]
        maxlen=CMD_MAXLEN,
        approximate=True,
    )
    return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
