"""Session ownership across connector replicas: one owner at a time, takeover on death."""

from __future__ import annotations

import asyncio
import uuid

from wacrm_common.events.wa import STREAM
from wacrm_common.sessions import desire_session, forget_session, lease_key
from wacrm_common.testing.plugin import wait_for
from wacrm_connector.drivers.registry import make_driver
from wacrm_connector.manager import SessionManager


async def connected_events(redis) -> int:
    return sum(1 for _, f in await redis.xrange(STREAM) if b'"session.connected"' in f[b"e"])


async def test_manager_one_owner_then_takeover_when_the_owner_dies(settings, redis) -> None:
    settings = settings.model_copy(update={"lease_ms": 600})
    managers = {
        name: SessionManager(settings, redis=redis, driver_factory=make_driver, instance=name)
        for name in ("replica-a", "replica-b")
    }
    stops = {name: asyncio.Event() for name in managers}
    tasks = {name: asyncio.create_task(m.run(stops[name])) for name, m in managers.items()}
    session_id = uuid.uuid4()
    try:
        await desire_session(redis, session_id=session_id, tenant_id=uuid.uuid4(), driver="sim")
        owner = (await wait_for(lambda: redis.get(lease_key(session_id)), what="an owner")).decode()
        other = next(n for n in managers if n != owner)
        assert [str(session_id) in m.runners for m in managers.values()].count(True) == 1
        await wait_for(lambda: connected_events(redis), what="connected")

        # The owner dies without releasing anything: its lease must expire, then move.
        dead = [tasks[owner], *(r._task for r in managers[owner].runners.values() if r._task)]
        for task in dead:
            task.cancel()
        await asyncio.gather(*dead, return_exceptions=True)

        async def moved() -> bool:
            return await redis.get(lease_key(session_id)) == other.encode()

        await wait_for(moved, what="takeover")
        await wait_for(
            lambda: str(session_id) in managers[other].runners, what="runner on the survivor"
        )
        await wait_for(lambda: _at_least(redis, 2), what="second connected")

        await forget_session(redis, session_id=session_id)

        async def released() -> bool:
            return await redis.get(lease_key(session_id)) is None

        await wait_for(released, what="lease released")
        assert str(session_id) not in managers[other].runners
    finally:
        for name, task in tasks.items():
            stops[name].set()
            if not task.done():
                await asyncio.wait_for(task, timeout=10)


async def _at_least(redis, n: int) -> bool:
    return await connected_events(redis) >= n
