"""Smoke: the plugin's servers answer and migrations ran."""

from sqlalchemy import text


async def test_plugin_servers_answer(sessions, redis) -> None:
    async with sessions() as s:
        assert await s.scalar(text("SELECT count(*) FROM tenants")) == 0
    assert await redis.ping() is True
