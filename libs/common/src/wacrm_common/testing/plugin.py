"""pytest plugin: real servers once per test session, a clean database and Redis per test.

Servers come from DATABASE_URL / REDIS_URL / S3_ENDPOINT_URL when set, else embedded ones
are started under `.data/test` (see wacrm_common.devstack). Migrations run with Alembic
(`upgrade head`), so every test session also tests them.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from wacrm_common.db import create_engine, session_factory
from wacrm_common.devstack import Stack, start_stack
from wacrm_common.migrate import reset
from wacrm_common.models import Base
from wacrm_common.settings import Settings

TEST_DATABASE = "wacrm_test"


def _data_dir(config: pytest.Config) -> Path:
    return Path(os.environ.get("WACRM_TEST_DATA", config.rootpath / ".data" / "test"))


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    environ = {k: v for k, v in os.environ.items() if k.endswith("_URL")}
    started = start_stack(_data_dir(request.config), environ=environ, database=TEST_DATABASE)
    try:
        reset(started.env["DATABASE_URL"])
        yield started
    finally:
        started.stop()


@pytest.fixture
def settings(stack: Stack) -> Settings:
    env = stack.env
    return Settings(
        database_url=env["DATABASE_URL"],
        redis_url=env["REDIS_URL"],
        s3_endpoint_url=env.get("S3_ENDPOINT_URL"),
        s3_access_key_id=env.get("S3_ACCESS_KEY_ID", "wacrm"),
        s3_secret_access_key=env.get("S3_SECRET_ACCESS_KEY", "wacrm-secret"),
        jwt_secret="test-secret-test-secret-test-secret-0123",
        consumer_block_ms=50,
        reclaim_idle_ms=500,
        max_attempts=3,
        sim_receipt_delays=(0.05, 0.1, 0.15),
        instance_id="test",
    )


@pytest.fixture(scope="session")
async def engine(stack: Stack) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(stack.env["DATABASE_URL"])
    yield eng
    await eng.dispose()


@pytest.fixture
async def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """A session factory over a database emptied before the test (no test sees another's rows)."""
    tables = ", ".join(f'"{t.name}"' for t in reversed(Base.metadata.sorted_tables))
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    return session_factory(engine)


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(settings.redis_url)
    await client.flushdb()
    yield client
    await client.aclose()


async def wait_for(
    check: Callable[[], Any],
    *,
    timeout: float = 15.0,
    interval: float = 0.02,
    what: str = "condition",
) -> Any:
    """Poll `check` (sync or async) until it returns a truthy value; fail after `timeout`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)
